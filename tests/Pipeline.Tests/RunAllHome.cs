using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Analytics.TestInfrastructure;
using Npgsql;

namespace Analytics.Pipeline.Tests;

/// <summary>
/// A <c>./run_all.sh</c> pipeline of a test's own: state in a temporary ANALYTICS_HOME, every port free, the suite's own
/// build (NO_BUILD=1), so that a pipeline a developer has running is never touched. Disposing stops it and deletes it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class RunAllHome : IDisposable
{
    public RunAllHome(IReadOnlyDictionary<string, string> settings)
    {
        Path = Directory.CreateTempSubdirectory("analytics-runall-").FullName;
        // The PostgreSQL server runs as the postgres user and must reach its data folder below this one.
        File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var configuration = new DirectoryInfo(RepositoryPaths.BuildOutput("Silo")).Parent!.Name;
        Environment = new Dictionary<string, string>
        {
            ["ANALYTICS_HOME"] = Path,
            ["CONFIGURATION"] = configuration,
            ["NO_BUILD"] = "1", // the suite's own build made these binaries
            ["API_PORT"] = FreePorts.NextAsText(),
            ["DASHBOARD_PORT"] = FreePorts.NextAsText(),
            ["BROKER_CONTROL_PORT"] = FreePorts.NextAsText(),
            ["POSTGRES_PORT"] = FreePorts.NextAsText(),
        };
        // Silo i uses these ports + i - 1: three consecutive free ports each.
        Environment["SILO_HTTP_PORT"] = FreePorts.ConsecutiveAsText(3);
        Environment["SILO_PORT"] = FreePorts.ConsecutiveAsText(3);
        Environment["GATEWAY_PORT"] = FreePorts.ConsecutiveAsText(3);
        foreach (var (key, value) in settings) Environment[key] = value;
    }

    /// <summary>The ANALYTICS_HOME.</summary>
    public string Path { get; }

    /// <summary>What <c>run_all.sh</c> runs with (its settings, and configuration the services inherit).</summary>
    public Dictionary<string, string> Environment { get; }

    /// <summary>The pid files' services and their pids.</summary>
    public Dictionary<string, int> Pids() => Directory.GetFiles(System.IO.Path.Combine(Path, ".run", "pids"), "*.pid")
        .ToDictionary(f => System.IO.Path.GetFileNameWithoutExtension(f), f => int.Parse(File.ReadAllText(f).Trim(), CultureInfo.InvariantCulture));

    /// <summary>The addresses run_all.sh wrote to <c>.run/env</c>.</summary>
    public Dictionary<string, string> ReadEnv()
        => File.ReadAllLines(System.IO.Path.Combine(Path, ".run", "env"))
            .Where(line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("export ", StringComparison.Ordinal) && line.Contains('='))
            .Select(line => line.Split('=', 2))
            .ToDictionary(parts => parts[0], parts => parts[1].Trim('\''));

    public async Task<(int ExitCode, string Output)> RunScriptAsync(TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo(System.IO.Path.Combine(RepositoryPaths.Root, "run_all.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryPaths.Root,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in Environment) info.Environment[key] = value;

        using var process = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"./run_all.sh {string.Join(' ', arguments)} did not finish within {timeout}:\n{output}");
        }

        lock (output) return (process.ExitCode, output.ToString());
    }

    public static async Task<long> CountAsync(NpgsqlDataSource data, string table)
    {
        await using var command = data.CreateCommand($"select count(*) from {table}");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource data, string sql)
    {
        await using var command = data.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static bool IsRunning(int pid)
    {
        // A zombie has exited; only its parent's bookkeeping remains.
        var stat = $"/proc/{pid}/stat";
        return File.Exists(stat) && File.ReadAllText(stat).Split(' ')[2] != "Z";
    }

    public static bool PortAnswers(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        // Whatever happened, nothing may stay behind.
        RunScriptAsync(TimeSpan.FromMinutes(2), "stop").GetAwaiter().GetResult();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
