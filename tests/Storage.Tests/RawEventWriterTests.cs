using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class RawEventWriterTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Write_NewEvents_ReturnsNumberInserted()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var events = Enumerable.Range(0, 250).Select(i => Raw(Event(i), offset: i)).ToArray();

        var inserted = await new RawEventWriter(dataSource).WriteAsync(events, CancellationToken.None);

        Assert.Equal(250, inserted);
        Assert.Equal(250L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM raw_events"));
    }

    [Fact]
    public async Task Write_SameEventsTwice_SecondInsertsNothingAndTableHoldsEachOnce()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new RawEventWriter(dataSource);
        var events = Enumerable.Range(0, 20).Select(i => Raw(Event(i), offset: i)).ToArray();

        var first = await writer.WriteAsync(events, CancellationToken.None);
        // A redelivery overlaps the first batch partly: only the new events count.
        var second = await writer.WriteAsync(events.Concat([Raw(Event(20), offset: 20)]).ToArray(), CancellationToken.None);

        Assert.Equal(20, first);
        Assert.Equal(1, second);
        Assert.Equal(21L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM raw_events"));
        Assert.Equal(21L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(DISTINCT event_id) FROM raw_events"));
    }

    [Fact]
    public async Task Write_DuplicateWithinBatch_IsStoredOnce()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var e = Event(1);

        var inserted = await new RawEventWriter(dataSource).WriteAsync([Raw(e, offset: 8), Raw(e, offset: 7)], CancellationToken.None);

        Assert.Equal(1, inserted);
        // The copy that came first in the log is kept, whatever the order in the batch.
        Assert.Equal(7L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT kafka_offset FROM raw_events"));
    }

    [Fact]
    public async Task Write_Values_RoundTrip()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var withLabels = Event(1) with
        {
            EventType = UserEventType.Purchase,
            Price = 1234567.8912345678m,
            // Not offset zero on purpose: the instant must be kept, not the wall-clock reading.
            EventTime = new DateTimeOffset(2026, 3, 1, 14, 30, 15, 123, TimeSpan.FromHours(2)),
            Device = "mobile",
            Channel = "email",
        };
        var bare = Event(2) with { Price = 0m, Device = null, Channel = null };

        await new RawEventWriter(dataSource).WriteAsync([Raw(withLabels, 3, 42), Raw(bare, 0, 43)], CancellationToken.None);

        var rows = await TestDatabase.ListAsync(
            dataSource,
            """
            SELECT event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel,
                   kafka_partition, kafka_offset, ingested_at
            FROM raw_events ORDER BY kafka_offset
            """,
            r => new
            {
                EventId = r.GetGuid(0),
                UserId = r.GetString(1),
                SessionId = r.GetString(2),
                EventType = r.GetString(3),
                ProductId = r.GetString(4),
                Category = r.GetString(5),
                Price = r.GetDecimal(6),
                EventTime = r.GetFieldValue<DateTimeOffset>(7),
                Device = r.IsDBNull(8) ? null : r.GetString(8),
                Channel = r.IsDBNull(9) ? null : r.GetString(9),
                Partition = r.GetInt32(10),
                Offset = r.GetInt64(11),
                IngestedAt = r.GetFieldValue<DateTimeOffset>(12),
            });

        Assert.Equal(2, rows.Count);
        var first = rows[0];
        Assert.Equal(withLabels.EventId, first.EventId);
        Assert.Equal(withLabels.UserId, first.UserId);
        Assert.Equal(withLabels.SessionId, first.SessionId);
        Assert.Equal("purchase", first.EventType);
        Assert.Equal(withLabels.ProductId, first.ProductId);
        Assert.Equal(withLabels.Category, first.Category);
        Assert.Equal(1234567.8912345678m, first.Price);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 12, 30, 15, 123, TimeSpan.Zero), first.EventTime);
        Assert.Equal(TimeSpan.Zero, first.EventTime.Offset);
        Assert.Equal("mobile", first.Device);
        Assert.Equal("email", first.Channel);
        Assert.Equal((3, 42L), (first.Partition, first.Offset));
        Assert.InRange(first.IngestedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));

        var second = rows[1];
        Assert.Equal("view", second.EventType);
        Assert.Equal(0m, second.Price);
        Assert.Null(second.Device);
        Assert.Null(second.Channel);
    }

    [Fact]
    public async Task Write_Empty_ReturnsZeroWithoutConnecting()
    {
        // Nothing listens there: any round trip would throw.
        await using var dataSource = TestDatabase.Unreachable(FreePorts.Next());

        Assert.Equal(0, await new RawEventWriter(dataSource).WriteAsync([], CancellationToken.None));
    }

    [Fact]
    public async Task Write_TextPostgresCannotStore_IsReplacedInsteadOfFailingTheBatch()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var awkward = Event(1) with { UserId = "user\0one", Category = "bad\ud800surrogate" };

        var inserted = await new RawEventWriter(dataSource).WriteAsync([Raw(awkward, 0, 1), Raw(Event(2), 0, 2)], CancellationToken.None);

        Assert.Equal(2, inserted);
        Assert.Equal("user\uFFFDone", await TestDatabase.ScalarAsync<string>(dataSource, "SELECT user_id FROM raw_events WHERE kafka_offset = 1"));
        Assert.Equal("bad\uFFFDsurrogate", await TestDatabase.ScalarAsync<string>(dataSource, "SELECT category FROM raw_events WHERE kafka_offset = 1"));
    }

    private static RawEvent Raw(UserEvent e, int partition = 0, long offset = 0) => new(e, partition, offset);

    private static UserEvent Event(int i) => new()
    {
        EventId = Guid.CreateVersion7(Start.AddSeconds(i)),
        UserId = $"user-{i % 7}",
        SessionId = $"session-{i % 3}",
        EventType = UserEventType.View,
        ProductId = $"product-{i}",
        Category = "books",
        Price = 9.99m + i,
        EventTime = Start.AddSeconds(i),
        Device = "desktop",
        Channel = null,
    };
}
