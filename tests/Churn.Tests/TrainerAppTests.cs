using Analytics.Storage;
using Analytics.TestInfrastructure;
using Analytics.Trainer;
using Npgsql;

namespace Analytics.Churn.Tests;

/// <summary>The training command end to end: PostgreSQL in, model files, a <c>churn_models</c> row and a metrics table out.</summary>
public sealed class TrainerAppTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Trains_FromRawEvents_WritesTheModelFiles_AndPrintsModelAgainstBaseline()
    {
        var database = await SyntheticHistory.CreateDatabaseAsync(postgres.Server);
        var directory = Directory.CreateTempSubdirectory("trainer-").FullName;
        try
        {
            using var output = new StringWriter();
            using var progress = new StringWriter();
            var exit = await TrainerApp.RunAsync(
                ["--Postgres:ConnectionString", database, "--Training:ModelDirectory", directory, "--Training:Horizon", "7.00:00:00"],
                output,
                progress);

            Assert.True(exit == 0, $"exit {exit}: {progress}");
            Assert.True(File.Exists(Path.Combine(directory, ChurnModelFile.ModelName)));
            var (_, metadata) = await ChurnModelFile.LoadAsync(new Microsoft.ML.MLContext(), directory);
            Assert.Equal(SyntheticHistory.NewestEvent - TimeSpan.FromDays(7), metadata.Cutoff); // newest event minus the horizon
            Assert.Equal(300, metadata.TrainingUsers + metadata.TestUsers);
            Assert.True(metadata.Metrics.Auc > 0.9, $"AUC {metadata.Metrics.Auc}");
            Assert.Null(metadata.TruthMetrics);
            var table = output.ToString();
            Assert.Contains(metadata.Version, table, StringComparison.Ordinal);
            Assert.Contains("AUC", table, StringComparison.Ordinal);
            Assert.Contains("metric      model   recency baseline" + Environment.NewLine, table, StringComparison.Ordinal);
            Assert.DoesNotContain("truth", table, StringComparison.Ordinal);
            Assert.Contains("data set: 300 users", progress.ToString(), StringComparison.Ordinal);

            await using var dataSource = NpgsqlDataSource.Create(database);
            var recorded = Assert.Single(await new ChurnModelRegistry(dataSource).ListAsync());
            Assert.Equal(
                (metadata.Version, metadata.Cutoff, metadata.Horizon, metadata.TrainingUsers, metadata.TestUsers, (string?)null, directory),
                (recorded.Version, recorded.Cutoff, recorded.Horizon, recorded.TrainingUsers, recorded.TestUsers, recorded.TruthMetrics, recorded.ModelDirectory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WithTruthFile_AddsTheTruthColumns()
    {
        var database = await SyntheticHistory.CreateDatabaseAsync(postgres.Server);
        var directory = Directory.CreateTempSubdirectory("trainer-").FullName;
        try
        {
            // The truth says the opposite of the data for every user: against it each AUC is 1 - its AUC against the data.
            var truthPath = Path.Combine(directory, "truth.jsonl");
            await File.WriteAllLinesAsync(truthPath, Enumerable.Range(0, 300).Select(u => SyntheticHistory.StopsEarly(u)
                ? $$"""{"user_id":"{{SyntheticHistory.UserId(u)}}","churned":false,"churn_time":null}"""
                : $$"""{"user_id":"{{SyntheticHistory.UserId(u)}}","churned":true,"churn_time":"2026-05-20T00:00:00.000Z"}"""));
            using var output = new StringWriter();
            using var progress = new StringWriter();

            var exit = await TrainerApp.RunAsync(
                ["--Postgres:ConnectionString", database, "--Training:ModelDirectory", directory, "--Training:Horizon", "7.00:00:00", "--Training:TruthFile", truthPath],
                output,
                progress);

            Assert.True(exit == 0, $"exit {exit}: {progress}");
            var (_, metadata) = await ChurnModelFile.LoadAsync(new Microsoft.ML.MLContext(), directory);
            var truth = Assert.IsType<ChurnTruthMetrics>(metadata.TruthMetrics);
            Assert.Equal((metadata.TestUsers, 0), (truth.Users, truth.Unknown));
            Assert.Equal(1 - metadata.Metrics.Auc, truth.Model.Auc, 1e-9);
            Assert.Equal(1 - metadata.Baseline.Auc, truth.Baseline.Auc, 1e-9);
            var lines = output.ToString().Split(Environment.NewLine);
            Assert.Contains("metric      model   recency baseline   model vs truth   baseline vs truth", lines);
            var auc = Assert.Single(lines, l => l.StartsWith("AUC ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(
                ["AUC", .. new[] { metadata.Metrics.Auc, metadata.Baseline.Auc, truth.Model.Auc, truth.Baseline.Auc }.Select(v => v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture))],
                auc);
            Assert.Contains($"truth: {truth.Users} held-out users in the truth file, {truth.Churned} of them churned by {(metadata.Cutoff + metadata.Horizon):O}", lines);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task MissingTruthFile_FailsWithExitOne_NamingIt()
    {
        var database = await SyntheticHistory.CreateDatabaseAsync(postgres.Server);
        var directory = Directory.CreateTempSubdirectory("trainer-").FullName;
        try
        {
            var missing = Path.Combine(directory, "no-such-truth.jsonl");
            using var output = new StringWriter();
            using var progress = new StringWriter();

            var exit = await TrainerApp.RunAsync(
                ["--Postgres:ConnectionString", database, "--Training:ModelDirectory", directory, "--Training:TruthFile", missing],
                output,
                progress);

            Assert.Equal(1, exit);
            Assert.Contains($"error: The truth file {missing} could not be read", progress.ToString(), StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(directory));
            Assert.Equal("", output.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task InvalidSetting_StopsWithTheSettingsName()
    {
        using var output = new StringWriter();
        using var progress = new StringWriter();

        var exit = await TrainerApp.RunAsync(["--Training:Horizon", "-1.00:00:00", "--Training:TestFraction", "1.5"], output, progress);

        Assert.Equal(2, exit);
        Assert.Contains("Training:Horizon must be positive", progress.ToString(), StringComparison.Ordinal);
        Assert.Contains("Training:TestFraction", progress.ToString(), StringComparison.Ordinal);
    }
}
