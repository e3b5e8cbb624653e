using Analytics.Grains.Users;

namespace Analytics.Grains.Tests.Users;

/// <summary>The bounds of <see cref="DuplicateWindow"/>: how long and how many ids <see cref="UserState"/> remembers.</summary>
public sealed class DuplicateWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ExpiredIds_AreForgottenOnlyWhenThe32ndIdIsAdded()
    {
        var window = new DuplicateWindow(TimeSpan.FromHours(1), 1_000);
        var state = new UserState();
        var old = TestEvents.View(1, T0);
        Assert.Equal(ApplyOutcome.Applied, state.Apply(old, null, window));

        // 30 events two hours later: event 1 is past the span, but with 31 ids and room left there is no pruning.
        for (var id = 2; id <= 31; id++) Assert.Equal(ApplyOutcome.Applied, state.Apply(TestEvents.View(id, T0.AddHours(2).AddSeconds(id)), null, window));
        Assert.Equal(31, state.RecentEventIds.Count);
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(old, null, window));

        // The 32nd id triggers pruning: event 1 (2 h older than the latest, span 1 h) goes, the 31 recent stay.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(TestEvents.View(32, T0.AddHours(2).AddMinutes(30)), null, window));
        Assert.Equal(31, state.RecentEventIds.Count);
        Assert.DoesNotContain(TestEvents.Id(1), state.RecentEventIds.Keys);
        Assert.Equal(Enumerable.Range(2, 31).Select(TestEvents.Id).Order(), state.RecentEventIds.Keys.Order());

        // Forgotten means a late copy counts again: the documented price of bounded memory.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(old, null, window));
        Assert.Equal(33, state.Behaviour.Summarize(TestEvents.UserId).TotalEvents);
    }

    [Fact]
    public void ExpiredIds_AreForgottenWhenCapacityIsExceeded()
    {
        var window = new DuplicateWindow(TimeSpan.FromHours(1), 5);
        var state = new UserState();
        state.Apply(TestEvents.View(1, T0), null, window);
        state.Apply(TestEvents.View(2, T0.AddMinutes(10)), null, window);
        for (var id = 3; id <= 5; id++) state.Apply(TestEvents.View(id, T0.AddHours(3).AddMinutes(id)), null, window);

        // Five ids, at capacity but not over: nothing pruned even though events 1 and 2 are past the span.
        Assert.Equal(5, state.RecentEventIds.Count);
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(TestEvents.View(2, T0.AddMinutes(10)), null, window));

        // The sixth id is over capacity: pruning drops both expired ids (capacity alone would drop only one).
        state.Apply(TestEvents.View(6, T0.AddHours(3).AddMinutes(6)), null, window);

        Assert.Equal(Enumerable.Range(3, 4).Select(TestEvents.Id).Order(), state.RecentEventIds.Keys.Order());
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 10)]
    [InlineData(3, 1)]
    [InlineData(4, 31)]
    [InlineData(5, 64)]
    public void Capacity_KeepsAtMostTheNewestIdsByEventTime(int seed, int capacity)
    {
        // A span far longer than the stream, so only the capacity limits memory.
        var window = new DuplicateWindow(TimeSpan.FromDays(365), capacity);
        var times = Enumerable.Range(1, 300).ToArray();
        new Random(seed).Shuffle(times);
        var events = times.Select(minute => TestEvents.View(minute, T0.AddMinutes(minute))).ToArray();
        var state = new UserState();

        for (var i = 0; i < events.Length; i++)
        {
            Assert.Equal(ApplyOutcome.Applied, state.Apply(events[i], (0, i), window));
            Assert.InRange(state.RecentEventIds.Count, Math.Min(i + 1, capacity), capacity);
        }

        // Event ids were made from the minute, so the newest ids are those of the last minutes.
        var newest = Enumerable.Range(300 - capacity + 1, capacity).Select(TestEvents.Id).Order();
        Assert.Equal(newest, state.RecentEventIds.Keys.Order());

        // A duplicate of a remembered event is caught at a new offset and changes nothing but the offset.
        var summary = state.Behaviour.Summarize(TestEvents.UserId);
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(TestEvents.View(300, T0.AddMinutes(300)), (0, 300), window));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(TestEvents.View(300 - capacity + 1, T0.AddMinutes(300 - capacity + 1)), null, window));
        Assert.Equal(summary, state.Behaviour.Summarize(TestEvents.UserId));
        Assert.Equal(300, state.AppliedOffsets[(0, 0)]);
        Assert.Equal(300, summary.TotalEvents);
    }

    [Fact]
    public void Capacity_EventOlderThanEveryRememberedIdIsForgottenAtOnce()
    {
        var window = new DuplicateWindow(TimeSpan.FromDays(365), 3);
        var state = new UserState();
        for (var id = 10; id <= 12; id++) state.Apply(TestEvents.View(id, T0.AddMinutes(id)), null, window);

        // A late event older than all three remembered: it counts, and it is the one dropped to stay within capacity.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(TestEvents.View(1, T0.AddMinutes(1)), null, window));

        Assert.Equal(new[] { 10, 11, 12 }.Select(TestEvents.Id).Order(), state.RecentEventIds.Keys.Order());
        Assert.Equal(4, state.Behaviour.Summarize(TestEvents.UserId).TotalEvents);
    }

    [Fact]
    public void DuplicateWithinSpan_IsCaughtAfterPruning()
    {
        var window = new DuplicateWindow(TimeSpan.FromMinutes(30), 1_000);
        var state = new UserState();

        // 96 events a minute apart; pruning ran at 32, 64 and 96 ids, each time dropping ids more than 30 min old.
        for (var id = 1; id <= 96; id++) state.Apply(TestEvents.View(id, T0.AddMinutes(id)), null, window);
        var summary = state.Behaviour.Summarize(TestEvents.UserId);

        // Latest is minute 96: minute 66 is exactly 30 min older, 67 within. Whatever the boundary, 80 is remembered.
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(TestEvents.View(80, T0.AddMinutes(80)), null, window));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(TestEvents.View(67, T0.AddMinutes(67)), null, window));
        Assert.Equal(summary, state.Behaviour.Summarize(TestEvents.UserId));
        Assert.DoesNotContain(TestEvents.Id(65), state.RecentEventIds.Keys);
        Assert.InRange(state.RecentEventIds.Count, 30, 31);
    }
}
