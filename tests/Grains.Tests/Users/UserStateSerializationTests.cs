using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Analytics.Grains.Tests.Users;

/// <summary><see cref="UserState"/> is persisted by Orleans: a round trip must keep every fact and the deduplication.</summary>
public sealed class UserStateSerializationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 2, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DuplicateWindow Window = new(TimeSpan.FromDays(2), 40);

    private static readonly Serializer Serializer =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private static T RoundTrip<T>(T value)
    {
        var copy = Serializer.Deserialize<T>(Serializer.SerializeToArray(value));
        Assert.NotNull(copy);
        return copy;
    }

    /// <summary>60 events over 30 days on two partitions and without a position, with duplicates and replays among them.</summary>
    private static UserState BuildState()
    {
        var state = new UserState();
        var types = new[] { UserEventType.View, UserEventType.View, UserEventType.AddToCart, UserEventType.Purchase };
        var offsets = new long[2];
        for (var id = 1; id <= 60; id++)
        {
            var userEvent = TestEvents.Create(
                id, $"s-{id / 5}", types[id % types.Length], $"p-{id % 9}", $"c-{id % 4}", 5m + (id * 0.25m), T0.AddHours(id * 12));
            var outcome = id % 6 == 0 ? state.Apply(userEvent, null, Window) : state.Apply(userEvent, (id % 2, offsets[id % 2]++), Window);
            Assert.Equal(ApplyOutcome.Applied, outcome);
        }

        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(TestEvents.View(60, T0), (0, offsets[0]++), Window));
        Assert.Equal(ApplyOutcome.Replayed, state.Apply(TestEvents.View(61, T0), (1, 0), Window));
        return state;
    }

    [Fact]
    public void RoundTrip_KeepsSummaryFeaturesOffsetsAndIds()
    {
        var original = BuildState();
        var asOf = T0.AddDays(33);

        var copy = RoundTrip(original);

        Assert.NotSame(original, copy);
        Assert.Equal(original.Behaviour.Summarize(TestEvents.UserId), copy.Behaviour.Summarize(TestEvents.UserId));
        Assert.Equal(original.Behaviour.Features(TestEvents.UserId, asOf), copy.Behaviour.Features(TestEvents.UserId, asOf));
        Assert.Equal(original.AppliedOffsets, copy.AppliedOffsets);
        Assert.Equal(original.RecentEventIds, copy.RecentEventIds);
        Assert.Equal(original.Behaviour.RecentEventTicks, copy.Behaviour.RecentEventTicks);
        Assert.Equal(60, copy.Behaviour.Summarize(TestEvents.UserId).TotalEvents);
        Assert.NotEqual(0, copy.Behaviour.Features(TestEvents.UserId, asOf).EventsPrevious7Days);
    }

    [Fact]
    public void RoundTrip_KeepsDeduplicatingAndAggregating()
    {
        var original = BuildState();
        var copy = RoundTrip(original);
        var summaryBefore = copy.Behaviour.Summarize(TestEvents.UserId);
        var replayOffset = copy.AppliedOffsets[(0, 1)];
        var nextOffset = copy.AppliedOffsets[(0, 0)] + 1;

        Assert.Equal(ApplyOutcome.Replayed, copy.Apply(TestEvents.View(100, T0.AddDays(31)), (1, replayOffset), Window));
        Assert.Equal(ApplyOutcome.Duplicate, copy.Apply(TestEvents.View(59, T0.AddDays(31)), (0, nextOffset), Window));
        Assert.Equal(ApplyOutcome.Duplicate, copy.Apply(TestEvents.View(60, T0.AddDays(31)), null, Window));
        Assert.Equal(summaryBefore, copy.Behaviour.Summarize(TestEvents.UserId));

        // The same new events applied to both keep them equal: the copy aggregates like the original.
        foreach (var state in new[] { original, copy })
        {
            Assert.Equal(ApplyOutcome.Applied, state.Apply(
                TestEvents.Create(101, "s-new", UserEventType.Purchase, "p-new", "c-new", 42m, T0.AddDays(31)), (0, nextOffset + 1), Window));
            Assert.Equal(ApplyOutcome.Applied, state.Apply(
                TestEvents.Create(102, "s-1", UserEventType.View, "p-1", "c-1", 5m, T0.AddDays(-1)), null, Window));
        }

        var asOf = T0.AddDays(35);
        Assert.Equal(original.Behaviour.Summarize(TestEvents.UserId), copy.Behaviour.Summarize(TestEvents.UserId));
        Assert.Equal(original.Behaviour.Features(TestEvents.UserId, asOf), copy.Behaviour.Features(TestEvents.UserId, asOf));
        Assert.Equal(62, copy.Behaviour.Summarize(TestEvents.UserId).TotalEvents);
        Assert.Equal(T0.AddDays(-1), copy.Behaviour.Summarize(TestEvents.UserId).FirstEventTime);
    }

    [Fact]
    public void RoundTrip_ContractsCompareEqual()
    {
        var behaviour = BuildState().Behaviour;
        var summary = behaviour.Summarize(TestEvents.UserId);
        var features = behaviour.Features(TestEvents.UserId, T0.AddDays(33));

        Assert.Equal(summary, RoundTrip(summary));
        Assert.Equal(features, RoundTrip(features));
    }
}
