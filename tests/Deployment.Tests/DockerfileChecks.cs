using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Analytics.Deployment.Tests;

/// <summary>
/// What a .NET service's Dockerfile must be: multi-stage from Microsoft's .NET images with pinned tags, publishing the
/// project of its folder, running as a non-root user, with <c>ENTRYPOINT ["dotnet", "Analytics.&lt;Folder&gt;.dll"]</c>
/// naming that project's assembly, the very assembly (and so the same Program) the tests load.
/// </summary>
public static partial class DockerfileChecks
{
    private static readonly string[] AllowedBaseImages =
    [
        "mcr.microsoft.com/dotnet/sdk",
        "mcr.microsoft.com/dotnet/aspnet",
        "mcr.microsoft.com/dotnet/runtime",
    ];

    /// <summary>
    /// Problems of <paramref name="dockerfileText"/>, the Dockerfile of the project in <paramref name="projectFolder"/>
    /// (relative to <paramref name="repositoryRoot"/>), whose assembly as the tests load it is <paramref name="serviceAssembly"/>.
    /// </summary>
    public static IReadOnlyList<string> Check(string dockerfileText, string projectFolder, Assembly serviceAssembly, string repositoryRoot)
    {
        var problems = new List<string>();
        var instructions = Instructions(dockerfileText);
        var froms = instructions.Where(i => i.Keyword == "FROM").Select(i => i.Arguments).ToList();
        if (froms.Count < 2) problems.Add($"{projectFolder}/Dockerfile: not multi-stage ({froms.Count} FROM)");
        var stageNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var from in froms)
        {
            var parts = from.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var image = parts[0];
            if (parts.Length >= 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase)) stageNames.Add(parts[2]);
            var colon = image.LastIndexOf(':');
            var repository = colon > 0 ? image[..colon] : image;
            var tag = colon > 0 ? image[(colon + 1)..] : "";
            if (!AllowedBaseImages.Contains(repository))
                problems.Add($"{projectFolder}/Dockerfile: base image '{image}' is not one of {string.Join(", ", AllowedBaseImages)}");
            else if (!tag.StartsWith("10.0", StringComparison.Ordinal))
                problems.Add($"{projectFolder}/Dockerfile: base image '{image}' is not pinned to .NET 10.0 (the SDK of global.json)");
        }

        if (froms.Count > 0 && froms[^1].Contains("/sdk:", StringComparison.Ordinal))
            problems.Add($"{projectFolder}/Dockerfile: the final stage runs on the SDK image; it should be aspnet or runtime");

        var project = $"{projectFolder}/{Path.GetFileName(projectFolder)}.csproj";
        if (!File.Exists(Path.Combine(repositoryRoot, project))) problems.Add($"{projectFolder}/Dockerfile: no project {project} in the repository");
        if (!instructions.Any(i => i.Keyword == "RUN" && i.Arguments.Contains($"dotnet publish {project}", StringComparison.Ordinal)))
            problems.Add($"{projectFolder}/Dockerfile: does not run 'dotnet publish {project}'");

        // Every file copied from the build context exists in the repository (COPY --from copies between stages).
        foreach (var copy in instructions.Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal)))
        {
            var args = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
            foreach (var source in args.Take(args.Count - 1))
            {
                var path = Path.Combine(repositoryRoot, source.TrimEnd('/'));
                if (!File.Exists(path) && !Directory.Exists(path)) problems.Add($"{projectFolder}/Dockerfile: COPY {source}: no such file or folder in the repository");
            }
        }

        var finalStage = instructions.SkipWhile((_, index) => index < instructions.FindLastIndex(i => i.Keyword == "FROM")).ToList();
        var user = finalStage.Where(i => i.Keyword == "USER").Select(i => i.Arguments).LastOrDefault();
        if (user is null or "root" or "0" or "0:0")
            problems.Add($"{projectFolder}/Dockerfile: the final stage runs as {(user is null ? "root (no USER)" : user)}; use the images' non-root user ($APP_UID, 'app')");

        var entrypoint = finalStage.Where(i => i.Keyword == "ENTRYPOINT").Select(i => i.Arguments).LastOrDefault();
        var expected = new[] { "dotnet", $"{serviceAssembly.GetName().Name}.dll" };
        string[]? actual = null;
        try
        {
            actual = entrypoint is null ? null : JsonSerializer.Deserialize<string[]>(entrypoint);
        }
        catch (JsonException)
        {
        }

        if (actual is null || !actual.SequenceEqual(expected))
            problems.Add($"{projectFolder}/Dockerfile: ENTRYPOINT is {entrypoint ?? "missing"}, expected {JsonSerializer.Serialize(expected)} (exec form)");
        if (serviceAssembly.EntryPoint is null) problems.Add($"{serviceAssembly.GetName().Name} has no entry point (Program)");
        if (!instructions.Any(i => i.Keyword == "EXPOSE") && projectFolder != "Producer")
            problems.Add($"{projectFolder}/Dockerfile: exposes no port");
        return problems;
    }

    /// <summary>The Dockerfile's instructions, continuation lines joined and comments dropped.</summary>
    public static List<(string Keyword, string Arguments)> Instructions(string text)
    {
        var joined = Continuation().Replace(text, " ");
        return joined.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l =>
            {
                var space = l.IndexOf(' ');
                return space < 0 ? (l.ToUpperInvariant(), "") : (l[..space].ToUpperInvariant(), Whitespace().Replace(l[(space + 1)..].Trim(), " "));
            })
            .ToList();
    }

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex Continuation();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
