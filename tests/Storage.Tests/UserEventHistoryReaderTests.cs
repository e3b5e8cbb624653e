using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;

namespace Analytics.Storage.Tests;

/// <summary>Reading a user's events back from raw_events beyond what a grain's stored state holds.</summary>
[Collection(PostgresCollection.Name)]
public sealed class UserEventHistoryReaderTests(PostgresFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ReadUnapplied_ReturnsExactlyTheUsersEventsBeyondTheAppliedPositions_InLogOrder_AsStored()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        // User u1: partition 0 of epoch 5 (offsets 10, 11, 12), partition 1 of epoch 5 (offset 3), partition 0 of the
        // old epoch 0 (offset 40); another user in between.
        RawEvent[] stored =
        [
            new(Event(1, "u1", UserEventType.View), 0, 10, 5),
            new(Event(2, "u2", UserEventType.View), 0, 11, 5),
            new(Event(3, "u1", UserEventType.AddToCart, device: null), 0, 12, 5),
            new(Event(4, "u1", UserEventType.Purchase), 1, 3, 5),
            new(Event(5, "u1", UserEventType.View), 0, 40, 0),
            new(Event(6, "u1", UserEventType.View), 0, 13, 5),
        ];
        await new RawEventWriter(dataSource).WriteAsync(stored, CancellationToken.None);
        var reader = new UserEventHistoryReader(dataSource);

        // Nothing applied: every event of u1, ordered by epoch, partition, offset, exactly as written.
        var all = await reader.ReadUnappliedAsync("u1", [], CancellationToken.None);
        Assert.Equal([(0, 0, 40L), (5, 0, 10L), (5, 0, 12L), (5, 0, 13L), (5, 1, 3L)], all.Select(e => (e.KafkaEpoch, e.KafkaPartition, e.KafkaOffset)));
        Assert.Equal(stored.Where(r => r.Event.UserId == "u1").OrderBy(r => r.KafkaEpoch).ThenBy(r => r.KafkaPartition).ThenBy(r => r.KafkaOffset).Select(r => r.Event), all.Select(e => e.Event));

        // Applied up to 12 in (5, 0) and everything of the old epoch: only 13 of (5, 0), and (5, 1), which is unknown.
        var beyond = await reader.ReadUnappliedAsync("u1", [new AppliedPosition(5, 0, 12), new AppliedPosition(0, 0, 40)], CancellationToken.None);
        Assert.Equal([(5, 0, 13L), (5, 1, 3L)], beyond.Select(e => (e.KafkaEpoch, e.KafkaPartition, e.KafkaOffset)));

        // Everything applied, and an unknown user: nothing.
        Assert.Empty(await reader.ReadUnappliedAsync("u1", [new AppliedPosition(5, 0, 13), new AppliedPosition(5, 1, 3), new AppliedPosition(0, 0, 40)], CancellationToken.None));
        Assert.Empty(await reader.ReadUnappliedAsync("nobody", [], CancellationToken.None));
    }

    private static UserEvent Event(int n, string user, UserEventType type, string? device = "mobile") => new()
    {
        EventId = new Guid(n, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]),
        UserId = user,
        SessionId = "s-" + user,
        EventType = type,
        ProductId = $"p-{n}",
        Category = "books",
        Price = 10.25m + n,
        EventTime = T0.AddMilliseconds(n * 1_500),
        Device = device,
        Channel = n % 2 == 0 ? null : "email",
    };
}
