using System.Text.Json;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Analytics.Churn.Tests;

/// <summary>The reusable training run (the Trainer's and the web API's): files, registry row, unique versions.</summary>
public sealed class ChurnTrainingRunTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task TwoRunsInTheSameMillisecond_GetTwoVersions_BothRegistered_NewestFirst()
    {
        await using var dataSource = NpgsqlDataSource.Create(await SyntheticHistory.CreateDatabaseAsync(postgres.Server));
        var registry = new ChurnModelRegistry(dataSource);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 10, 12, 0, 0, TimeSpan.Zero).AddMilliseconds(7));
        var run = new ChurnTrainingRun(new ChurnHistoryReader(dataSource), registry, time);
        var directory = Directory.CreateTempSubdirectory("training-run-").FullName;
        try
        {
            var options = new ChurnTrainingOptions { Horizon = TimeSpan.FromDays(7), ModelDirectory = directory };
            var lines = new List<string>();

            var first = await run.RunAsync(options, new Collect(lines));
            var second = await run.RunAsync(options);
            time.Advance(TimeSpan.FromSeconds(1));
            var third = await run.RunAsync(options);

            Assert.Equal(3, new[] { first, second, third }.Select(o => o.Metadata.Version).Distinct().Count());
            Assert.All([first, second], o => Assert.StartsWith("churn-20260610T120000.007Z-", o.Metadata.Version, StringComparison.Ordinal));
            Assert.StartsWith("churn-20260610T120001.007Z-", third.Metadata.Version, StringComparison.Ordinal);
            Assert.Equal((300, 100), (first.Users, first.ChurnedUsers));
            Assert.Equal(first.Metadata with { Version = "", TrainedAt = default }, second.Metadata with { Version = "", TrainedAt = default });

            // The files are the last run's; the registry has them all, newest first.
            var (_, onDisk) = await ChurnModelFile.LoadAsync(new Microsoft.ML.MLContext(), directory);
            Assert.Equal(third.Metadata.Version, onDisk.Version);
            var listed = await registry.ListAsync();
            Assert.Equal(third.Metadata.Version, listed[0].Version);
            Assert.Equal(new[] { first, second }.Select(o => o.Metadata.Version).Order(StringComparer.Ordinal), listed.Skip(1).Select(r => r.Version).Order(StringComparer.Ordinal));
            var row = Assert.Single(listed, r => r.Version == first.Metadata.Version);
            Assert.Equal(
                (first.Metadata.TrainedAt, first.Metadata.Cutoff, first.Metadata.Horizon, first.Metadata.TrainingUsers, first.Metadata.TestUsers, directory),
                (row.TrainedAt, row.Cutoff, row.Horizon, row.TrainingUsers, row.TestUsers, row.ModelDirectory));
            Assert.Equal(first.Metadata.Metrics, JsonSerializer.Deserialize<ChurnMetrics>(row.Metrics, Json));
            Assert.Equal(first.Metadata.Baseline, JsonSerializer.Deserialize<ChurnMetrics>(row.Baseline, Json));
            Assert.Null(row.TruthMetrics);

            Assert.Equal(
                [
                    $"building the data set: features as of {SyntheticHistory.NewestEvent.AddDays(-7):O}, churned = no event in the following 7.00:00:00",
                    "  300 users",
                ],
                lines.Take(2));
            Assert.StartsWith("data set: 300 users, 100 churned (33.3 %), built in ", lines[2], StringComparison.Ordinal);
            Assert.Equal($"saved and registered {first.Metadata.Version}", lines[^1]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task UnusableData_FailsWithoutWritingAnything()
    {
        await using var dataSource = NpgsqlDataSource.Create(await SyntheticHistory.CreateDatabaseAsync(postgres.Server));
        var registry = new ChurnModelRegistry(dataSource);
        var run = new ChurnTrainingRun(new ChurnHistoryReader(dataSource), registry);
        var directory = Path.Combine(Path.GetTempPath(), "training-run-" + Guid.NewGuid().ToString("N"));

        // Every user has an event in the 2 days after this cutoff: nobody churned.
        var oneClass = await Assert.ThrowsAsync<InvalidOperationException>(() => run.RunAsync(
            new ChurnTrainingOptions { Horizon = TimeSpan.FromDays(2), Cutoff = SyntheticHistory.Start.AddDays(5), ModelDirectory = directory }));
        var badOptions = await Assert.ThrowsAsync<ArgumentException>(() => run.RunAsync(
            new ChurnTrainingOptions { Horizon = TimeSpan.Zero, TestFraction = 1, ModelDirectory = directory }));

        Assert.Contains("need churned and retained examples", oneClass.Message, StringComparison.Ordinal);
        Assert.Contains("Horizon must be positive", badOptions.Message, StringComparison.Ordinal);
        Assert.Contains("TestFraction must be between 0 and 1", badOptions.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(directory));
        Assert.Empty(await registry.ListAsync());
    }

    private sealed class Collect(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
