using Analytics.Grains.Interfaces.Events;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Analytics.Trainer;
using Npgsql;

namespace Analytics.Churn.Tests;

/// <summary>The training command end to end: PostgreSQL in, model files and a metrics table out.</summary>
public sealed class TrainerAppTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Trains_FromRawEvents_WritesTheModelFiles_AndPrintsModelAgainstBaseline()
    {
        var database = await postgres.Server.CreateDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            var migrator = new DatabaseMigrator(dataSource, Microsoft.Extensions.Options.Options.Create(new PostgresOptions { ConnectionString = database }), Microsoft.Extensions.Logging.Abstractions.NullLogger<DatabaseMigrator>.Instance);
            await migrator.MigrateAsync(CancellationToken.None);
            await new RawEventWriter(dataSource).WriteAsync(History(), CancellationToken.None);
        }

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
            Assert.Equal(Start.AddDays(29).AddMinutes(299) - TimeSpan.FromDays(7), metadata.Cutoff); // newest event minus the horizon
            Assert.Equal(300, metadata.TrainingUsers + metadata.TestUsers);
            Assert.True(metadata.Metrics.Auc > 0.9, $"AUC {metadata.Metrics.Auc}");
            var table = output.ToString();
            Assert.Contains(metadata.Version, table, StringComparison.Ordinal);
            Assert.Contains("AUC", table, StringComparison.Ordinal);
            Assert.Contains("recency baseline", table, StringComparison.Ordinal);
            Assert.Contains("data set: 300 users", progress.ToString(), StringComparison.Ordinal);
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

    /// <summary>300 users, one event a day; a third of them stop after two weeks, the rest go on to day 29.</summary>
    private static List<RawEvent> History()
    {
        var events = new List<RawEvent>();
        var offset = 0L;
        for (var user = 0; user < 300; user++)
        {
            var lastDay = user % 3 == 0 ? 14 : 29;
            for (var day = 0; day <= lastDay; day++)
            {
                var e = new UserEvent
                {
                    EventId = Guid.NewGuid(),
                    UserId = $"u{user}",
                    SessionId = $"u{user}-{day}",
                    EventType = day % 5 == 4 ? UserEventType.AddToCart : UserEventType.View,
                    ProductId = "p",
                    Category = "books",
                    Price = 10m,
                    EventTime = Start.AddDays(day).AddMinutes(user),
                };
                events.Add(new RawEvent(e, 0, offset++));
            }
        }

        return events;
    }
}
