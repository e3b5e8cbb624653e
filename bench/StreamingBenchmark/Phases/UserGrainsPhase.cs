using System.Diagnostics;
using System.Globalization;
using Analytics.Grains;
using Analytics.Grains.Users;
using Analytics.Silo.Funnel;
using Analytics.Silo.Ingestion;
using Analytics.Silo.Users;
using Analytics.Storage;
using Analytics.Streaming.Kafka;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Subscribers;
using Analytics.StreamingBenchmark.Workload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>The silo's effective settings in a run (after its appsettings.json and the benchmark's overrides).</summary>
internal sealed record UsersSiloSettings(
    TimeSpan CommitInterval, int PollBatchSize, int CacheSize, int MaxPoolSize, TimeSpan FeatureFlushInterval, int FeatureBatchSize, TimeSpan IdleTimeout)
{
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"Kafka:CommitInterval {CommitInterval.TotalSeconds:0.###} s, PollBatchSize {PollBatchSize}, CacheSize {CacheSize}; Postgres:MaxPoolSize {MaxPoolSize}; Users:FeatureFlushInterval {FeatureFlushInterval.TotalSeconds:0.###} s, FeatureBatchSize {FeatureBatchSize}, IdleTimeout {IdleTimeout.TotalMinutes:0} min");
}

/// <summary>What the run left in its database, counted after the end.</summary>
internal sealed record UsersCheck(long RawEvents, long GrainStates, long ChurnFeatures, long Replayed, long Duplicates, long CaughtUp, long StoreFailures, long DeliveryFailures, long DeadLetters, FunnelCheck Funnel);

/// <summary>What the funnel windows counted (their metrics) and what funnel_summary says.</summary>
internal sealed record FunnelCheck(long Counted, long Late, long Replayed, long WindowsOpened, long WindowsFinalised, long SummaryRows, long SummaryFinal, long SummaryEvents, long SummaryLate);

/// <summary>The Npgsql pool of the silo during a run.</summary>
internal sealed record PoolStats(long MaxSize, long PeakUsed, long PeakPending, long Timeouts, long FailedStatements, long Statements, double MeanStatementMs);

/// <summary>One run of the users benchmark.</summary>
internal sealed record UsersRun(
    UsersSiloSettings Settings,
    PhaseResult Result,
    PostgresStats Postgres,
    long ProbeTransactions,
    CommitGateStats Gate,
    PoolStats Pool,
    long Activations,
    UsersCheck Check,
    double MigrateSeconds,
    double StartSeconds,
    double StopSeconds,
    IReadOnlyList<KeyValuePair<string, long>> LogCounts,
    IReadOnlyList<string> FirstLogs);

/// <summary>
/// One silo in this process wired like the real one's grain side — <c>AddAnalyticsStorage</c> and the migrations,
/// <c>AddRawEventIngestion</c>, <c>AddUserGrains</c>, <c>AddFunnel</c> (so every event goes through its user grain and
/// its funnel window), with the silo's shipped settings — against a fresh database,
/// reading the topic from the beginning under a consumer group of its own. Measured from the host's start until the
/// data set is durable (see <see cref="DurabilityWatch"/>); warm once a grain is active for every user.
/// </summary>
internal static class UserGrainsPhase
{
    public const string Name = "user grains";

    // Names of the counters each window of the run carries (PhaseCounter).
    public const string StateWrites = "state_writes";
    public const string ChurnRows = "churn_rows";
    public const string ChurnUpserts = "churn_upserts";
    public const string RawRows = "raw_rows";
    public const string Statements = "statements";
    public const string PostgresCpu = "postgres_cpu_us";

