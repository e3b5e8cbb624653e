using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Users;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Churn.Tests;

/// <summary>The point-in-time data set, built from a real PostgreSQL with the silo's own storage wiring.</summary>
public sealed class ChurnDatasetBuilderTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly DateTimeOffset Cutoff = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(7);

    [Fact]
    public async Task EventsAfterTheCutoff_ChangeNoFeature_OnlyTheLabels()
    {
        await using var services = await MigratedStorageAsync();
        var before = History();
        await StoreAsync(services, before);
        // A marker far enough ahead that the horizon is covered by data.
        await StoreAsync(services, [Event("zed", Cutoff + Horizon + TimeSpan.FromDays(1))]);
        var builder = new ChurnDatasetBuilder(services.GetRequiredService<ChurnHistoryReader>());
        var first = await builder.BuildAsync(Cutoff, Horizon);

        // Later events of known users, and new users, all after the cutoff: big spenders, other categories, sessions.
        await StoreAsync(services,
        [
            Event("alice", Cutoff.AddHours(1), UserEventType.Purchase, 500m, "luxury"),
            Event("bob", Cutoff.AddSeconds(1)),
            Event("bob", Cutoff.AddDays(3), UserEventType.AddToCart),
            Event("newcomer", Cutoff.AddDays(2), UserEventType.Purchase, 20m),
        ]);
        var second = await builder.BuildAsync(Cutoff, Horizon);

        Assert.Equal(first.Select(e => e.Features), second.Select(e => e.Features));
        Assert.DoesNotContain(second, e => e.Features.UserId == "newcomer");
        Assert.Equal(
            [("alice", true), ("bob", true), ("carol", false)],
            first.Select(e => (e.Features.UserId, e.Churned)));
        Assert.Equal(
            [("alice", false), ("bob", false), ("carol", false)],
            second.Select(e => (e.Features.UserId, e.Churned)));
    }

    [Fact]
    public async Task FeaturesAreTheUserGrainsOwn_AsOfTheCutoff_LabelsFollowTheHorizonExactly()
    {
        await using var services = await MigratedStorageAsync();
        var history = History();
        var future = new List<UserEvent>
        {
            Event("carol", Cutoff + Horizon), // exactly at T + H: active, not churned
            Event("dave", Cutoff + Horizon + TimeSpan.FromSeconds(1)), // just after: churned
        };
        await StoreAsync(services, [.. history, Event("dave", Cutoff.AddDays(-1)), .. future]);

        var examples = await new ChurnDatasetBuilder(services.GetRequiredService<ChurnHistoryReader>()).BuildAsync(Cutoff, Horizon);

        // What a user grain that had received exactly the events up to the cutoff would serve as of the cutoff.
        var upToCutoff = history.Append(Event("dave", Cutoff.AddDays(-1))).Where(e => e.EventTime <= Cutoff).ToList();
        foreach (var example in examples)
        {
            var reference = new UserBehaviour();
            foreach (var e in upToCutoff.Where(e => e.UserId == example.Features.UserId)) reference.Apply(e);
            Assert.Equal(reference.Features(example.Features.UserId, Cutoff), example.Features);
        }

        Assert.Equal(
            [("alice", true), ("bob", true), ("carol", false), ("dave", true)],
            examples.Select(e => (e.Features.UserId, e.Churned)));
    }

    [Fact]
    public async Task HorizonPastTheNewestEvent_IsRefusedWithTheLatestPossibleCutoff()
    {
        await using var services = await MigratedStorageAsync();
        await StoreAsync(services, History());
        var builder = new ChurnDatasetBuilder(services.GetRequiredService<ChurnHistoryReader>());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => builder.BuildAsync(Cutoff, Horizon));

        Assert.Contains("the data ends", error.Message, StringComparison.Ordinal);
        Assert.Contains((Cutoff.AddDays(2) - Horizon).ToString("O"), error.Message, StringComparison.Ordinal);
    }

    /// <summary>alice and bob active only before the cutoff, carol before and (in some tests) after it.</summary>
    private static List<UserEvent> History() =>
    [
        Event("alice", Cutoff.AddDays(-20)),
        Event("alice", Cutoff.AddDays(-19), UserEventType.AddToCart),
        Event("alice", Cutoff.AddDays(-19).AddMinutes(5), UserEventType.Purchase, 42.5m),
        Event("bob", Cutoff.AddDays(-3)),
        Event("bob", Cutoff, UserEventType.AddToCart), // at the cutoff: included
        Event("carol", Cutoff.AddDays(-10), category: "toys"),
        Event("carol", Cutoff.AddDays(2)),
    ];

    private static UserEvent Event(string user, DateTimeOffset at, UserEventType type = UserEventType.View, decimal price = 10m, string category = "books") => new()
    {
        EventId = Guid.NewGuid(),
        UserId = user,
        SessionId = $"{user}-{at:yyyyMMdd}",
        EventType = type,
        ProductId = "p-1",
        Category = category,
        Price = price,
        EventTime = at,
    };

    private async Task<ServiceProvider> MigratedStorageAsync()
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddAnalyticsStorage(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:ConnectionString"] = await postgres.Server.CreateDatabaseAsync() })
                .Build())
            .BuildServiceProvider();
        await services.MigrateAnalyticsDatabaseAsync();
        return services;
    }

    private static async Task StoreAsync(IServiceProvider services, IEnumerable<UserEvent> events)
    {
        var offset = 0L;
        await services.GetRequiredService<RawEventWriter>().WriteAsync([.. events.Select(e => new RawEvent(e, 0, offset++))], CancellationToken.None);
    }
}
