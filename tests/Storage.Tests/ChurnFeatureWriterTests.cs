using System.Globalization;
using Analytics.Grains.Interfaces.Users;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ChurnFeatureWriterTests(PostgresFixture fixture)
{
    /// <summary>Every column the writer fills, in the order <see cref="Read"/> expects.</summary>
    private const string Columns = """
        user_id, total_views, total_add_to_carts, total_purchases, session_count, avg_session_seconds,
        avg_events_per_session, first_event_time, last_event_time, seconds_since_last_event, total_spend,
        avg_order_value, distinct_products, distinct_categories, cart_abandonments, cart_to_purchase_ratio,
        favourite_category, events_last_7d, events_prev_7d, activity_trend, recency_days, frequency_per_day, monetary, as_of
        """;

    /// <summary>Microsecond precision (PostgreSQL keeps no more), sub-millisecond on purpose.</summary>
    private static readonly DateTimeOffset AsOf = new DateTimeOffset(2026, 3, 15, 9, 30, 0, TimeSpan.Zero).AddTicks(1_234_560);

    [Fact]
    public async Task Upsert_NewUsers_StoresEveryColumnAsGiven()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        ChurnFeatures[] rows =
        [
            WithoutEvents("user-empty-1", AsOf),
            Filled("user-full-1", AsOf),
            WithoutEvents("user-empty-2", AsOf.AddDays(-1).ToOffset(TimeSpan.FromHours(-7))),
            Filled("user-full-2", AsOf.AddTicks(-9_990).ToOffset(TimeSpan.FromHours(5.5))) with
            {
                // Extremes of what the types hold: every digit of a decimal, the smallest decimal step, a double's range.
                TotalSpend = 79228162514264337593543950335m,
                AvgOrderValue = 0.0000000000000000000000000001m,
                Monetary = -1234567890123456.789012345678m,
                AvgSessionSeconds = double.Epsilon,
                AvgEventsPerSession = double.MaxValue,
                CartToPurchaseRatio = 1.0 / 3.0,
                FavouriteCategory = "électronique / \"quoted\" 'x' ✓",
                TotalViews = long.MaxValue,
            },
        ];
        var before = await ServerNowAsync(dataSource);

        var written = await new ChurnFeatureWriter(dataSource).UpsertAsync(rows, CancellationToken.None);

        var after = await ServerNowAsync(dataSource);
        Assert.Equal(4, written);
        var stored = await ReadAllAsync(dataSource);
        Assert.Equal(rows.OrderBy(r => r.UserId, StringComparer.Ordinal), stored);
        Assert.All(stored, s =>
        {
            Assert.Equal(TimeSpan.Zero, s.AsOf.Offset);
            Assert.Equal(TimeSpan.Zero, s.FirstEventTime?.Offset ?? TimeSpan.Zero);
            Assert.Equal(TimeSpan.Zero, s.LastEventTime?.Offset ?? TimeSpan.Zero);
        });

        // The text PostgreSQL itself holds, not only what Npgsql reads back: numerics digit for digit, timestamps as UTC
        // instants to the microsecond.
        var text = await TestDatabase.ListAsync(
            dataSource,
            """
            SELECT user_id, total_spend::text, avg_order_value::text, monetary::text,
                   to_char(first_event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                   to_char(last_event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                   to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                   favourite_category IS NULL, updated_at
            FROM churn_features ORDER BY user_id COLLATE "C"
            """,
            r => (
                UserId: r.GetString(0),
                Numerics: (r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3)),
                Times: (r.IsDBNull(4) ? null : r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6)),
                NoCategory: r.GetBoolean(7),
                UpdatedAt: r.GetFieldValue<DateTimeOffset>(8)));
        var expected = rows.OrderBy(r => r.UserId, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(r => r.UserId), text.Select(t => t.UserId));
        for (var i = 0; i < expected.Count; i++)
        {
            var row = expected[i];
            Assert.Equal((Invariant(row.TotalSpend), Invariant(row.AvgOrderValue), Invariant(row.Monetary)), text[i].Numerics);
            Assert.Equal((Utc(row.FirstEventTime), Utc(row.LastEventTime), Utc(row.AsOf)), text[i].Times);
            Assert.Equal(row.FavouriteCategory is null, text[i].NoCategory);
            Assert.InRange(text[i].UpdatedAt, before, after);
        }

        Assert.Equal(
            ("2026-03-15T09:30:00.123456", "2026-03-15T09:30:00.122457"),
            (text.Single(t => t.UserId == "user-full-1").Times.Item3, text.Single(t => t.UserId == "user-full-2").Times.Item3));
        Assert.Equal("79228162514264337593543950335", text.Single(t => t.UserId == "user-full-2").Numerics.Item1);
        Assert.Equal("0.0000000000000000000000000001", text.Single(t => t.UserId == "user-full-2").Numerics.Item2);
        Assert.Null(text.Single(t => t.UserId == "user-empty-1").Numerics.Item2);
        Assert.Equal((null, null), (text.Single(t => t.UserId == "user-empty-1").Times.Item1, text.Single(t => t.UserId == "user-empty-1").Times.Item2));
    }

    [Fact]
    public async Task Upsert_NewerAsOf_ReplacesEveryColumn()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new ChurnFeatureWriter(dataSource);
        await writer.UpsertAsync(
            [Filled("filled-to-empty", AsOf), WithoutEvents("empty-to-filled", AsOf), Filled("filled-to-other", AsOf)],
            CancellationToken.None);
        var firstUpdatedAt = await UpdatedAtAsync(dataSource, "filled-to-other");
        ChurnFeatures[] newer =
        [
            // Values go back to NULL too, not only from NULL to a value.
            WithoutEvents("filled-to-empty", AsOf.AddSeconds(1)),
            Filled("empty-to-filled", AsOf.AddMicroseconds(1)),
            Other("filled-to-other", AsOf.AddDays(2)),
        ];
        var before = await ServerNowAsync(dataSource);

        var written = await writer.UpsertAsync(newer, CancellationToken.None);

        var after = await ServerNowAsync(dataSource);
        Assert.Equal(3, written);
        Assert.Equal(newer.OrderBy(r => r.UserId, StringComparer.Ordinal), await ReadAllAsync(dataSource));
        var updatedAt = await UpdatedAtAsync(dataSource, "filled-to-other");
        Assert.InRange(updatedAt, before, after);
        Assert.True(updatedAt > firstUpdatedAt, $"updated_at should move on from {firstUpdatedAt:O}, is {updatedAt:O}.");
    }

    [Fact]
    public async Task Upsert_OlderAsOf_LeavesStoredRowUnchanged()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new ChurnFeatureWriter(dataSource);
        var stored = Filled("user-1", AsOf);
        await writer.UpsertAsync([stored], CancellationToken.None);
        var snapshot = await RowJsonAsync(dataSource, "user-1");

        // A second activation of the user (a silo died) writes what it saw a microsecond earlier.
        var written = await writer.UpsertAsync([Other("user-1", AsOf.AddMicroseconds(-1))], CancellationToken.None);

        Assert.Equal(0, written);
        Assert.Equal(snapshot, await RowJsonAsync(dataSource, "user-1"));
        Assert.Equal([stored], await ReadAllAsync(dataSource));
    }

    [Fact]
    public async Task Upsert_MixedBatch_CountsOnlyRowsWritten()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new ChurnFeatureWriter(dataSource);
        var keptA = Filled("user-a", AsOf);
        await writer.UpsertAsync([keptA, Filled("user-b", AsOf), WithoutEvents("user-d", AsOf)], CancellationToken.None);
        var snapshotA = await RowJsonAsync(dataSource, "user-a");
        var snapshotD = await RowJsonAsync(dataSource, "user-d");
        var newerB = Other("user-b", AsOf.AddHours(1));
        var newC = Filled("user-c", AsOf.AddHours(-5));

        var written = await writer.UpsertAsync(
            [Other("user-a", AsOf.AddDays(-1)), newerB, newC, Filled("user-d", AsOf.AddTicks(-10))],
            CancellationToken.None);

        Assert.Equal(2, written);
        Assert.Equal([keptA, newerB, newC, WithoutEvents("user-d", AsOf)], await ReadAllAsync(dataSource));
        Assert.Equal(snapshotA, await RowJsonAsync(dataSource, "user-a"));
        Assert.Equal(snapshotD, await RowJsonAsync(dataSource, "user-d"));
    }

    [Fact]
    public async Task Upsert_Empty_ReturnsZeroWithoutConnecting()
    {
        await using var dataSource = TestDatabase.Unreachable(FreePorts.Next());

        Assert.Equal(0, await new ChurnFeatureWriter(dataSource).UpsertAsync([], CancellationToken.None));
    }

    [Fact]
    public async Task Upsert_Null_Throws()
    {
        await using var dataSource = TestDatabase.Unreachable(FreePorts.Next());

        await Assert.ThrowsAsync<ArgumentNullException>(() => new ChurnFeatureWriter(dataSource).UpsertAsync(null!, CancellationToken.None));
    }

    [Fact]
    public async Task Upsert_TenThousandUsers_GoInOneCall()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var rows = Enumerable.Range(0, 10_000)
            .Select(i => i % 3 == 0
                ? WithoutEvents($"user-{i:D5}", AsOf.AddMicroseconds(i))
                : Filled($"user-{i:D5}", AsOf.AddMicroseconds(i)) with { TotalViews = i, TotalSpend = i + 0.01m })
            .ToList();

        var written = await new ChurnFeatureWriter(dataSource).UpsertAsync(rows, CancellationToken.None);

        Assert.Equal(10_000, written);
        Assert.Equal(10_000L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM churn_features"));
        Assert.Equal(10_000L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(DISTINCT user_id) FROM churn_features"));
        Assert.Equal(rows, await ReadAllAsync(dataSource));
    }

    [Fact]
    public async Task Upsert_WriterFromAddAnalyticsStorage_WritesToTheMigratedDatabase()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["POSTGRES_CONNECTION"] = await fixture.Server.CreateDatabaseAsync() })
            .Build();
        await using var services = new ServiceCollection().AddLogging().AddAnalyticsStorage(configuration).BuildServiceProvider();
        await services.MigrateAnalyticsDatabaseAsync();
        var row = Filled("user-1", AsOf);

        var written = await services.GetRequiredService<ChurnFeatureWriter>().UpsertAsync([row], CancellationToken.None);

        Assert.Equal(1, written);
        Assert.Equal([row], await ReadAllAsync(services.GetRequiredService<NpgsqlDataSource>()));
    }

    /// <summary>A user whose grain saw no events: every nullable feature NULL, every count zero.</summary>
    private static ChurnFeatures WithoutEvents(string userId, DateTimeOffset asOf) => new() { UserId = userId, AsOf = asOf };

    /// <summary>Every column filled; the times have microsecond precision and, on purpose, an offset other than UTC.</summary>
    private static ChurnFeatures Filled(string userId, DateTimeOffset asOf) => new()
    {
        UserId = userId,
        AsOf = asOf,
        TotalViews = 1_234,
        TotalAddToCarts = 56,
        TotalPurchases = 7,
        SessionCount = 89,
        AvgSessionSeconds = 312.7654321098765,
        AvgEventsPerSession = 14.617977528089888,
        FirstEventTime = asOf.AddDays(-40).AddTicks(-7_654_320).ToOffset(TimeSpan.FromHours(2)),
        LastEventTime = asOf.AddHours(-3).AddTicks(-10).ToOffset(TimeSpan.FromHours(-3.5)),
        SecondsSinceLastEvent = 10_800.000001,
        TotalSpend = 98765432109876.5432109876543m,
        AvgOrderValue = 14109347444268.0776015696649m,
        DistinctProducts = 321,
        DistinctCategories = 12,
        CartAbandonments = 49,
        CartToPurchaseRatio = 0.125,
        FavouriteCategory = "electronics.smartphone",
        EventsLast7Days = 101,
        EventsPrevious7Days = 37,
        ActivityTrend = 0.463768115942029,
        RecencyDays = 0.12500001157407407,
        FrequencyPerDay = 34.65,
        Monetary = 98765432109876.5432109876543m,
    };

    /// <summary>Different from <see cref="Filled"/> in every column but the user.</summary>
    private static ChurnFeatures Other(string userId, DateTimeOffset asOf) => new()
    {
        UserId = userId,
        AsOf = asOf,
        TotalViews = 2,
        TotalAddToCarts = 3,
        TotalPurchases = 1,
        SessionCount = 4,
        AvgSessionSeconds = 0.5,
        AvgEventsPerSession = 1.25,
        FirstEventTime = asOf.AddDays(-1).AddMicroseconds(3),
        LastEventTime = asOf.AddMinutes(-1).AddMicroseconds(999),
        SecondsSinceLastEvent = 59.999001,
        TotalSpend = 0.1m,
        AvgOrderValue = 0.1m,
        DistinctProducts = 2,
        DistinctCategories = 1,
        CartAbandonments = 2,
        CartToPurchaseRatio = 1.0 / 3.0,
        FavouriteCategory = "books",
        EventsLast7Days = 9,
        EventsPrevious7Days = 0,
        ActivityTrend = 1,
        RecencyDays = 0.000694433,
        FrequencyPerDay = 9,
        Monetary = 0.1m,
    };

    private static Task<List<ChurnFeatures>> ReadAllAsync(NpgsqlDataSource dataSource)
        => TestDatabase.ListAsync(dataSource, $"SELECT {Columns} FROM churn_features ORDER BY user_id COLLATE \"C\"", Read);

    private static ChurnFeatures Read(NpgsqlDataReader r) => new()
    {
        UserId = r.GetString(0),
        TotalViews = r.GetInt64(1),
        TotalAddToCarts = r.GetInt64(2),
        TotalPurchases = r.GetInt64(3),
        SessionCount = r.GetInt64(4),
        AvgSessionSeconds = Nullable<double>(r, 5),
        AvgEventsPerSession = Nullable<double>(r, 6),
        FirstEventTime = Nullable<DateTimeOffset>(r, 7),
        LastEventTime = Nullable<DateTimeOffset>(r, 8),
        SecondsSinceLastEvent = Nullable<double>(r, 9),
        TotalSpend = r.GetDecimal(10),
        AvgOrderValue = Nullable<decimal>(r, 11),
        DistinctProducts = r.GetInt64(12),
        DistinctCategories = r.GetInt64(13),
        CartAbandonments = r.GetInt64(14),
        CartToPurchaseRatio = Nullable<double>(r, 15),
        FavouriteCategory = r.IsDBNull(16) ? null : r.GetString(16),
        EventsLast7Days = r.GetInt64(17),
        EventsPrevious7Days = r.GetInt64(18),
        ActivityTrend = r.GetDouble(19),
        RecencyDays = Nullable<double>(r, 20),
        FrequencyPerDay = r.GetDouble(21),
        Monetary = r.GetDecimal(22),
        AsOf = r.GetFieldValue<DateTimeOffset>(23),
    };

    private static T? Nullable<T>(NpgsqlDataReader r, int ordinal) where T : struct
        => r.IsDBNull(ordinal) ? null : r.GetFieldValue<T>(ordinal);

    /// <summary>The whole stored row as PostgreSQL prints it, <c>updated_at</c> included.</summary>
    private static async Task<string> RowJsonAsync(NpgsqlDataSource dataSource, string userId)
        => await TestDatabase.ScalarAsync<string>(dataSource, "SELECT row_to_json(c)::text FROM churn_features c WHERE user_id = @user", ("user", userId))
           ?? throw new InvalidOperationException($"No row for {userId}.");

    private static async Task<DateTimeOffset> UpdatedAtAsync(NpgsqlDataSource dataSource, string userId)
        => (await TestDatabase.ListAsync(
            dataSource,
            "SELECT updated_at FROM churn_features WHERE user_id = @user",
            r => r.GetFieldValue<DateTimeOffset>(0),
            ("user", userId))).Single();

    /// <summary>The server's clock (a statement's <c>now()</c> is its transaction's start).</summary>
    private static async Task<DateTimeOffset> ServerNowAsync(NpgsqlDataSource dataSource)
        => (await TestDatabase.ListAsync(dataSource, "SELECT now()", r => r.GetFieldValue<DateTimeOffset>(0))).Single();

    private static string? Invariant(decimal? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Utc(DateTimeOffset? value) => value?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
}
