using System.Diagnostics;
using System.Globalization;
using Analytics.ChurnBenchmark.Cli;
using Analytics.Churn;
using Analytics.Producer.Simulation;
using Analytics.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.ChurnBenchmark.Training;

/// <summary>
/// The training benchmark, in order: a scratch database with the schema, the simulated history loaded into
/// raw_events, ANALYZE, then the three measured steps of a training run (data set, training, model file), the report.
/// </summary>
internal static class TrainingBenchmarkRun
{
    public static Task<int> RunAsync(TrainingBenchmarkOptions options, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
        => BenchmarkRunner.RunAsync(output, progress, options.Output, machine => RunAsync(machine, options, progress, cancellationToken), cancellationToken);

    private static async Task<IBenchmarkReport> RunAsync(Machine machine, TrainingBenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        await using var database = await ScratchDatabase.CreateAsync(options.Postgres, progress, cancellationToken).ConfigureAwait(false);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"{PostgresOptions.SectionName}:{nameof(PostgresOptions.ConnectionString)}"] = database.ConnectionString,
            })
            .Build();
        await using var services = new ServiceCollection()
            .AddLogging(logging => logging
                .SetMinimumLevel(LogLevel.Warning)
                .AddSimpleConsole(console => console.SingleLine = true)
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace))
            .AddAnalyticsStorage(configuration)
            .BuildServiceProvider();

        // The schema, the way every service of the pipeline makes it.
        var meter = PhaseMeter.Start("migrations");
        await services.MigrateAnalyticsDatabaseAsync(cancellationToken).ConfigureAwait(false);
        var migrations = meter.Stop();
        await progress.WriteLineAsync(Invariant($"[migrations] {DatabaseMigrator.MigrationNames.Count} applied in {migrations.Seconds:0.0} s")).ConfigureAwait(false);

        var settings = new SimulationSettings
        {
            Seed = options.Seed,
            Users = options.Users,
            Start = options.Start,
            SessionsPerDay = options.SessionsPerDay,
            ChurnHorizon = options.ChurnHorizon,
            EventTimeSpan = TimeSpan.FromDays(options.Days),
        };
        await progress.WriteLineAsync(Invariant($"[load] simulating {options.Users:N0} users over {options.Days} days from {options.Start:yyyy-MM-dd} ({options.SessionsPerDay:0.##} sessions/day/user, churn horizon {CliOptions.Describe(options.ChurnHorizon)}, seed {options.Seed}) into raw_events with binary COPY")).ConfigureAwait(false);
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        // Secondary indexes are built once after the load instead of row by row during it (several times faster on
        // a history that outgrows shared_buffers); the end state is the migrated schema, index for index.
        var indexes = await DropSecondaryIndexesAsync(dataSource, cancellationToken).ConfigureAwait(false);
        meter = PhaseMeter.Start("load");
        var history = await SimulatedHistoryLoader.LoadAsync(dataSource, settings, options.CopyBatch, progress, cancellationToken).ConfigureAwait(false);
        var load = meter.Stop();
        await progress.WriteLineAsync(Invariant($"[load] {history.Events:N0} events of {history.UsersWithEvents:N0} users in {load.Seconds:0.0} s = {load.PerSecond(history.Events):N0} rows/s ({history.CopyStatements} COPY statements; the simulator was busy {history.GenerateSeconds:0.0} s of it)")).ConfigureAwait(false);
        if (history.Events == 0) throw new BenchmarkException("the simulator generated no events; raise --users, --days or --sessions-per-day");

        meter = PhaseMeter.Start("indexes", progress);
        foreach (var (name, definition) in indexes)
        {
            // In memory rather than an external sort on disk (the default maintenance_work_mem is 64 MB).
            await using var create = dataSource.CreateCommand($"SET maintenance_work_mem = '1GB'; {definition}; RESET maintenance_work_mem");
            create.CommandTimeout = 0;
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var indexResult = meter.Stop();
        await progress.WriteLineAsync(Invariant($"[indexes] {string.Join(", ", indexes.Select(i => i.Name))} built in {indexResult.Seconds:0.0} s")).ConfigureAwait(false);

        // What autovacuum would have done by the time a real training run comes: statistics for the planner.
        meter = PhaseMeter.Start("analyze");
        await using (var analyze = dataSource.CreateCommand("ANALYZE raw_events"))
        {
            analyze.CommandTimeout = 0;
            await analyze.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var analyzeResult = meter.Stop();
        var tableBytes = await ScalarAsync<long>(dataSource, "SELECT pg_total_relation_size('raw_events')", cancellationToken).ConfigureAwait(false);
        await progress.WriteLineAsync(Invariant($"[analyze] {analyzeResult.Seconds:0.0} s; raw_events with its indexes: {tableBytes / (double)(1 << 20):N0} MiB")).ConfigureAwait(false);

        // The measured training run: what Trainer does, step by step.
        var reader = services.GetRequiredService<ChurnHistoryReader>();
        var latest = await reader.ReadLatestEventTimeAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new BenchmarkException("raw_events is empty after the load");
        var cutoff = latest - options.Horizon;
        await progress.WriteLineAsync(Invariant($"[data set] features as of {cutoff:yyyy-MM-dd HH:mm:ss} (newest event {latest:yyyy-MM-dd HH:mm:ss} - {CliOptions.Describe(options.Horizon)}), churned = no event in the {CliOptions.Describe(options.Horizon)} after")).ConfigureAwait(false);
        var rowsToCutoff = await ScalarAsync<long>(dataSource, "SELECT count(*) FROM raw_events WHERE event_time <= $1", cancellationToken, cutoff).ConfigureAwait(false);
        meter = PhaseMeter.Start("data set");
        var examples = await new ChurnDatasetBuilder(reader)
            .BuildAsync(cutoff, options.Horizon, new ProgressLines("data set", meter, progress), cancellationToken)
            .ConfigureAwait(false);
        var dataSet = meter.Stop();
        var churned = examples.Count(e => e.Churned);
        await progress.WriteLineAsync(Invariant($"[data set] {examples.Count:N0} users ({churned:N0} churned, {Share(churned, examples.Count):P1}) in {dataSet.Seconds:0.0} s = {dataSet.PerSecond(examples.Count):N0} users/s")).ConfigureAwait(false);

        await progress.WriteLineAsync(Invariant($"[training] {examples.Count:N0} users, {options.TestFraction:P0} held out (min-max normalisation + L-BFGS logistic regression, and the recency baseline)")).ConfigureAwait(false);
        meter = PhaseMeter.Start("training", progress);
        var result = new ChurnTrainer(options.Seed).Train(examples, options.TestFraction);
        var training = meter.Stop();
        await progress.WriteLineAsync(Invariant($"[training] {training.Seconds:0.0} s: AUC {result.Metrics.Auc:0.000} (recency baseline {result.Baseline.Auc:0.000}) on {result.TestUsers:N0} held-out users")).ConfigureAwait(false);

        var modelDirectory = Path.Combine(Path.GetTempPath(), "churn-benchmark-" + Guid.NewGuid().ToString("N"));
        long modelBytes;
        PhaseResult save;
        try
        {
            meter = PhaseMeter.Start("model save");
            var metadata = await ChurnModelFile.SaveAsync(result, cutoff, options.Horizon, modelDirectory, TimeProvider.System, cancellationToken).ConfigureAwait(false);
            save = meter.Stop();
            modelBytes = new DirectoryInfo(modelDirectory).EnumerateFiles().Sum(f => f.Length);
            await progress.WriteLineAsync(Invariant($"[model save] {metadata.Version}: {modelBytes / 1024.0:N0} KiB in {save.Seconds:0.00} s")).ConfigureAwait(false);
        }
        finally
        {
            if (Directory.Exists(modelDirectory)) Directory.Delete(modelDirectory, recursive: true);
        }

        return new TrainingReport(
            machine,
            options,
            database.ServerDescription,
            history,
            tableBytes,
            cutoff,
            rowsToCutoff,
            examples.Count,
            churned,
            result.TrainingUsers,
            result.TestUsers,
            result.Metrics,
            result.Baseline,
            modelBytes,
            [migrations, load, indexResult, analyzeResult, dataSet, training, save],
            PeakResidentBytes(),
            total.Elapsed.TotalSeconds,
            Machine.LoadAverage());
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Drops raw_events' indexes other than those behind constraints (the primary key); returns their definitions.</summary>
    private static async Task<IReadOnlyList<(string Name, string Definition)>> DropSecondaryIndexesAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var indexes = new List<(string Name, string Definition)>();
        await using (var read = dataSource.CreateCommand(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = 'raw_events'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = 'raw_events'::regclass AND c.conname = i.indexname)
            ORDER BY i.indexname
            """))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) indexes.Add((reader.GetString(0), reader.GetString(1)));
        }

        foreach (var (name, _) in indexes)
        {
            await using var drop = dataSource.CreateCommand($"DROP INDEX \"{name}\"");
            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return indexes;
    }

    /// <summary>The process's peak resident set (VmHWM of /proc/self/status), or null where /proc is missing.</summary>
    private static long? PeakResidentBytes()
    {
        const string Path = "/proc/self/status";
        if (!File.Exists(Path)) return null;
        var line = File.ReadLines(Path).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kib = line?["VmHWM:".Length..].Trim().Split(' ')[0];
        return long.TryParse(kib, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value * 1024 : null;
    }

    private static double Share(long part, long whole) => whole == 0 ? 0 : part / (double)whole;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The data set builder's progress (users done), as a line at most every 2 s, written on the builder's own thread.</summary>
    private sealed class ProgressLines(string phase, PhaseMeter meter, TextWriter progress) : IProgress<int>
    {
        private TimeSpan _next = TimeSpan.FromSeconds(2);

        public void Report(int value)
        {
            var now = meter.Elapsed;
            if (now < _next) return;
            _next = now + TimeSpan.FromSeconds(2);
            progress.WriteLine(Invariant($"[{phase}] {now.TotalSeconds,6:0.0} s: {value,9:N0} users ({value / now.TotalSeconds:N0}/s), working set {Environment.WorkingSet / (double)(1 << 20):N0} MiB"));
        }
    }
}
