using System.Text.Json.Nodes;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ChurnModelRegistryTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset TrainedAt = new(2026, 6, 10, 12, 0, 0, 7, TimeSpan.Zero);

    [Fact]
    public async Task Register_NewVersion_StoresEveryColumn_AndFindsIt()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var registry = new ChurnModelRegistry(dataSource);
        // Microsecond precision (PostgreSQL keeps no more), offsets other than UTC, a horizon with a time part.
        var model = Model("churn-20260610T120000.007Z-3f9a", TrainedAt.AddTicks(1_230).ToOffset(TimeSpan.FromHours(2))) with
        {
            Cutoff = new DateTimeOffset(2026, 6, 7, 23, 59, 58, 191, TimeSpan.FromHours(-5)).AddTicks(4_560),
            Horizon = TimeSpan.FromDays(3) + TimeSpan.FromHours(4) + TimeSpan.FromTicks(1_234_560),
            TruthMetrics = """{"users":669,"churned":198,"unknown":0,"model":{"auc":0.925},"baseline":{"auc":0.911}}""",
        };

        var written = await registry.RegisterAsync(model, CancellationToken.None);

        Assert.True(written);
        var found = await registry.FindAsync(model.Version);
        Assert.NotNull(found);
        // jsonb keeps the value, not the text: compare the JSON, then everything else exactly.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(model.Metrics), JsonNode.Parse(found.Metrics)), found.Metrics);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(model.Baseline), JsonNode.Parse(found.Baseline)), found.Baseline);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(model.TruthMetrics), JsonNode.Parse(found.TruthMetrics!)), found.TruthMetrics);
        Assert.Equal(model, found with { Metrics = model.Metrics, Baseline = model.Baseline, TruthMetrics = model.TruthMetrics });
        Assert.Equal(TimeSpan.Zero, found.TrainedAt.Offset);
        Assert.Equal(
            ("2026-06-10T12:00:00.007123", "2026-06-08T04:59:58.191456", "3 days 04:00:00.123456", "object"),
            (await TestDatabase.ListAsync(
                dataSource,
                """
                SELECT to_char(trained_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), to_char(cutoff AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                       horizon::text, jsonb_typeof(metrics)
                FROM churn_models
                """,
                r => (r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3)))).Single());
    }

    [Fact]
    public async Task Register_SameVersionAgain_ChangesNothing_AndSaysSo()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var registry = new ChurnModelRegistry(dataSource);
        var first = Model("churn-a", TrainedAt);
        await registry.RegisterAsync(first, CancellationToken.None);

        var written = await registry.RegisterAsync(Model("churn-a", TrainedAt.AddDays(1)) with { TrainingUsers = 1, ModelDirectory = "/elsewhere" }, CancellationToken.None);

        Assert.False(written);
        var stored = Assert.Single(await registry.ListAsync());
        Assert.Equal((first.TrainedAt, first.TrainingUsers, first.ModelDirectory), (stored.TrainedAt, stored.TrainingUsers, stored.ModelDirectory));
    }

    [Fact]
    public async Task List_NewestFirst_UpToTheLimit()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var registry = new ChurnModelRegistry(dataSource);
        // Registered out of order; two trained in the same microsecond are ordered by version.
        foreach (var model in new[]
        {
            Model("churn-b", TrainedAt.AddMinutes(1)),
            Model("churn-d", TrainedAt.AddDays(-1)),
            Model("churn-a", TrainedAt.AddMinutes(1)),
            Model("churn-c", TrainedAt.AddHours(2)),
        })
        {
            Assert.True(await registry.RegisterAsync(model, CancellationToken.None));
        }

        Assert.Equal(["churn-c", "churn-b", "churn-a", "churn-d"], (await registry.ListAsync()).Select(m => m.Version));
        Assert.Equal(["churn-c", "churn-b"], (await registry.ListAsync(limit: 2)).Select(m => m.Version));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => registry.ListAsync(limit: 0));
    }

    [Fact]
    public async Task NoTruthMetrics_IsSqlNull_AndAnUnknownVersionIsNotFound()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var registry = new ChurnModelRegistry(dataSource);

        await registry.RegisterAsync(Model("churn-a", TrainedAt), CancellationToken.None);

        Assert.True(await TestDatabase.ScalarAsync<bool>(dataSource, "SELECT truth_metrics IS NULL FROM churn_models WHERE version = 'churn-a'"));
        Assert.Null((await registry.FindAsync("churn-a"))!.TruthMetrics);
        Assert.Null(await registry.FindAsync("churn-b"));
    }

    [Fact]
    public async Task Register_NotJson_IsRefusedByTheDatabase()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var registry = new ChurnModelRegistry(dataSource);

        var error = await Assert.ThrowsAsync<PostgresException>(() => registry.RegisterAsync(Model("churn-a", TrainedAt) with { Metrics = "auc=0.9" }, CancellationToken.None));

        Assert.Equal(PostgresErrorCodes.InvalidTextRepresentation, error.SqlState);
        Assert.Empty(await registry.ListAsync());
    }

    [Fact]
    public async Task Registry_FromAddAnalyticsStorage_WritesToTheMigratedDatabase()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["POSTGRES_CONNECTION"] = await fixture.Server.CreateDatabaseAsync() })
            .Build();
        await using var services = new ServiceCollection().AddLogging().AddAnalyticsStorage(configuration).BuildServiceProvider();
        await services.MigrateAnalyticsDatabaseAsync();
        var registry = services.GetRequiredService<ChurnModelRegistry>();

        Assert.True(await registry.RegisterAsync(Model("churn-a", TrainedAt), CancellationToken.None));

        Assert.Same(registry, services.GetRequiredService<ChurnModelRegistry>());
        Assert.Equal(1L, await TestDatabase.ScalarAsync<long>(services.GetRequiredService<NpgsqlDataSource>(), "SELECT count(*) FROM churn_models"));
    }

    private static ChurnModelRecord Model(string version, DateTimeOffset trainedAt) => new(
        version,
        trainedAt,
        new DateTimeOffset(2026, 6, 7, 0, 0, 0, TimeSpan.Zero),
        TimeSpan.FromDays(3),
        2_325,
        669,
        """{"auc":0.967,"accuracy":0.936,"precision":0.978,"recall":0.771,"f1":0.863,"logLoss":0.25}""",
        """{"auc":0.969,"accuracy":0.931,"precision":0.985,"recall":0.749,"f1":0.851,"logLoss":0.276}""",
        null,
        "/srv/models");
}
