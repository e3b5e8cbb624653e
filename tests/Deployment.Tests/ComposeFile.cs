using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Analytics.TestInfrastructure;

namespace Analytics.Deployment.Tests;

/// <summary>
/// Runs Debian's docker-compose 1.29 on the repository's <c>docker-compose.yml</c>: it validates and resolves the file
/// without a container engine. Its YAML output is turned into JSON by the PyYAML that docker-compose itself runs on,
/// so no YAML package is needed here.
/// </summary>
public static partial class ComposeFile
{
    public const string FileName = "docker-compose.yml";

    /// <summary>The line that installs the tool (without recommends, or apt also pulls in the docker.io engine).</summary>
    public const string InstallHint = "apt-get install -y --no-install-recommends docker-compose";

    /// <summary>The values the test gives the variables the file requires (stand-ins: nothing real is started).</summary>
    public static readonly IReadOnlyDictionary<string, string> RequiredVariables = new Dictionary<string, string>
    {
        ["POSTGRES_PASSWORD"] = "test-password",
        ["RETRAINING_API_KEY"] = "test-api-key",
    };

    public static string Path => System.IO.Path.Combine(RepositoryPaths.Root, FileName);

    /// <summary>Every <c>${NAME…}</c> the file interpolates.</summary>
    public static IReadOnlySet<string> VariablesUsed(string composeText)
        => VariableReference().Matches(composeText).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// <c>docker-compose -f FILE --project-directory ROOT --env-file EMPTY config ARGS</c> with every variable the file names removed from the
    /// environment (so that the defaults in the file count, not the caller's shell or a developer's <c>.env</c>), then
    /// <paramref name="variables"/> set.
    /// </summary>
    public static ProcessResult Run(string composePath, IReadOnlyDictionary<string, string> variables, params string[] configArgs)
    {
        var emptyEnvFile = System.IO.Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo("docker-compose")
            {
                WorkingDirectory = RepositoryPaths.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "-f", composePath, "--project-directory", RepositoryPaths.Root, "--env-file", emptyEnvFile, "config" }.Concat(configArgs)) start.ArgumentList.Add(a);
            foreach (var name in VariablesUsed(File.ReadAllText(composePath))) start.Environment.Remove(name);
            foreach (var (name, value) in variables) start.Environment[name] = value;
            return ProcessResult.Run(start, stdin: null, "docker-compose");
        }
        finally
        {
            File.Delete(emptyEnvFile);
        }
    }

    /// <summary>The file as docker-compose resolves it (variables interpolated, paths absolute), as JSON.</summary>
    public static JsonObject Resolve(string composePath)
    {
        var config = Run(composePath, RequiredVariables);
        Assert.True(config.ExitCode == 0, $"docker-compose config failed ({config.ExitCode}): {config.StandardError}");
        return YamlToJson(config.StandardOutput);
    }

    /// <summary>
    /// The file as written, <c>${…}</c> left in place (anchors and merge keys applied), as JSON. Not through
    /// docker-compose: its <c>config --no-interpolate</c> validates the uninterpolated text and refuses <c>${…}</c> in
    /// numeric fields.
    /// </summary>
    public static JsonObject ReadAsWritten(string composePath) => YamlToJson(File.ReadAllText(composePath));

    private static JsonObject YamlToJson(string yaml)
    {
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)");
        var result = ProcessResult.Run(start, yaml, "python3 (PyYAML comes with docker-compose)");
        Assert.True(result.ExitCode == 0, $"converting docker-compose's output to JSON failed: {result.StandardError}");
        return JsonNode.Parse(result.StandardOutput)!.AsObject();
    }

    /// <summary>Fails the test, saying how to install docker-compose, when it is not on PATH.</summary>
    public static void RequireTool()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(System.IO.Path.Combine(dir, "docker-compose")));
        Assert.True(onPath,
            $"docker-compose is not installed; these tests validate {FileName} with Debian's docker-compose 1.29 (no engine needed). Install it: {InstallHint}");
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex VariableReference();
}

/// <summary>A finished process: exit code and what it printed.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static ProcessResult Run(ProcessStartInfo start, string? stdin, string what)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{what} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish within {Timeout.TotalSeconds} s");
        }

        return new ProcessResult(process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}

/// <summary>The resolved file, made once for all the tests that read it.</summary>
public sealed class ResolvedCompose
{
    private readonly Lazy<JsonObject> _interpolated = new(() => ComposeFile.Resolve(ComposeFile.Path));
    private readonly Lazy<JsonObject> _raw = new(() => ComposeFile.ReadAsWritten(ComposeFile.Path));

    /// <summary>With the variables' values (the defaults, and <see cref="ComposeFile.RequiredVariables"/>). A fresh copy.</summary>
    public JsonObject Interpolated
    {
        get
        {
            ComposeFile.RequireTool();
            return _interpolated.Value.DeepClone().AsObject();
        }
    }

    /// <summary>As written (<c>${…}</c> left in place): shows where a value comes from. A fresh copy.</summary>
    public JsonObject Raw
    {
        get
        {
            ComposeFile.RequireTool();
            return _raw.Value.DeepClone().AsObject();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ComposeCollection : ICollectionFixture<ResolvedCompose>
{
    public const string Name = "docker-compose.yml";
}
