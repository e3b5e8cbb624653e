using Analytics.Grains.Interfaces.Funnel;
using Analytics.TestInfrastructure;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class FunnelStoreTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Upsert_OpenWindowGrows_OlderSnapshotNeverShrinksIt_FinalRowFrozenButLateEventsGrow()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var store = new FunnelStore(dataSource);
        var first = Window(views: 10, carts: 3, purchases: 1, revenue: 12.5m);
        var second = Window(views: 20, carts: 6, purchases: 2, revenue: 30m);

        await store.UpsertAsync([first], CancellationToken.None);
        Assert.Equal(Flat(first), Flat(await ReadAsync(store)));
        await store.UpsertAsync([second], CancellationToken.None);
        await store.UpsertAsync([first], CancellationToken.None); // an older snapshot arriving late (another silo)
        Assert.Equal(Flat(second), Flat(await ReadAsync(store)));

        var final = second with { IsFinal = true };
        await store.UpsertAsync([final], CancellationToken.None);
        Assert.Equal(Flat(final), Flat(await ReadAsync(store)));

        // A final row never changes its counts again (a window finalised twice after a crash, with other counts); its
        // late events still grow.
        var other = Window(views: 25, carts: 7, purchases: 3, revenue: 40m) with { IsFinal = true, LateEvents = 4 };
        await store.UpsertAsync([other], CancellationToken.None);
        Assert.Equal(Flat(final with { LateEvents = 4 }), Flat(await ReadAsync(store)));
        Assert.Equal(1L, await ScalarAsync(dataSource, "select count(*) from funnel_summary where finalised_at is not null"));
        Assert.Equal(0.3, await ScalarAsync<double>(dataSource, "select cart_rate from funnel_summary"), 10);
        Assert.Equal(0.1, await ScalarAsync<double>(dataSource, "select conversion_rate from funnel_summary"), 10);
    }

    [Fact]
    public async Task ReadRecent_OnlyWindowsFromTheGivenStart_OldestFirst_WithTheirBreakdowns()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var store = new FunnelStore(dataSource);
        var windows = Enumerable.Range(0, 5).Select(i => Window(views: i + 1, carts: i, purchases: 0, revenue: 0m) with
        {
            WindowStart = Start.AddMinutes(10 * i),
            WindowEnd = Start.AddMinutes(10 * (i + 1)),
        }).ToList();
        await store.UpsertAsync(windows, CancellationToken.None);

        var recent = await store.ReadRecentAsync(Start.AddMinutes(20), CancellationToken.None);

        Assert.Equal(windows.Skip(2).Select(Flat), recent.Select(Flat));
    }

    private static FunnelWindowSnapshot Window(long views, long carts, long purchases, decimal revenue)
    {
        var total = new FunnelStepCounts
        {
            Views = views,
            AddToCarts = carts,
            Purchases = purchases,
            Revenue = revenue,
            UniqueViewers = views / 2,
            UniqueCarters = carts,
            UniquePurchasers = purchases,
        };
        return new FunnelWindowSnapshot
        {
            WindowStart = Start,
            WindowEnd = Start.AddMinutes(10),
            Total = total,
            ByCategory = new SortedDictionary<string, FunnelStepCounts>(StringComparer.Ordinal)
            {
                ["books"] = total with { Views = views - 1 },
                ["toys"] = new FunnelStepCounts { Views = 1, UniqueViewers = 1 },
            },
            ByDevice = new SortedDictionary<string, FunnelStepCounts>(StringComparer.Ordinal) { ["mobile"] = total },
            Users = views / 2,
        };
    }

    /// <summary>A snapshot as a comparable string (records compare dictionaries by reference).</summary>
    private static string Flat(FunnelWindowSnapshot w)
        => $"{w.WindowStart:O}..{w.WindowEnd:O} {w.Total} late {w.LateEvents} final {w.IsFinal} users {w.Users} "
            + $"category [{string.Join("; ", w.ByCategory.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}"))}] "
            + $"device [{string.Join("; ", w.ByDevice.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}: {d.Value}"))}]";

    private static async Task<FunnelWindowSnapshot> ReadAsync(FunnelStore store)
        => Assert.Single(await store.ReadRecentAsync(Start, CancellationToken.None));

    private static Task<long> ScalarAsync(Npgsql.NpgsqlDataSource dataSource, string sql) => ScalarAsync<long>(dataSource, sql);

    private static async Task<T> ScalarAsync<T>(Npgsql.NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
