using System.Diagnostics;
using System.Globalization;
using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Analytics.Pipeline.Tests;

/// <summary>
/// Faults with real processes: a <c>./run_all.sh</c> pipeline is fed the simulator's recorded events through the local
/// broker, something is broken mid-stream — a silo killed with SIGKILL, PostgreSQL stopped, the broker down — and
/// afterwards every count equals the simulator's ground truth exactly: <c>raw_events</c> holds each distinct valid
/// event once, every user's counts in <c>churn_features</c> and every window's in <c>funnel_summary</c> are the
/// truth's, no event is late, and every malformed payload is a dead letter. Run by <c>./test.sh --faults</c>; the
/// tests of this class run one after the other.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Trait("Category", "Faults")]
public sealed class FaultTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan WindowSize = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    private readonly string _recording = Path.Combine(Path.GetTempPath(), $"analytics-faults-{Guid.NewGuid():N}.ndjson");
    private RunAllHome? _home;

    [Fact]
    public Task ThreeSilos_OneKilledMidStreamAndRestarted_CountsEqualTheSimulatorsTruth_EachEventStoredOnce()
        => RunAsync(500_000, silos: 3, KillAndRestartSiloAsync);

    [Fact]
    public Task PostgresStoppedForTenSeconds_ThePipelineWaitsRetriesAndCatchesUp_CountsEqualTheTruth()
        => RunAsync(150_000, silos: 1, StopPostgresAsync);

    [Fact]
    public Task BrokerDownForTenSeconds_ThePipelineWaitsAndCatchesUp_CountsEqualTheTruth()
        => RunAsync(150_000, silos: 1, BrokerDownAsync);

    /// <summary>
    /// Bad input at 1 % of the stream — every kind the simulator writes (invalid JSON, not an object, missing and blank
    /// fields, wrong JSON types, unknown event types, absurd and offset-less timestamps, bad prices and ids, fields too
    /// long) — and one 1 MB message, a valid event carrying a megabyte of unknown field: every one a dead letter with the
    /// contract's reason for it, none counted anywhere. (Throughput against a clean run: <c>./bench.sh bad-input</c>.)
    /// </summary>
    [Fact]
    public Task BadInputAtOnePercent_AndAOneMegabyteMessage_EveryOneDeadLetteredWithItsReason_NoneCounted()
        => RunAsync(150_000, silos: 1, fault: (_, _) => Task.CompletedTask, malformedFraction: 0.01, editRecording: InsertOneMegabyteMessage, verify: VerifyDeadLettersAsync);

    public void Dispose()
    {
        _home?.Dispose();
        File.Delete(_recording);
    }

    private async Task RunAsync(
        int events,
        int silos,
        Func<RunAllHome, NpgsqlDataSource, Task> fault,
        double malformedFraction = 0.005,
        Action<string>? editRecording = null,
        Func<Truth, NpgsqlDataSource, Task>? verify = null)
    {
        // The ground truth: the simulator's events, recorded once (same seed and options give the same bytes), with
        // malformed payloads and duplicates among them as in production. A fixed start in the past: the 500,000 events
        // of 3,000 users span about a week, all of it behind the contract's one-day limit on future event times.
        var record = await RunProducerAsync(
            "--output", _recording, "--users", "3000", "--start", "2026-11-01T00:00:00Z", "--events", events.ToString(CultureInfo.InvariantCulture),
            "--seed", "11", "--malformed-fraction", malformedFraction.ToString(CultureInfo.InvariantCulture), "--duplicate-fraction", "0.005", "--quiet");
        Assert.True(record.ExitCode == 0, $"recording the events failed:\n{record.Output}");
        editRecording?.Invoke(_recording);
        var truth = Truth.Read(_recording);
        Assert.True(truth.Newest < DateTimeOffset.UtcNow, $"the recording must lie in the past (its newest event is {truth.Newest:O})");
        output.WriteLine($"recorded {truth.Lines:N0} lines: {truth.EventIds.Count:N0} distinct valid events of {truth.ByUser.Count:N0} users, {truth.Rejected:N0} malformed");

        _home = new RunAllHome(new Dictionary<string, string>
        {
            // Batches of 100 ms compress well: the local broker keeps only 5 MiB of batches per partition, and a
            // partition nobody reads during a fault must not lose its oldest messages meanwhile.
            ["PRODUCER_ARGS"] = $"--from-file {_recording} --rate 4000 --linger 100 --quiet",
            // A silent partition (its silo dead, or the broker down) must keep holding the watermark back, however
            // long the fault lasts here: no window may close over events still to come.
            ["Funnel__IdleTimeout"] = "00:10:00",
        });
        var start = await _home.RunScriptAsync(TimeSpan.FromMinutes(4), "start", "--silos", silos.ToString(CultureInfo.InvariantCulture));
        Assert.True(start.ExitCode == 0, $"./run_all.sh --silos {silos} exited {start.ExitCode}:\n{start.Output}");
        var pids = _home.Pids();
        var env = _home.ReadEnv();
        await using var data = NpgsqlDataSource.Create(env["POSTGRES_CONNECTION"]);
        if (silos > 1)
        {
            // 3 = Active: every silo joined the cluster through PostgreSQL.
            Assert.Equal(silos, await RunAllHome.ScalarAsync<long>(data, "SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3"));
        }

        await Eventually.UntilAsync(async () => await RunAllHome.CountAsync(data, "raw_events") >= events / 4, TimeSpan.FromMinutes(3), "a quarter of the events in raw_events");
        await fault(_home, data);

        var stopwatch = Stopwatch.StartNew();
        await Eventually.UntilAsync(
            async () => await RunAllHome.CountAsync(data, "raw_events") >= truth.EventIds.Count || LostByTheBroker() is not null,
            TimeSpan.FromMinutes(6),
            $"raw_events to hold the {truth.EventIds.Count:N0} distinct valid events");
        Assert.True(LostByTheBroker() is null, $"the local broker dropped messages nobody had read yet (its 5 MiB per partition): {LostByTheBroker()}");
        output.WriteLine($"raw_events complete {stopwatch.Elapsed.TotalSeconds:0} s after the fault");
        Assert.Equal(truth.EventIds.Count, await RunAllHome.CountAsync(data, "raw_events"));
        Assert.Equal(truth.EventIds.Count, await RunAllHome.ScalarAsync<long>(data, "SELECT count(DISTINCT event_id) FROM raw_events"));
        await Eventually.UntilAsync(async () => await RunAllHome.CountAsync(data, "dead_letters") == truth.Rejected, TimeSpan.FromMinutes(1), "every malformed payload in dead_letters");

        Dictionary<string, (long Views, long Carts, long Purchases)> users = [];
        await UntilAsync(
            async () =>
            {
                users = await ReadAsync(data, "SELECT user_id, total_views, total_add_to_carts, total_purchases FROM churn_features", r => r.GetString(0));
                return users.Count == truth.ByUser.Count && truth.ByUser.All(u => users.GetValueOrDefault(u.Key) == u.Value);
            },
            TimeSpan.FromMinutes(2),
            "every user's counts in churn_features to equal the truth",
            () => string.Join("; ", truth.ByUser.Where(u => users.GetValueOrDefault(u.Key) != u.Value).Take(5).Select(u => $"{u.Key}: {users.GetValueOrDefault(u.Key)} instead of {u.Value}")));

        // Every window: each of its events counted exactly once, none late. The watermark waits for every partition of
        // the topic, those whose reader starts late or is handed between silos (the kill) included.
        Dictionary<DateTimeOffset, (long Views, long Carts, long Purchases, long Late)> windows = [];
        await UntilAsync(
            async () =>
            {
                windows = await ReadWindowsAsync(data);
                return windows.Count == truth.ByWindow.Count && truth.ByWindow.All(w => windows.GetValueOrDefault(w.Key) == (w.Value.Views, w.Value.Carts, w.Value.Purchases, 0L));
            },
            TimeSpan.FromMinutes(2),
            "every window's counts in funnel_summary to equal the truth, no event late",
            () => string.Join("; ", truth.ByWindow.Where(w => windows.GetValueOrDefault(w.Key) != (w.Value.Views, w.Value.Carts, w.Value.Purchases, 0L)).Take(5).Select(w => $"{w.Key:O}: {windows.GetValueOrDefault(w.Key)} instead of {w.Value} and none late")));
        output.WriteLine($"windows: all {truth.ByWindow.Count:N0} equal the truth, no event late");
        if (verify is not null) await verify(truth, data);

        // Every process, restarted ones included (run_all.sh stop deletes the pid files), is gone after a stop.
        var running = _home.Pids().Concat(pids).ToList();
        var stop = await _home.RunScriptAsync(TimeSpan.FromMinutes(3), "stop");
        Assert.True(stop.ExitCode == 0, $"./run_all.sh stop exited {stop.ExitCode}:\n{stop.Output}");
        foreach (var (name, pid) in running) Assert.False(RunAllHome.IsRunning(pid), $"{name} (pid {pid}) still runs");
    }

    /// <summary><see cref="Eventually.UntilAsync(Func{Task{bool}}, TimeSpan, string, CancellationToken)"/>, saying what still differs when it times out.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string> differences)
    {
        try
        {
            await Eventually.UntilAsync(condition, timeout, what);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; first differences: {differences()}", ex);
        }
    }

    /// <summary>SIGKILL one silo of the cluster (no goodbye), then start it again exactly as run_all.sh did.</summary>
    private async Task KillAndRestartSiloAsync(RunAllHome home, NpgsqlDataSource data)
    {
        var victim = home.Pids()["silo2"];
        var (arguments, environment, directory) = ReadCommand(victim);
        Process.GetProcessById(victim).Kill();
        output.WriteLine($"killed silo2 (pid {victim}) at {await RunAllHome.CountAsync(data, "raw_events"):N0} stored events");
        await Task.Delay(TimeSpan.FromSeconds(5));
        var restarted = Restart(arguments, environment, directory, Path.Combine(home.Path, ".run", "logs", "silo2-restarted.log"));
        await File.WriteAllTextAsync(Path.Combine(home.Path, ".run", "pids", "silo2.pid"), restarted.ToString(CultureInfo.InvariantCulture));
        output.WriteLine($"restarted silo2 as pid {restarted}");
        // It rejoins: three silos active again (the killed one's row is declared dead, the new one's active).
        await Eventually.UntilAsync(
            async () => RunAllHome.IsRunning(restarted) && await RunAllHome.ScalarAsync<long>(data, "SELECT count(*) FROM OrleansMembershipTable WHERE Status = 3") == 3,
            TimeSpan.FromMinutes(2),
            "the restarted silo2 to rejoin the cluster (3 active silos)");
    }

    /// <summary>PostgreSQL stopped (fast shutdown: every connection cut) for <see cref="Outage"/>, then started again as it ran.</summary>
    private async Task StopPostgresAsync(RunAllHome home, NpgsqlDataSource data)
    {
        var directory = Path.Combine(home.Path, ".data", "postgres");
        // postmaster.opts holds the server's command line: the same options start it again.
        var options = File.ReadAllText(Path.Combine(directory, "postmaster.opts")).Trim();
        var server = options[..options.IndexOf(' ', StringComparison.Ordinal)];
        var pgCtl = Path.Combine(Path.GetDirectoryName(server)!, "pg_ctl");
        var arguments = options[(server.Length + 1)..].Replace($"\"-D\" \"{directory}\"", "", StringComparison.Ordinal).Trim();
        var before = await RunAllHome.CountAsync(data, "raw_events");
        await AsPostgresAsync(pgCtl, "-D", directory, "-m", "fast", "-w", "stop");
        output.WriteLine($"stopped PostgreSQL at {before:N0} stored events");
        await Task.Delay(Outage);
        await AsPostgresAsync(pgCtl, "-D", directory, "-l", Path.Combine(home.Path, ".data", "postgres.log"), "-w", "-t", "60", "-o", arguments, "start");
        output.WriteLine("started PostgreSQL again");
        // The test's own pooled connections died with the server (the services' pools recover by themselves).
        data.Clear();
        // The outage is in the silo's log as warnings that say what failed and that it tries again.
        var log = Path.Combine(home.Path, ".run", "logs", "silo.log");
        string[] warnings = [];
        await UntilAsync(
            async () =>
            {
                warnings = [.. (await File.ReadAllLinesAsync(log)).Where(l => l.Contains(" warn: ", StringComparison.Ordinal) || l.Contains(" fail: ", StringComparison.Ordinal))];
                return warnings.Any(l => l.Contains("tries again", StringComparison.Ordinal));
            },
            TimeSpan.FromSeconds(60),
            "the silo's log to say that it could not store and tries again",
            () => string.Join(Environment.NewLine, warnings.Take(10)));
        foreach (var line in warnings.Take(5)) output.WriteLine(line.Length > 300 ? line[..300] + "…" : line);
    }

    /// <summary>The local broker's only broker down for <see cref="Outage"/> (its fault API), then up again.</summary>
    private async Task BrokerDownAsync(RunAllHome home, NpgsqlDataSource data)
    {
        var control = new Uri(home.ReadEnv()["BROKER_CONTROL_URL"]);
        using var http = new HttpClient { BaseAddress = control };
        (await http.PostAsync(new Uri("/brokers/1/down", UriKind.Relative), null)).EnsureSuccessStatusCode();
        output.WriteLine($"broker down at {await RunAllHome.CountAsync(data, "raw_events"):N0} stored events");
        await Task.Delay(Outage);
        (await http.PostAsync(new Uri("/brokers/1/up", UriKind.Relative), null)).EnsureSuccessStatusCode();
        output.WriteLine("broker up again");
    }

    /// <summary>
    /// Puts a 1 MB message in the middle of the recording: a valid event of a user of the recording with a megabyte of
    /// unknown field. Under the size limit it would be counted; as it is, it must be a <c>TooLarge</c> dead letter.
    /// </summary>
    private static void InsertOneMegabyteMessage(string recording)
    {
        var lines = File.ReadAllLines(recording);
        var middle = lines.Length / 2;
        Assert.True(UserEventJson.TryParse(lines[middle], DateTimeOffset.UtcNow, out var neighbour, out _), "the middle line of the recording is a valid event");
        var giant = $$"""{"event_id":"{{Guid.CreateVersion7(neighbour.EventTime)}}","user_id":"{{neighbour.UserId}}","session_id":"{{neighbour.SessionId}}","event_type":"purchase","product_id":"{{neighbour.ProductId}}","category":"{{neighbour.Category}}","price":19.99,"event_time":"{{neighbour.EventTime.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}}","notes":"{{new string('x', 1_000_000)}}"}""";
        File.WriteAllLines(recording, [.. lines[..middle], giant, .. lines[middle..]]);
    }

    /// <summary>
    /// Every rejected line of the recording is in <c>dead_letters</c>, byte for byte, with the contract's reason for
    /// it (duplicated bad lines: once per copy), and the kinds the issue names are all among them.
    /// </summary>
    private async Task VerifyDeadLettersAsync(Truth truth, NpgsqlDataSource data)
    {
        var stored = new List<(string Payload, string Reason)>();
        await using (var command = data.CreateCommand("SELECT payload, reason FROM dead_letters"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) stored.Add((System.Text.Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(0)), reader.GetString(1)));
        }

        Assert.Equal(truth.RejectedLines.Count, stored.Count);
        var expected = truth.RejectedLines.CountBy(r => r).ToDictionary();
        var actual = stored.CountBy(r => r).ToDictionary();
        var missing = expected.Where(e => actual.GetValueOrDefault(e.Key) != e.Value).Take(3).Select(e => $"{e.Key.Reason} ({e.Key.Payload.Length:N0} bytes: {e.Key.Payload[..Math.Min(120, e.Key.Payload.Length)]})").ToList();
        Assert.True(missing.Count == 0, $"dead letters differ from the recording's rejected lines, e.g. {string.Join("; ", missing)}");

        var byCode = stored.CountBy(r => r.Reason[..r.Reason.IndexOf(':', StringComparison.Ordinal)]).OrderByDescending(c => c.Value).ToList();
        output.WriteLine($"dead letters by reason: {string.Join(", ", byCode.Select(c => $"{c.Key} {c.Value:N0}"))}");
        foreach (var code in new[] { EventRejectionCode.InvalidJson, EventRejectionCode.InvalidField, EventRejectionCode.MissingField, EventRejectionCode.UnknownEventType, EventRejectionCode.AbsurdTimestamp, EventRejectionCode.InvalidTimestamp, EventRejectionCode.TooLarge })
        {
            Assert.Contains(byCode, c => c.Key == code.ToString());
        }

        var giant = Assert.Single(stored, r => r.Reason.StartsWith("TooLarge:", StringComparison.Ordinal));
        Assert.True(giant.Payload.Length > 1_000_000, $"the 1 MB message is stored whole ({giant.Payload.Length:N0} bytes)");
        Assert.Equal(0L, await RunAllHome.ScalarAsync<long>(data, "SELECT count(*) FROM raw_events WHERE user_id !~ '^user_[0-9]+$' OR event_time > now() + interval '1 day' OR event_time < '2000-01-01'"));
    }

    /// <summary>The silos' report of offsets the broker no longer had when read (the local broker's retention), if any.</summary>
    private string? LostByTheBroker()
    {
        foreach (var log in Directory.GetFiles(Path.Combine(_home!.Path, ".run", "logs"), "silo*.log"))
        {
            var line = File.ReadLines(log).FirstOrDefault(l => l.Contains("were never read", StringComparison.Ordinal));
            if (line is not null) return line;
        }

        return null;
    }

    private static async Task AsPostgresAsync(string program, params string[] arguments)
    {
        var root = Environment.UserName == "root";
        var info = new ProcessStartInfo(root ? "runuser" : program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (root)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program }) info.ArgumentList.Add(a);
        }

        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        // The server started by pg_ctl keeps no descriptor of ours: -l sends its output to the log.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stdout}{await stderr}");
    }

    /// <summary>Every window in funnel_summary: its step counts and its late events.</summary>
    private static async Task<Dictionary<DateTimeOffset, (long, long, long, long)>> ReadWindowsAsync(NpgsqlDataSource data)
    {
        var result = new Dictionary<DateTimeOffset, (long, long, long, long)>();
        await using var command = data.CreateCommand("SELECT window_start, views, add_to_carts, purchases, late_events FROM funnel_summary");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[reader.GetFieldValue<DateTimeOffset>(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        return result;
    }

    private static async Task<Dictionary<TKey, (long, long, long)>> ReadAsync<TKey>(NpgsqlDataSource data, string sql, Func<NpgsqlDataReader, TKey> key)
        where TKey : notnull
    {
        var result = new Dictionary<TKey, (long, long, long)>();
        await using var command = data.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[key(reader)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        return result;
    }

    /// <summary>The command line, environment and working directory of a running process, from /proc.</summary>
    private static (string[] Arguments, Dictionary<string, string> Environment, string Directory) ReadCommand(int pid)
    {
        var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('=', 2)).Where(e => e.Length == 2).ToDictionary(e => e[0], e => e[1]);
        var directory = new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget ?? RepositoryPaths.Root;
        return (arguments, environment, directory);
    }

    private static int Restart(string[] arguments, Dictionary<string, string> environment, string directory, string log)
    {
        var info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = directory, UseShellExecute = false };
        // Detached, its output to a log, like run_all.sh's services: the test only keeps its pid.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$@\" >\"$0\" 2>&1 </dev/null");
        info.ArgumentList.Add(log);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        return process.Id;
    }

    private static async Task<(int ExitCode, string Output)> RunProducerAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(RepositoryPaths.BuildOutput("Producer"), "Analytics.Producer.dll"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>What the recorded events must produce: the distinct valid events, per user and per window.</summary>
    private sealed record Truth(
        long Lines,
        long Rejected,
        DateTimeOffset Newest,
        HashSet<Guid> EventIds,
        Dictionary<string, (long Views, long Carts, long Purchases)> ByUser,
        Dictionary<DateTimeOffset, (long Views, long Carts, long Purchases)> ByWindow,
        List<(string Payload, string Reason)> RejectedLines)
    {
        public static Truth Read(string path)
        {
            var truth = new Truth(0, 0, DateTimeOffset.MinValue, [], [], [], []);
            long lines = 0, rejected = 0;
            var newest = DateTimeOffset.MinValue;
            foreach (var line in File.ReadLines(path))
            {
                lines++;
                if (!UserEventJson.TryParse(line, DateTimeOffset.UtcNow, out var e, out var rejection))
                {
                    rejected++;
                    truth.RejectedLines.Add((line, rejection.ToString()));
                    continue;
                }

                if (!truth.EventIds.Add(e.EventId)) continue; // a duplicate: counted once
                if (e.EventTime > newest) newest = e.EventTime;
                var start = DateTimeOffset.FromUnixTimeMilliseconds(e.EventTime.ToUnixTimeMilliseconds() / (long)WindowSize.TotalMilliseconds * (long)WindowSize.TotalMilliseconds);
                truth.ByUser[e.UserId] = Add(truth.ByUser.GetValueOrDefault(e.UserId), e.EventType);
                truth.ByWindow[start] = Add(truth.ByWindow.GetValueOrDefault(start), e.EventType);
            }

            return truth with { Lines = lines, Rejected = rejected, Newest = newest };
        }

        private static (long, long, long) Add((long Views, long Carts, long Purchases) counts, UserEventType type) => type switch
        {
            UserEventType.View => (counts.Views + 1, counts.Carts, counts.Purchases),
            UserEventType.AddToCart => (counts.Views, counts.Carts + 1, counts.Purchases),
            _ => (counts.Views, counts.Carts, counts.Purchases + 1),
        };
    }
}
