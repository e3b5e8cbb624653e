using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Phases;
using Analytics.StreamingBenchmark.Workload;

namespace Analytics.StreamingBenchmark.Report;

/// <summary>Everything the users benchmark measured, printed as a table and written as JSON.</summary>
internal sealed class UsersReport(
    Machine machine, UsersBenchmarkOptions options, DataSet dataSet, PostgresSettings postgres, bool postgresCpu, IReadOnlyList<UsersRun> runs, IReadOnlyList<UsersFailure> failures) : IBenchmarkReport
{
    public void WriteTable(TextWriter output)
    {
        output.WriteLine();
        output.WriteLine(Invariant($"users benchmark: {dataSet.Events:N0} events, {options.Users:N0} users ({dataSet.DistinctUsers:N0} with events), {options.Partitions} partitions, seed {options.Seed}"));
        output.WriteLine(Invariant($"  data set: {(dataSet.WarmUpEvents > 0 ? $"{dataSet.WarmUpEvents:N0} warm-up events (one per user), then " : "")}users drawn uniformly; {dataSet.AveragePayloadBytes:0} bytes/event JSON, ~{dataSet.WireBytes / (double)options.Partitions / (1 << 20):0.0} MiB lz4 per partition sent (the broker keeps {DataSetProducer.BrokerRetentionBytes >> 20} MiB); produced in {dataSet.Seconds:0.0} s"));
        output.WriteLine($"  {postgres.Describe()}");
        foreach (var run in runs) WriteRun(output, run);
        foreach (var failure in failures)
        {
            output.WriteLine();
            output.WriteLine(Invariant($"commit interval {Seconds(failure.CommitInterval)}: no figures: {failure.Reason}"));
        }

        output.WriteLine();
        output.WriteLine(Invariant($"{"commit",6} | {"ev/s",7} {"warm ev/s",9} {"durable",7} | {"CPU-µs/ev",9} {"PG µs/ev",8} | {"state w/s",9} {"w/ev",5} {"churn r/s",9} {"raw r/s",7} {"stmt/s",6} | {"PG xact/s",9} {"WAL fsync/s",11} | {"gate p50/p99 ms",15} | {"pool busy/wait",14} | {"peak MiB",8}"));
        foreach (var run in runs)
        {
            var r = run.Result;
            var d = r.Settled ?? r.Run;
            output.WriteLine(Invariant(
                $"{Seconds(run.Settings.CommitInterval),6} | {r.Run.EventsPerSecond,7:N0} {r.Steady?.EventsPerSecond,9:N0} {d.EventsPerSecond,7:N0} | {d.CpuMicrosecondsPerEvent,9:0.0} {(postgresCpu ? PostgresMicrosecondsPerEvent(d) : null),8:0.0} | {d.CounterPerSecond(UserGrainsPhase.StateWrites),9:N0} {d.Counter(UserGrainsPhase.StateWrites) / (double)d.Events,5:0.00} {d.CounterPerSecond(UserGrainsPhase.ChurnRows),9:N0} {d.CounterPerSecond(UserGrainsPhase.RawRows),7:N0} {d.CounterPerSecond(UserGrainsPhase.Statements),6:N0} | {run.Postgres.XactCommit / d.Seconds,9:N0} {run.Postgres.WalSyncs / d.Seconds,11:N1} | {$"{run.Gate.P50Ms:N0}/{run.Gate.P99Ms:N0}",15} | {$"{run.Pool.PeakUsed}/{run.Pool.MaxSize} / {run.Pool.PeakPending:N0}",14} | {r.PeakWorkingSetBytes / (double)(1 << 20),8:N0}"));
        }

        output.WriteLine("  ev/s: applied by the user grains, first to last event; warm: from every user active to the last; durable: first event to every offset committed and a churn_features row per user.");
        output.WriteLine("  Per-second writes and CPU over first → durable; w/ev: grain state writes per event. CPU-µs/ev: this process (silo, broker, benchmark); PG µs/ev: PostgreSQL's processes.");
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var document = new UsersReportJson(
            "users",
            DateTimeOffset.UtcNow,
            machine,
            new UsersSettingsJson(options.Events, options.Users, options.Partitions, options.Seed, options.CommitInterval.TotalSeconds, options.Sweep),
            new DataSetJson(dataSet.Events, dataSet.DistinctUsers, dataSet.WarmUpEvents, dataSet.AveragePayloadBytes, dataSet.WireBytes, dataSet.Seconds, dataSet.PartitionCounts),
            postgres,
            [.. runs.Select(UsersRunJson.From)],
            [.. failures.Select(f => new UsersFailureJson(f.CommitInterval.TotalSeconds, f.Reason))]);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, UsersReportJsonContext.Default.UsersReportJson, cancellationToken).ConfigureAwait(false);
    }

    private void WriteRun(TextWriter output, UsersRun run)
    {
        var r = run.Result;
        var durable = r.Settled ?? r.Run;
        var pg = run.Postgres;
        output.WriteLine();
        output.WriteLine(Invariant($"commit interval {Seconds(run.Settings.CommitInterval)} ({run.Settings.Describe()})"));
        output.WriteLine(Line("applied, first → last:", r.Run));
        if (r.Steady is { } steady) output.WriteLine(Line("all users active → last:", steady));
        output.WriteLine(Line("first → durable:", durable) + Invariant($"; durable {durable.Seconds - r.Run.Seconds:0.00} s after the last event"));
        output.WriteLine(Invariant($"  PostgreSQL writes, first → durable (the silo's counters; per event applied):"));
        output.WriteLine(Invariant($"    grain state writes   {durable.Counter(UserGrainsPhase.StateWrites),9:N0} = {durable.CounterPerSecond(UserGrainsPhase.StateWrites),7:N0}/s ({durable.Counter(UserGrainsPhase.StateWrites) / (double)durable.Events:0.000}/event){SteadyRate(r.Steady, UserGrainsPhase.StateWrites)}"));
        output.WriteLine(Invariant($"    churn_features rows  {durable.Counter(UserGrainsPhase.ChurnRows),9:N0} = {durable.CounterPerSecond(UserGrainsPhase.ChurnRows),7:N0}/s in {durable.Counter(UserGrainsPhase.ChurnUpserts):N0} upsert statements ({durable.CounterPerSecond(UserGrainsPhase.ChurnUpserts):0.0}/s){SteadyRate(r.Steady, UserGrainsPhase.ChurnRows)}"));
        output.WriteLine(Invariant($"    raw_events rows      {durable.Counter(UserGrainsPhase.RawRows),9:N0} = {durable.CounterPerSecond(UserGrainsPhase.RawRows),7:N0}/s{SteadyRate(r.Steady, UserGrainsPhase.RawRows)}"));
        output.WriteLine(Invariant($"    statements (Npgsql)  {durable.Counter(UserGrainsPhase.Statements),9:N0} = {durable.CounterPerSecond(UserGrainsPhase.Statements),7:N0}/s, mean {run.Pool.MeanStatementMs:0.0} ms each (every command of the silo's data source, state reads included){SteadyRate(r.Steady, UserGrainsPhase.Statements)}"));
        output.WriteLine(Invariant($"  PostgreSQL's view (pg_stat_database of the run's database, pg_stat_wal; silo start → durable, settled; the benchmark's {run.ProbeTransactions} own queries taken out):"));
        output.WriteLine(Invariant($"    transactions {pg.XactCommit:N0} committed ({pg.XactCommit / durable.Seconds:N0}/s), {pg.XactRollback:N0} rolled back; rows inserted {pg.TupInserted:N0}, updated {pg.TupUpdated:N0}, deleted {pg.TupDeleted:N0} (temporary staging tables and their catalog rows included); deadlocks {pg.Deadlocks}"));
        output.WriteLine(Invariant($"    (transactions include one DISCARD ALL per pooled connection use: Npgsql resets a connection it hands out again, so about one per statement above; they write no WAL)"));
        if (pg.WalBytes is { } walBytes)
        {
            output.WriteLine(Invariant($"    WAL {walBytes / (double)(1 << 20):N0} MiB ({walBytes / (double)durable.Events:N0} B/event) in {pg.WalRecords:N0} records ({pg.WalFullPageImages:N0} full-page images); {pg.WalWrites:N0} WAL writes, {pg.WalSyncs:N0} WAL fsyncs ({pg.WalSyncs / durable.Seconds:N1}/s); checkpoints {pg.Checkpoints}; blocks read {pg.BlocksRead:N0}, hit {pg.BlocksHit:N0}"));
        }

        if (postgresCpu)
        {
            output.WriteLine(Invariant($"    PostgreSQL CPU {durable.Counter(UserGrainsPhase.PostgresCpu) / 1e6:0.0} s = {PostgresMicrosecondsPerEvent(durable):0.0} µs/event ({durable.Counter(UserGrainsPhase.PostgresCpu) / 1e6 / durable.Seconds:0.00} cores busy){(r.Steady is { } s ? $"; all users active → last {PostgresMicrosecondsPerEvent(s):0.0} µs/event" : "")}"));
        }

        var gate = run.Gate;
        output.WriteLine(Invariant($"  commit gate (kafka_stream_commit_gate_duration): {gate.Count:N0} gates, mean {gate.MeanMs:N0} ms, p50 {gate.P50Ms:N0} ms, p99 {gate.P99Ms:N0} ms, max {gate.MaxMs:N0} ms; {gate.Failures} failed"));
        output.WriteLine(Invariant($"  Npgsql pool of the silo: max {run.Pool.MaxSize}, peak {run.Pool.PeakUsed} busy (sampled every 200 ms), peak {run.Pool.PeakPending:N0} callers waiting for a connection; {run.Pool.Timeouts} pool timeouts, {run.Pool.FailedStatements} failed statements"));
        output.WriteLine(Invariant($"  silo: {run.Activations:N0} activations, peak working set {r.PeakWorkingSetBytes / (double)(1 << 20):N0} MiB, migrations {run.MigrateSeconds:0.0} s, start {run.StartSeconds:0.0} s, stop {run.StopSeconds:0.0} s{(r.LoadAverage is { } load ? $", load average {load:0.0}" : "")}"));
        var c = run.Check;
        output.WriteLine(Invariant($"  checks: raw_events {c.RawEvents:N0} ({(c.RawEvents == dataSet.Events ? "= events" : $"EXPECTED {dataSet.Events:N0}")}), grain states {c.GrainStates:N0}, churn_features {c.ChurnFeatures:N0} ({(c.ChurnFeatures == dataSet.DistinctUsers ? "= users" : $"EXPECTED {dataSet.DistinctUsers:N0}")}); replayed {c.Replayed}, duplicates {c.Duplicates}, caught up from raw_events {c.CaughtUp}; sink store failures {c.StoreFailures}, delivery failures {c.DeliveryFailures}, dead letters {c.DeadLetters}"));
        var f = c.Funnel;
        output.WriteLine(Invariant($"  funnel windows: {f.WindowsOpened:N0} opened, {f.WindowsFinalised:N0} finalised; events counted {f.Counted:N0} + late {f.Late:N0} = {f.Counted + f.Late:N0} ({(f.Counted + f.Late == dataSet.Events ? "= events" : $"EXPECTED {dataSet.Events:N0}")}), contributions ignored as counted already {f.Replayed:N0}; funnel_summary {f.SummaryRows:N0} rows ({f.SummaryFinal:N0} final) holding {f.SummaryEvents:N0} counted ({(f.SummaryEvents == f.Counted ? "= windows" : "DIFFERS")}) and {f.SummaryLate:N0} late"));
        if (run.LogCounts.Count == 0)
        {
            output.WriteLine("  silo log: no warnings or errors");
        }
        else
        {
            output.WriteLine(Invariant($"  silo log: {run.LogCounts.Sum(l => l.Value):N0} warnings or worse: {string.Join("; ", run.LogCounts.Take(5).Select(l => $"{l.Key} ×{l.Value:N0}"))}"));
            foreach (var line in run.FirstLogs.Take(3)) output.WriteLine($"    {line}");
        }
    }

    private static double PostgresMicrosecondsPerEvent(Window w) => w.Counter(UserGrainsPhase.PostgresCpu) / (double)w.Events;

    private static string SteadyRate(Window? steady, string counter)
        => steady is null ? "" : Invariant($"; all users active → last {steady.CounterPerSecond(counter):N0}/s");

    private static string Line(string label, Window w) => Invariant(
        $"  {label,-25} {w.Events:N0} events in {w.Seconds:0.00} s = {w.EventsPerSecond:N0} ev/s, {w.CpuMicrosecondsPerEvent:0.0} CPU-µs/event ({w.CoresBusy:0.00} cores busy, {w.AllocatedBytesPerEvent:N0} B allocated/event, GC {string.Join('/', w.Collections)})");

    private static string Seconds(TimeSpan t) => Invariant($"{t.TotalSeconds:0.###} s");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A commit interval that gave no figures, and why.</summary>