    public static async Task<UsersRun> RunAsync(
        string bootstrapServers, string topic, int partitions, DataSet dataSet, TimeSpan commitInterval, PostgresProbe postgres, int runNumber,
        TimeSpan timeout, TextWriter progress)
    {
        var phase = string.Create(CultureInfo.InvariantCulture, $"{Name}, commit {commitInterval.TotalSeconds:0.###} s");
        var database = string.Create(CultureInfo.InvariantCulture, $"users_bench_{Environment.ProcessId}_{runNumber}");
        var connectionString = await postgres.CreateDatabaseAsync(database).ConfigureAwait(false);
        var consumerGroup = "bench-users-" + Guid.NewGuid().ToString("N");
        var logs = new LogCollector(progress);
        CountingUserGrain.Activations.Reset();
        try
        {
            using var metrics = new UserGrainsMetrics(excludedPool: PostgresProbe.PoolName);
            using var host = BuildSilo(bootstrapServers, topic, partitions, consumerGroup, commitInterval, connectionString, logs);
            var settings = ReadSettings(host.Services);

            var migrate = Stopwatch.StartNew();
            await host.Services.MigrateAnalyticsDatabaseAsync().ConfigureAwait(false);
            // Close the migration's connections, so that their statistics are published before the first reading.
            host.Services.GetRequiredService<NpgsqlDataSource>().Clear();
            var migrateSeconds = migrate.Elapsed.TotalSeconds;
            var before = await postgres.ReadSettledAsync(database).ConfigureAwait(false);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{phase}] database {database} migrated in {migrateSeconds:0.0} s; silo settings: {settings.Describe()}"));

            var ingestion = host.Services.GetRequiredService<IngestionStatus>();
            PhaseResult result;
            double startSeconds;
            long probeTransactions;
            await using (var watch = new DurabilityWatch(
                bootstrapServers, consumerGroup, topic, dataSet.PartitionCounts, dataSet.DistinctUsers, () => metrics.Count(UserGrainsMetrics.Applied) + metrics.Count(UserGrainsMetrics.CaughtUp), connectionString, metrics))
            {
                using var meter = PhaseMeter.Start(
                    phase,
                    dataSet.Events,
                    () => metrics.Count(UserGrainsMetrics.Applied) + metrics.Count(UserGrainsMetrics.CaughtUp),
                    progress,
                    isWarm: () => metrics.Count(UserGrainsMetrics.Activations) >= dataSet.DistinctUsers,
                    detail: () => Detail(metrics, watch),
                    isSettled: () => watch.Settled,
                    counters:
                    [
                        new PhaseCounter(StateWrites, () => metrics.Count(UserGrainsMetrics.StateWrites)),
                        new PhaseCounter(ChurnRows, () => metrics.Count(UserGrainsMetrics.ChurnRows)),
                        new PhaseCounter(ChurnUpserts, () => metrics.Count(UserGrainsMetrics.ChurnUpserts)),
                        new PhaseCounter(RawRows, () => ingestion.Inserted),
                        new PhaseCounter(Statements, () => metrics.DbOperations),
                        new PhaseCounter(PostgresCpu, postgres.CpuMicroseconds),
                    ]);
                var start = Stopwatch.StartNew();
                try
                {
                    await host.StartAsync().ConfigureAwait(false);
                    startSeconds = start.Elapsed.TotalSeconds;
                    result = await meter.WaitAsync(timeout).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    await StopQuietlyAsync(host, progress).ConfigureAwait(false);
                    if (ex is BenchmarkException && watch.Failure is { } failure)
                    {
                        throw new BenchmarkException($"{ex.Message} Last failure of the end check: {failure}");
                    }

                    throw;
                }
                finally
                {
                    probeTransactions = watch.Queries;
                }
            }

            // The silo is idle now (nothing to read, write or commit): PostgreSQL's counts settle.
            var after = await postgres.ReadSettledAsync(database).ConfigureAwait(false);
            var pool = new PoolStats(
                metrics.ConnectionsMax,
                metrics.PeakConnectionsUsed,
                metrics.PeakPending,
                metrics.Count(UserGrainsMetrics.DbConnectionTimeouts),
                metrics.Count(UserGrainsMetrics.DbOperationsFailed),
                metrics.DbOperations,
                metrics.DbOperations == 0 ? 0 : metrics.DbOperationMicroseconds / 1000.0 / metrics.DbOperations);
            var gate = metrics.GateStats();
            var activations = metrics.Count(UserGrainsMetrics.Activations);
            var check = await CheckAsync(connectionString, metrics).ConfigureAwait(false);

            var stop = Stopwatch.StartNew();
            await host.StopAsync().ConfigureAwait(false);
            var stopSeconds = stop.Elapsed.TotalSeconds;
            if (CountingUserGrain.Activations.Value > 0)
            {
                throw new BenchmarkException($"{CountingUserGrain.Activations.Value:N0} CountingUserGrain activations in the users run: the streaming phase's subscriber was not kept out of the silo.");
            }

            return new UsersRun(
                settings, result, after.Minus(before).WithoutOwnTransactions(probeTransactions), probeTransactions, gate, pool, activations, check,
                migrateSeconds, startSeconds, stopSeconds, logs.Counts, logs.First);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await postgres.DropDatabaseAsync(database).ConfigureAwait(false);
        }
    }

    private static async Task StopQuietlyAsync(IHost host, TextWriter progress)
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await progress.WriteLineAsync($"[{Name}] the silo did not stop cleanly: {ex.GetType().Name}: {ex.Message}").ConfigureAwait(false);
        }
    }

    private static string Detail(UserGrainsMetrics metrics, DurabilityWatch watch) => string.Create(CultureInfo.InvariantCulture,
        $"{metrics.Count(UserGrainsMetrics.Activations):N0} users active, {metrics.Count(UserGrainsMetrics.StateWrites):N0} state writes, {metrics.Count(UserGrainsMetrics.ChurnRows):N0} churn rows, {watch.Describe()}, pool {metrics.ConnectionsUsed}/{metrics.ConnectionsMax} busy, {metrics.Pending:N0} waiting");

    private static IHost BuildSilo(
        string bootstrapServers, string topic, int partitions, string consumerGroup, TimeSpan commitInterval, string connectionString, LogCollector logs)
    {
        var settings = SiloSettings.Load();
        settings["Postgres:ConnectionString"] = connectionString;
        settings["Kafka:BootstrapServers"] = bootstrapServers;
        settings["Kafka:Topic"] = topic;
        settings["Kafka:ConsumerGroup"] = consumerGroup;
        settings["Kafka:Partitions"] = partitions.ToString(CultureInfo.InvariantCulture);
        settings["Kafka:CommitInterval"] = commitInterval.ToString("c", CultureInfo.InvariantCulture);

        // No defaults: no environment variables (POSTGRES_CONNECTION, KAFKA_BOOTSTRAP…) nor files from the working
        // directory; the silo's settings and the benchmark's are the whole configuration.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(logs);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(1));
        builder.Services.AddSingleton<IHostLifetime, BenchmarkHostLifetime>();

        // The grain side of SiloHostingExtensions.AddAnalyticsSilo; clustering and ports as in the streaming phase.
        builder.Services.AddAnalyticsStorage(builder.Configuration);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(
                siloPort: OrleansProviderPhase.FreePort(),
                gatewayPort: OrleansProviderPhase.FreePort(),
                serviceId: "users-benchmark",
                clusterId: Guid.NewGuid().ToString("N"))
            .Exclude<CountingUserGrain>()
            .AddRawEventIngestion(builder.Configuration)
            .AddUserGrains(builder.Configuration)
            .AddFunnel(builder.Configuration));
        return builder.Build();
    }

    private static UsersSiloSettings ReadSettings(IServiceProvider services)
    {
        var kafka = services.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(GrainConstants.StreamProviderName);
        var postgres = services.GetRequiredService<IOptions<PostgresOptions>>().Value;
        var users = services.GetRequiredService<IOptions<UserGrainOptions>>().Value;
        return new UsersSiloSettings(
            kafka.CommitInterval, kafka.PollBatchSize, kafka.CacheSize, postgres.MaxPoolSize, users.FeatureFlushInterval, users.FeatureBatchSize, users.IdleTimeout);
    }

    private static async Task<UsersCheck> CheckAsync(string connectionString, UserGrainsMetrics metrics)
    {
        await using var dataSource = PostgresProbe.Build(connectionString);
        async Task<long> CountAsync(string sql)
        {
            await using var command = dataSource.CreateCommand(sql);
            return (long)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
        }

        // funnel_summary is written every Funnel:PublishInterval: give it a few seconds to say what the windows counted.
        var counted = metrics.Count(UserGrainsMetrics.FunnelCounted);
        var late = metrics.Count(UserGrainsMetrics.FunnelLate);
        const string SummarySql = "SELECT coalesce(sum(views + add_to_carts + purchases), 0)::bigint FROM funnel_summary";
        for (var wait = Stopwatch.StartNew(); wait.Elapsed < TimeSpan.FromSeconds(5) && await CountAsync(SummarySql).ConfigureAwait(false) != counted;)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        var funnel = new FunnelCheck(
            counted,
            late,
            metrics.Count(UserGrainsMetrics.FunnelReplayed),
            metrics.Count(UserGrainsMetrics.WindowsOpened),
            metrics.Count(UserGrainsMetrics.WindowsFinalised),
            await CountAsync("SELECT count(*) FROM funnel_summary").ConfigureAwait(false),
            await CountAsync("SELECT count(*) FROM funnel_summary WHERE is_final").ConfigureAwait(false),
            await CountAsync(SummarySql).ConfigureAwait(false),
            await CountAsync("SELECT coalesce(sum(late_events), 0)::bigint FROM funnel_summary").ConfigureAwait(false));

        return new UsersCheck(
            await CountAsync("SELECT count(*) FROM raw_events").ConfigureAwait(false),
            await CountAsync("SELECT count(*) FROM orleansstorage").ConfigureAwait(false),
            await CountAsync("SELECT count(*) FROM churn_features").ConfigureAwait(false),
            metrics.Count(UserGrainsMetrics.Replayed),
            metrics.Count(UserGrainsMetrics.Duplicates),
            metrics.Count(UserGrainsMetrics.CaughtUp),
            metrics.Count(UserGrainsMetrics.StoreFailures),
            metrics.Count(UserGrainsMetrics.DeliveryFailures),
            metrics.Count(UserGrainsMetrics.DeadLetters),
            funnel);
    }
}
