using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class IngestionBatchWriterTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Write_EventsAndDeadLetters_StoresBothAndCountsOnlyNewRows()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new IngestionBatchWriter(dataSource);
        RawEvent[] events = [new(Event(1), 0, 10), new(Event(2), 0, 11)];
        DeadLetter[] letters = [new("user_events", 0, 12, [0x7B], "InvalidJson: x", Start)];

        var first = await writer.WriteAsync(events, letters, CancellationToken.None);
        var again = await writer.WriteAsync(events, letters, CancellationToken.None);

        Assert.Equal(new IngestionBatchResult(2, 1), first);
        Assert.Equal(new IngestionBatchResult(0, 0), again);
        Assert.Equal(2L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM raw_events"));
        Assert.Equal(1L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM dead_letters"));
    }

    [Fact]
    public async Task Write_WhenOnePartFails_StoresNeither()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        var writer = new IngestionBatchWriter(dataSource);
        // A table constraint refuses the dead letter (the topic may not be NULL): the events of the same batch must not stay.
        DeadLetter[] badLetters = [new(null!, 0, 12, [0x7B], "InvalidJson: x", Start)];

        await Assert.ThrowsAnyAsync<Exception>(() => writer.WriteAsync([new RawEvent(Event(1), 0, 10)], badLetters, CancellationToken.None));

        Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM raw_events"));
    }

    private static UserEvent Event(int i) => new()
    {
        EventId = Guid.CreateVersion7(Start.AddSeconds(i)),
        UserId = $"user_{i}",
        SessionId = $"s-{i}",
        EventType = UserEventType.View,
        ProductId = "p_0001",
        Category = "books",
        Price = 9.99m,
        EventTime = Start.AddSeconds(i),
    };
}