internal sealed record UsersFailure(TimeSpan CommitInterval, string Reason);

internal sealed record UsersReportJson(
    string Benchmark, DateTimeOffset Date, Machine Machine, UsersSettingsJson Settings, DataSetJson DataSet, PostgresSettings Postgres,
    IReadOnlyList<UsersRunJson> Runs, IReadOnlyList<UsersFailureJson> Failures);

internal sealed record UsersSettingsJson(long Events, int Users, int Partitions, int Seed, double CommitIntervalSeconds, bool Sweep);

internal sealed record UsersFailureJson(double CommitIntervalSeconds, string Reason);

internal sealed record UsersWindowJson(WindowJson Window, IReadOnlyDictionary<string, long> Counters, IReadOnlyDictionary<string, double> CountersPerSecond)
{
    public static UsersWindowJson From(Window w) => new(
        WindowJson.From(w), w.Counters, w.Counters.ToDictionary(c => c.Key, c => c.Value / w.Seconds));
}

internal sealed record UsersRunJson(
    UsersSiloSettings SiloSettings,
    UsersWindowJson Applied,
    UsersWindowJson? AllUsersActive,
    UsersWindowJson Durable,
    double SecondsWithStartup,
    double CpuSecondsWithStartup,
    long PeakWorkingSetBytes,
    double? LoadAverage,
    PostgresStats PostgresStats,
    IReadOnlyDictionary<string, double> PostgresPerSecond,
    long ProbeTransactionsRemoved,
    CommitGateStats CommitGate,
    PoolStats Pool,
    long Activations,
    UsersCheck Check,
    double MigrateSeconds,
    double SiloStartSeconds,
    double SiloStopSeconds,
    IReadOnlyDictionary<string, long> LogCounts,
    IReadOnlyList<string> FirstLogs)
{
    public static UsersRunJson From(UsersRun run)
    {
        var r = run.Result;
        var durable = r.Settled ?? r.Run;
        var pg = run.Postgres;
        return new UsersRunJson(
            run.Settings,
            UsersWindowJson.From(r.Run),
            r.Steady is { } s ? UsersWindowJson.From(s) : null,
            UsersWindowJson.From(durable),
            r.TotalSeconds,
            r.TotalCpuSeconds,
            r.PeakWorkingSetBytes,
            r.LoadAverage,
            pg,
            new Dictionary<string, double>
            {
                ["xact_commit"] = pg.XactCommit / durable.Seconds,
                ["tup_inserted"] = pg.TupInserted / durable.Seconds,
                ["tup_updated"] = pg.TupUpdated / durable.Seconds,
                ["wal_bytes"] = (pg.WalBytes ?? 0) / durable.Seconds,
                ["wal_sync"] = (pg.WalSyncs ?? 0) / durable.Seconds,
            },
            run.ProbeTransactions,
            run.Gate,
            run.Pool,
            run.Activations,
            run.Check,
            run.MigrateSeconds,
            run.StartSeconds,
            run.StopSeconds,
            run.LogCounts.ToDictionary(l => l.Key, l => l.Value),
            run.FirstLogs);
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(UsersReportJson))]
internal sealed partial class UsersReportJsonContext : JsonSerializerContext;
