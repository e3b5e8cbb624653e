using System.Diagnostics;
using System.Globalization;
using Analytics.Producer.Simulation;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Analytics.Trainer;
using Microsoft.Extensions.Logging.Abstractions;
using Analytics.Grains.Interfaces.Events;
using Npgsql;
using Xunit.Abstractions;

namespace Analytics.Churn.Tests;

/// <summary>
/// The shop simulator's history, written into <c>raw_events</c> of a throwaway PostgreSQL once for the class, with its
/// hidden truth in a file: the settings recommended for <c>run_all.sh</c>'s first start (14 days of history, churn
/// horizon 14 days), with 3,000 users instead of 5,000 to keep the test short.
/// </summary>
public sealed class SimulatedShopFixture : IAsyncLifetime
{
    public static readonly SimulationSettings Settings = new()
    {
        Users = 3_000,
        Start = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero),
        ChurnHorizon = TimeSpan.FromDays(14),
        EventTimeSpan = TimeSpan.FromDays(14),
    };

    private PostgresServer? _server;
    private string? _directory;

    public string ConnectionString { get; private set; } = "";

    public string TruthPath { get; private set; } = "";

    public IReadOnlyList<UserTruth> Truth { get; private set; } = [];

    public long Events { get; private set; }

    public DateTimeOffset NewestEvent { get; private set; }

    public TimeSpan SetUpTime { get; private set; }

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        _server = await PostgresServer.StartAsync();
        ConnectionString = await _server.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await new DatabaseMigrator(dataSource, Microsoft.Extensions.Options.Options.Create(new PostgresOptions { ConnectionString = ConnectionString }), NullLogger<DatabaseMigrator>.Instance)
            .MigrateAsync(CancellationToken.None);

        // One binary COPY straight into raw_events, rows streamed as the simulator generates them: RawEventWriter's
        // staging table and de-duplication would double the time, and the simulator never repeats an event.
        var simulator = new ShopSimulator(Settings);
        long offset = 0;
        await using (var connection = await dataSource.OpenConnectionAsync())
        await using (var copy = await connection.BeginBinaryImportAsync(RawEventBulkCopy.Command))
        {
            while (simulator.TryNext(out var simulated))
            {
                RawEventBulkCopy.WriteRow(copy, simulator.ToUserEvent(simulated), 0, offset++);
            }

            await copy.CompleteAsync();
        }

        Events = offset;
        NewestEvent = DateTimeOffset.FromUnixTimeMilliseconds(simulator.ClockMs);
        Truth = simulator.GetTruth();
        _directory = Directory.CreateTempSubdirectory("churn-truth-").FullName;
        TruthPath = Path.Combine(_directory, "truth.jsonl");
        TruthFile.Write(Truth, TruthPath);
        SetUpTime = clock.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
        if (_server is not null) await _server.DisposeAsync();
    }
}

/// <summary>
/// The Done-when criterion: trained from the simulator's events at the Trainer's default cutoff and horizon, the model
/// reaches an AUC of at least 0.85 against the simulator's hidden truth on the held-out users, and beats the recency
/// baseline there.
/// </summary>
public sealed class SimulatorTruthTests(SimulatedShopFixture shop, ITestOutputHelper output) : IClassFixture<SimulatedShopFixture>
{
    private static readonly TimeSpan Horizon = ChurnTrainingOptions.DefaultHorizon;

