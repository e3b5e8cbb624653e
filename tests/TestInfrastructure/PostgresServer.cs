using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;

namespace Analytics.TestInfrastructure;

/// <summary>
/// A throwaway PostgreSQL server for tests: its own data directory under the temp folder, its own free port on
/// 127.0.0.1, durability switched off for speed, and nothing left behind when disposed.
/// </summary>
/// <remarks>
/// Uses the locally installed server programs (<c>initdb</c>, <c>pg_ctl</c>). PostgreSQL refuses to run as root, so when
/// the tests run as root every server program runs as the <c>postgres</c> OS user through <c>runuser</c>.
/// </remarks>
public sealed partial class PostgresServer : IAsyncDisposable
{
    private const string OsUser = "postgres";
    private const string SuperUser = "postgres";
    private const int MaxPortAttempts = 5;

    /// <summary>Bounds every call of a server program so a wedged one fails the test instead of hanging the run.</summary>
    private static readonly TimeSpan ProgramTimeout = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly Lazy<string> LazyBinDirectory = new(FindBinDirectory);
    private static readonly bool RunAsOsUser = string.Equals(Environment.UserName, "root", StringComparison.Ordinal);
    private static readonly ConcurrentDictionary<PostgresServer, byte> Live = new();

    private readonly string _binDirectory;
    private readonly string _rootDirectory;
    private readonly string _dataDirectory;
    private readonly string _logFile;
    private int _disposed;

