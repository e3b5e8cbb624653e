using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Users;

namespace Analytics.Grains.Tests.Users;

/// <summary><see cref="UserState.Apply"/> counts each event once: by Kafka position and by event id.</summary>
public sealed class UserStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DuplicateWindow Window = new(TimeSpan.FromHours(1), 256);

    private static UserEvent Purchase(int id, int minute, decimal price = 10m)
        => TestEvents.Create(id, "s-1", UserEventType.Purchase, $"p-{id}", "books", price, T0.AddMinutes(minute));

    /// <summary>Three events on partition 0 (offsets 10–12) and two on partition 1 (offsets 5–6).</summary>
    private static UserState StateWithFiveEvents()
    {
        var state = new UserState();
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(1, 0), (0, 10), Window));
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(2, 1), (0, 11), Window));
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(3, 2), (0, 12), Window));
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(4, 3), (1, 5), Window));
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(5, 4), (1, 6), Window));
        return state;
    }

    [Fact]
    public void Apply_NewEvents_AreCountedAndTheirOffsetsRecorded()
    {
        var state = StateWithFiveEvents();

        var summary = state.Behaviour.Summarize(TestEvents.UserId);
        Assert.Equal(5, summary.Purchases);
        Assert.Equal(50m, summary.TotalSpend);
        Assert.Equal(new Dictionary<(int Epoch, int Partition), long> { [(0, 0)] = 12, [(0, 1)] = 6 }, state.AppliedOffsets);
        Assert.Equal(5, state.RecentEventIds.Count);
    }

    [Theory]
    [InlineData(0, 12)] // the highest applied offset itself
    [InlineData(0, 11)]
    [InlineData(0, 0)]
    [InlineData(1, 6)]
    [InlineData(1, 5)]
    public void Apply_OffsetAtOrBelowApplied_IsReplayedAndChangesNothing(int partition, long offset)
    {
        var state = StateWithFiveEvents();
        var summaryBefore = state.Behaviour.Summarize(TestEvents.UserId);
        var featuresBefore = state.Behaviour.Features(TestEvents.UserId, T0.AddDays(1));
        var offsetsBefore = new Dictionary<(int Epoch, int Partition), long>(state.AppliedOffsets);
        var idsBefore = new Dictionary<Guid, long>(state.RecentEventIds);

        // A replay of an applied event, and an event never seen before: the position alone decides.
        var replayed = state.Apply(Purchase(1, 0), (partition, offset), Window);
        var unseenAtOldOffset = state.Apply(Purchase(99, 30, 1_000m), (partition, offset), Window);

        Assert.Equal(ApplyOutcome.Replayed, replayed);
        Assert.Equal(ApplyOutcome.Replayed, unseenAtOldOffset);
        Assert.Equal(summaryBefore, state.Behaviour.Summarize(TestEvents.UserId));
        Assert.Equal(featuresBefore, state.Behaviour.Features(TestEvents.UserId, T0.AddDays(1)));
        Assert.Equal(offsetsBefore, state.AppliedOffsets);
        Assert.Equal(idsBefore, state.RecentEventIds);
    }

    [Fact]
    public void Apply_DuplicateIdAtNewOffset_IsDuplicateAndOnlyAdvancesTheOffset()
    {
        var state = StateWithFiveEvents();
        var summaryBefore = state.Behaviour.Summarize(TestEvents.UserId);
        var idsBefore = new Dictionary<Guid, long>(state.RecentEventIds);

        // The producer sent event 2 again; the copy even differs in content, which must not matter.
        var outcome = state.Apply(Purchase(2, 7, 500m), (0, 13), Window);

        Assert.Equal(ApplyOutcome.Duplicate, outcome);
        Assert.Equal(summaryBefore, state.Behaviour.Summarize(TestEvents.UserId));
        Assert.Equal(idsBefore, state.RecentEventIds);
        Assert.Equal(new Dictionary<(int Epoch, int Partition), long> { [(0, 0)] = 13, [(0, 1)] = 6 }, state.AppliedOffsets);

        // Offset 13 is consumed: a redelivery of it is a replay, the next offset is new.
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(Purchase(6, 8), (0, 13), Window));
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(6, 8), (0, 14), Window));
        Assert.Equal(6, state.Behaviour.Summarize(TestEvents.UserId).Purchases);
    }

    [Fact]
    public void Apply_WithoutPosition_DeduplicatesById()
    {
        var state = StateWithFiveEvents();

        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(6, 5), null, Window));
        var summaryBefore = state.Behaviour.Summarize(TestEvents.UserId);

        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Purchase(6, 5), null, Window));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Purchase(1, 0), null, Window)); // first came from Kafka
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Purchase(6, 5), (2, 0), Window)); // came without a position

        Assert.Equal(summaryBefore, state.Behaviour.Summarize(TestEvents.UserId));
        Assert.Equal(6, summaryBefore.Purchases);
        Assert.Equal(new Dictionary<(int Epoch, int Partition), long> { [(0, 0)] = 12, [(0, 1)] = 6, [(0, 2)] = 0 }, state.AppliedOffsets);
    }

    [Fact]
    public void Apply_OffsetsArePerPartition()
    {
        var state = StateWithFiveEvents();

        // Offset 7 is below partition 0's 12 but above partition 1's 6; offset 0 on a new partition is new.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(6, 5), (1, 7), Window));
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(7, 6), (3, 0), Window));
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(Purchase(8, 7), (0, 7), Window));

        // A gap is fine (compacted or filtered offsets): 100 is above 12.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(9, 8), (0, 100), Window));
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(Purchase(10, 9), (0, 99), Window));

        Assert.Equal(new Dictionary<(int Epoch, int Partition), long> { [(0, 0)] = 100, [(0, 1)] = 7, [(0, 3)] = 0 }, state.AppliedOffsets);
        Assert.Equal(8, state.Behaviour.Summarize(TestEvents.UserId).Purchases); // 5 + events 6, 7 and 9
    }

    [Fact]
    public void Apply_NewTopicEpoch_StartsThePartitionsOffsetsAfresh_AndOldEpochReplaysStillDrop()
    {
        var state = StateWithFiveEvents();
        var before = state.Behaviour.Summarize(TestEvents.UserId);

        // Epoch 7 (a recreated topic): offset 0 of partition 0 is below what epoch 0 applied, yet new.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Purchase(20, 20), (0, 0), Window, epoch: 7));
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(Purchase(21, 21), (0, 0), Window, epoch: 7));
        Assert.Equal(0, state.AppliedOffset(0, epoch: 7));

        // The old epoch's position is kept: its events, read back from storage, are still known as applied.
        Assert.Equal(12, state.AppliedOffset(0, epoch: 0));
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(Purchase(1, 0), (0, 10), Window, epoch: 0));
        Assert.Equal(before.Purchases + 1, state.Behaviour.Summarize(TestEvents.UserId).Purchases);

        // Another partition keeps its own epoch and offsets.
        Assert.Equal(6, state.AppliedOffset(1, epoch: 0));
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(Purchase(22, 22), (1, 6), Window));
    }
}