    [Fact]
    public async Task Model_OnHeldOutUsers_ReachesAuc085AgainstTheHiddenTruth_AndBeatsTheRecencyBaseline()
    {
        output.WriteLine(Invariant($"{shop.Events:N0} simulated events of {SimulatedShopFixture.Settings.Users:N0} users stored in {shop.SetUpTime.TotalSeconds:0.0} s"));
        var clock = Stopwatch.StartNew();
        await using var dataSource = NpgsqlDataSource.Create(shop.ConnectionString);
        var history = new ChurnHistoryReader(dataSource);
        var cutoff = shop.NewestEvent - Horizon; // the Trainer's default cutoff
        Assert.Equal(shop.NewestEvent, await history.ReadLatestEventTimeAsync(CancellationToken.None));

        var examples = await new ChurnDatasetBuilder(history).BuildAsync(cutoff, Horizon);
        var result = new ChurnTrainer().Train(examples);
        var truth = await ChurnTruth.ReadAsync(shop.TruthPath);
        var scored = truth.Evaluate(result, examples, cutoff, Horizon);
        output.WriteLine(Invariant($"data set of {examples.Count:N0} users ({examples.Count(e => e.Churned):N0} labelled churned) built and trained in {clock.Elapsed.TotalSeconds:0.0} s"));
        output.WriteLine(Invariant($"AUC against the data labels: model {result.Metrics.Auc:0.000}, recency baseline {result.Baseline.Auc:0.000}"));
        output.WriteLine(Invariant($"AUC against the hidden truth: model {scored.Model.Auc:0.000}, recency baseline {scored.Baseline.Auc:0.000} ({scored.Churned:N0} of {scored.Users:N0} held-out users churned by T + H)"));
        output.WriteLine($"model vs truth {scored.Model}");
        output.WriteLine($"baseline vs truth {scored.Baseline}");

        // Every user with an event by the cutoff is in the data set, and every held-out one is in the truth.
        Assert.Equal(shop.Truth.Count(t => t.FirstEventTime <= cutoff), examples.Count);
        Assert.Equal((result.TestUsers, 0), (scored.Users, scored.Unknown));
        Assert.Equal(
            examples.Count(e => ChurnTrainer.IsHeldOut(e.Features.UserId, 0.2) && shop.Truth.Single(t => t.UserId == e.Features.UserId).ChurnTime <= cutoff + Horizon),
            scored.Churned);
        // Both classes in numbers a metric means something on: the simulator churns about 27 % of its users.
        Assert.InRange(scored.Churned / (double)scored.Users, 0.15, 0.40);
        Assert.InRange(examples.Count(e => e.Churned) / (double)examples.Count, 0.10, 0.40);

        Assert.True(scored.Model.Auc >= 0.85, Invariant($"model AUC against the truth {scored.Model.Auc:0.000}, expected at least 0.85"));
        Assert.True(
            scored.Model.Auc > scored.Baseline.Auc,
            Invariant($"model AUC against the truth {scored.Model.Auc:0.000} should beat the recency baseline's {scored.Baseline.Auc:0.000}"));
    }

    [Fact]
    public async Task TrainerApp_WithTruthFile_PrintsModelAndBaselineAgainstTheTruth_AndRecordsThem()
    {
        var directory = Directory.CreateTempSubdirectory("trainer-truth-").FullName;
        try
        {
            using var table = new StringWriter();
            using var progress = new StringWriter();

            // No horizon or cutoff given: the defaults must work on the recommended history.
            var exit = await TrainerApp.RunAsync(
                ["--Postgres:ConnectionString", shop.ConnectionString, "--Training:ModelDirectory", directory, "--Training:TruthFile", shop.TruthPath],
                table,
                progress);

            output.WriteLine(table.ToString());
            output.WriteLine(progress.ToString());
            Assert.True(exit == 0, $"exit {exit}: {progress}");
            var (_, metadata) = await ChurnModelFile.LoadAsync(new Microsoft.ML.MLContext(), directory);
            Assert.Equal((shop.NewestEvent - Horizon, Horizon), (metadata.Cutoff, metadata.Horizon));
            var truth = Assert.IsType<ChurnTruthMetrics>(metadata.TruthMetrics);
            Assert.Equal((metadata.TestUsers, 0), (truth.Users, truth.Unknown));
            Assert.True(truth.Model.Auc >= 0.85, Invariant($"AUC against the truth {truth.Model.Auc:0.000}"));
            string[] Row(string name, Func<ChurnMetrics, double> metric)
                => [name, .. new[] { metric(metadata.Metrics), metric(metadata.Baseline), metric(truth.Model), metric(truth.Baseline) }.Select(v => v.ToString("0.000", CultureInfo.InvariantCulture))];

            var lines = table.ToString().Split('\n', StringSplitOptions.TrimEntries);
            Assert.Contains("metric      model   recency baseline   model vs truth   baseline vs truth", lines);
            Assert.Equal(Row("AUC", m => m.Auc), Cells(lines, "AUC"));
            Assert.Equal(Row("log-loss", m => m.LogLoss), Cells(lines, "log-loss"));
            Assert.Contains(Invariant($"truth: {truth.Users:N0} held-out users in the truth file, {truth.Churned:N0} of them churned by {metadata.Cutoff + metadata.Horizon:O}"), lines);
            Assert.Contains(Invariant($"truth: {shop.Truth.Count:N0} users in {shop.TruthPath}"), progress.ToString(), StringComparison.Ordinal);

            await using var dataSource = NpgsqlDataSource.Create(shop.ConnectionString);
            var recorded = await new ChurnModelRegistry(dataSource).FindAsync(metadata.Version);
            Assert.NotNull(recorded);
            Assert.NotNull(recorded.TruthMetrics);
            Assert.Equal(truth, System.Text.Json.JsonSerializer.Deserialize<ChurnTruthMetrics>(recorded.TruthMetrics, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The cells of the table row named <paramref name="metric"/>.</summary>
    private static string[] Cells(string[] lines, string metric)
        => Assert.Single(lines, l => l.StartsWith(metric + " ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