    static PostgresServer()
    {
        // A run that ends without disposing its fixtures (an unhandled exception, a cancelled run) must still not leave
        // servers behind: pg_ctl detaches the postmaster, so nothing else would stop it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var server in Live.Keys)
            {
                server.StopImmediatelyAndDelete();
            }
        };
    }

    private PostgresServer(string binDirectory, string rootDirectory)
    {
        _binDirectory = binDirectory;
        _rootDirectory = rootDirectory;
        _dataDirectory = Path.Combine(rootDirectory, "data");
        _logFile = Path.Combine(rootDirectory, "postgres.log");
    }

    /// <summary>The TCP port on 127.0.0.1; stays the same across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Connection string of the <c>postgres</c> database as the <c>postgres</c> superuser (trust authentication).</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    /// <summary>Creates a data directory and starts a server on a free port; returns once it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or the server did not start (the message
    /// includes the server log).</exception>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var binDirectory = LazyBinDirectory.Value;
        SweepAbandonedServers(binDirectory);

        var server = new PostgresServer(binDirectory, await CreateRootDirectoryAsync(cancellationToken));
        Live.TryAdd(server, 0);
        try
        {
            await server.RunServerProgramAsync(
                "initdb",
                ["-D", server._dataDirectory, "-U", SuperUser, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                cancellationToken);

            for (var attempt = 1; ; attempt++)
            {
                // The port is free when picked but another process may take it before the postmaster binds it; a fresh
                // port on the next attempt resolves that race.
                server.Port = FreePorts.Next();
                try
                {
                    await server.PgCtlStartAsync(cancellationToken);
                    break;
                }
                catch (InvalidOperationException) when (attempt < MaxPortAttempts && server.LogSaysPortWasTaken())
                {
                }
            }

            await server.WaitUntilAcceptingConnectionsAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    /// <param name="name">Lower-case letters, digits and underscores; a unique name when null.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    public async Task<string> CreateDatabaseAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        name ??= "db_" + Guid.NewGuid().ToString("N");
        if (!DatabaseNamePattern().IsMatch(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a usable database name: use 1–63 lower-case letters, digits and underscores, starting with a letter or underscore.",
                nameof(name));
        }

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    /// <summary>Stops the server (<c>pg_ctl stop -m fast</c>) and keeps its data, to test what happens while it is away.</summary>
    public async Task StopAsync()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await RunServerProgramAsync("pg_ctl", ["-D", _dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], CancellationToken.None);
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/>: same port, same data.</summary>
    /// <remarks>Pooled connections opened before the stop are broken; Npgsql discovers that on their next use.</remarks>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await PgCtlStartAsync(cancellationToken);
        await WaitUntilAcceptingConnectionsAsync(cancellationToken);
    }

    /// <summary>
    /// Stops the server at once (<c>pg_ctl stop -m immediate</c>), makes sure none of its processes survive, deletes its
    /// directory and clears Npgsql's connection pools.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Run off the caller's thread: stopping waits on processes and the file system, synchronously.
            return new ValueTask(Task.Run(() =>
            {
                StopImmediatelyAndDelete();
                NpgsqlConnection.ClearAllPools();
            }));
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"PostgreSQL on 127.0.0.1:{Port} ({_rootDirectory})";

    private string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Database = database,
        IncludeErrorDetail = true,
    }.ConnectionString;

    private async Task PgCtlStartAsync(CancellationToken cancellationToken)
    {
        // Only the newest attempt's log matters when deciding why a start failed.
        File.Delete(_logFile);
        var serverOptions = string.Join(
            ' ',
            "-c listen_addresses=127.0.0.1",
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            // The socket goes into our own short directory: the default /var/run/postgresql may not exist or be writable.
            $"-k {_rootDirectory}",
            "-c max_connections=200",
            // Throwaway data: durability only costs time.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        try
        {
            await RunServerProgramAsync(
                "pg_ctl",
                ["-D", _dataDirectory, "-l", _logFile, "-w", "-t", "60", "-o", serverOptions, "start"],
                cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{ex.Message}{Environment.NewLine}Server log:{Environment.NewLine}{ReadLog()}", ex);
        }
    }

    private async Task WaitUntilAcceptingConnectionsAsync(CancellationToken cancellationToken)
    {
        // pg_ctl -w already waited for the "ready" state; this proves it from the client's side, over TCP.
        await Eventually.UntilAsync(
            async () =>
            {
                try
                {
                    await using var connection = new NpgsqlConnection(
                        new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
                    await connection.OpenAsync(cancellationToken);
                    return true;
                }
                catch (NpgsqlException)
                {
                    return false;
                }
            },
            ReadyTimeout,
            $"{this} to accept connections",
            cancellationToken);
    }

    private bool LogSaysPortWasTaken() => ReadLog().Contains("Address already in use", StringComparison.Ordinal);

    private string ReadLog()
    {
        try
        {
            return File.Exists(_logFile) ? File.ReadAllText(_logFile) : "(no log written)";
        }
        catch (IOException ex)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }

    private void StopImmediatelyAndDelete()
    {
        Live.TryRemove(this, out _);
        StopImmediately(_binDirectory, _dataDirectory);
        DeleteDirectory(_rootDirectory);
    }

    private Task<string> RunServerProgramAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        => RunAsync(Path.Combine(_binDirectory, program), arguments, _rootDirectory, RunAsOsUser, cancellationToken);

    /// <summary>Stops a server whatever state it is in, and makes sure its processes are gone.</summary>
    private static void StopImmediately(string binDirectory, string dataDirectory)
    {
        var postmasterPid = ReadPostmasterPid(dataDirectory);
        if (postmasterPid is null)
        {
            return;
        }

        try
        {
            RunAsync(
                Path.Combine(binDirectory, "pg_ctl"),
                ["-D", dataDirectory, "-m", "immediate", "-w", "-t", "30", "stop"],
                Path.GetTempPath(),
                RunAsOsUser,
                CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already stopped, or pg_ctl itself failed: either way the check below decides.
        }

        // The immediate stop makes the postmaster take its children down with it; wait for that, and kill what is left
        // if it does not happen, so that no test run ever leaks a server.
        var deadline = Stopwatch.StartNew();
        while (IsAlive(postmasterPid.Value) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(20);
        }

        if (IsAlive(postmasterPid.Value))
        {
            try
            {
                using var process = Process.GetProcessById(postmasterPid.Value);
                process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or Win32Exception)
            {
                // It exited in the meantime.
            }
        }
    }

    private static int? ReadPostmasterPid(string dataDirectory)
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True while the process runs. A zombie counts as gone: it holds no port and no files, and the postmaster
    /// is reparented away from us, so only its new parent can reap it.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var afterName = stat.LastIndexOf(')');
            var state = afterName >= 0 && afterName + 2 < stat.Length ? stat[afterName + 2] : '?';
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static void DeleteDirectory(string path)
    {
        for (var attempt = 1; Directory.Exists(path); attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException) when (attempt < 5)
            {
                // A process that just exited may still be closing a file in it.
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>
    /// Stops and deletes servers left by test processes that no longer exist (a crashed or killed run), so that they
    /// do not pile up. Our directories carry the owning process id in their name for exactly this.
    /// </summary>
    private static void SweepAbandonedServers(string binDirectory)
    {
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(TempBase(), "pgt*"))
            {
                var match = OwnedDirectoryPattern().Match(Path.GetFileName(directory));
                if (!match.Success
                    || !int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var owner)
                    || owner == Environment.ProcessId
                    || IsAlive(owner))
                {
                    continue;
                }

                StopImmediately(binDirectory, Path.Combine(directory, "data"));
                DeleteDirectory(directory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Best effort: a leftover we cannot clean must not fail the test that happened to find it.
        }
    }

    private static async Task<string> CreateRootDirectoryAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The throwaway PostgreSQL server runs on Linux and macOS only.");
        }

        var suffix = Path.GetRandomFileName().Replace(".", "", StringComparison.Ordinal)[..8];
        var path = Path.Combine(TempBase(), $"pgt{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{suffix}");
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (RunAsOsUser)
        {
            try
            {
                await RunAsync("chown", [$"{OsUser}:{OsUser}", path], path, asOsUser: false, cancellationToken);
            }
            catch
            {
                DeleteDirectory(path);
                throw;
            }
        }

        return path;
    }

    /// <summary>The socket lives in the server's directory and a Unix socket path has at most 107 bytes: keep it short.</summary>
    private static string TempBase()
    {
        var temp = Path.GetTempPath();
        return temp.Length <= 40 ? temp : "/tmp";
    }

    private static string FindBinDirectory()
    {
        var candidates = new List<string>();
        if (TryRunQuickly("pg_config", "--bindir") is { Length: > 0 } fromPgConfig)
        {
            candidates.Add(fromPgConfig.Trim());
        }

        const string DebianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(DebianRoot))
        {
            candidates.AddRange(Directory.EnumerateDirectories(DebianRoot)
                .OrderByDescending(dir => double.TryParse(Path.GetFileName(dir), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0)
                .Select(dir => Path.Combine(dir, "bin")));
        }

        // pg_config may belong to a client-only install (libpq-dev) whose bin directory has no server programs.
        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            ?? throw new InvalidOperationException(
                "PostgreSQL server programs (initdb, pg_ctl) were not found: neither `pg_config --bindir` nor " +
                $"{DebianRoot}/*/bin has them. Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql).");
    }

    private static string? TryRunQuickly(string program, string argument)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, argument)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit(5000);
            return process.HasExited && process.ExitCode == 0 ? output : null;
        }
        catch (Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Runs a program to completion and returns its output; a non-zero exit is an exception with that output.</summary>
    private static async Task<string> RunAsync(
        string program,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        bool asOsUser,
        CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo
        {
            FileName = asOsUser ? "runuser" : program,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The postgres user cannot read root's home; a working directory it owns avoids "could not change
            // directory" noise from the server programs.
            WorkingDirectory = workingDirectory,
        };
        if (asOsUser)
        {
            foreach (var prefix in new[] { "-u", OsUser, "--", program })
            {
                startInfo.ArgumentList.Add(prefix);
            }
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // Messages in English, whatever the machine's locale, so failures read the same everywhere.
        startInfo.Environment["LC_MESSAGES"] = "C";

        var commandLine = string.Join(' ', startInfo.ArgumentList.Prepend(startInfo.FileName));
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start: {commandLine}");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not start `{commandLine}`: {ex.Message}", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProgramTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                if (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                throw new InvalidOperationException($"`{commandLine}` did not finish within {ProgramTimeout.TotalSeconds:0}s.");
            }

            var output = (await stdout) + (await stderr);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"`{commandLine}` failed with exit code {process.ExitCode}:{Environment.NewLine}{output}");
            }

            return output;
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseNamePattern();

    [GeneratedRegex(@"^pgt([0-9]+)-[a-z0-9]{8}$")]
    private static partial Regex OwnedDirectoryPattern();
}
