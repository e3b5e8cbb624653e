using Analytics.Grains.Funnel;

namespace Analytics.Grains.Tests.Funnel;

/// <summary>
/// <see cref="WatermarkState"/>: min over the active partitions of their highest event time, minus the lateness; never
/// backwards. Event times are <see cref="E"/> (minutes after 12:00), processing times <see cref="P"/> (seconds after
/// 09:00 the same day), so the two clocks are never confused.
/// </summary>
public sealed class WatermarkStateTests
{
    private static readonly TimeSpan Lateness = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Event time: 2026-04-01 12:00Z plus <paramref name="minutes"/>.</summary>
    private static DateTimeOffset E(double minutes) => new DateTimeOffset(2026, 4, 1, 12, 0, 0, TimeSpan.Zero).AddMinutes(minutes);

    /// <summary>Processing time: 2026-04-01 09:00Z plus <paramref name="seconds"/>.</summary>
    private static DateTimeOffset P(double seconds) => new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero).AddSeconds(seconds);

    /// <summary>The watermark's owner started long before any of these tests' times: only reports make partitions hold.</summary>
    private static readonly DateTimeOffset LongAgo = DateTimeOffset.MinValue;

    private static bool Advance(WatermarkState state, DateTimeOffset now, DateTimeOffset? heldSince = null)
        => state.Advance(now, Lateness, IdleTimeout, heldSince ?? LongAgo);

    private static int[] Active(WatermarkState state, DateTimeOffset now, DateTimeOffset? heldSince = null)
        => [.. state.ActivePartitions(now, IdleTimeout, heldSince ?? LongAgo)];

    [Fact]
    public void New_HasNoWatermark_AndAdvanceWithoutPartitionsDoesNotMoveIt()
    {
        var state = new WatermarkState();

        Assert.Null(state.Watermark);
        Assert.Equal(long.MinValue, state.WatermarkTicks);
        Assert.Empty(state.Partitions);
        Assert.Empty(Active(state, P(0)));

        Assert.False(Advance(state, P(0)));
        Assert.False(Advance(state, P(1_000)));
        Assert.Null(state.Watermark);
    }

    [Fact]
    public void ObserveWithoutAdvance_LeavesTheWatermarkNull()
    {
        var state = new WatermarkState();

        state.Observe(0, E(5), P(0));

        Assert.Null(state.Watermark);
        Assert.Equal(E(5).UtcTicks, state.Partitions[0].MaxEventTicks);
        Assert.Equal(P(0).UtcTicks, state.Partitions[0].LastSeenTicks);
    }

    [Fact]
    public void SinglePartition_WatermarkIsItsMaxEventTimeMinusLateness()
    {
        var state = new WatermarkState();
        state.Observe(0, E(5), P(0));

        Assert.True(Advance(state, P(0)));
        Assert.Equal(E(4), state.Watermark); // 12:05 - 1 min
        Assert.Equal(E(4).UtcTicks, state.WatermarkTicks);
        Assert.Equal(TimeSpan.Zero, state.Watermark!.Value.Offset);

        state.Observe(0, E(9.5), P(1));
        Assert.True(Advance(state, P(1)));
        Assert.Equal(E(8.5), state.Watermark); // 12:09:30 - 1 min
    }

    [Fact]
    public void Watermark_IsTheMinimumOverActivePartitions()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(4), P(0));
        state.Observe(2, E(7), P(0));

        Assert.True(Advance(state, P(0)));
        Assert.Equal(E(3), state.Watermark); // min(12:10, 12:04, 12:07) - 1 min

        state.Observe(1, E(8), P(5));
        Assert.True(Advance(state, P(5)));
        Assert.Equal(E(6), state.Watermark); // min(12:10, 12:08, 12:07) - 1 min

        state.Observe(2, E(20), P(6));
        Assert.True(Advance(state, P(6)));
        Assert.Equal(E(7), state.Watermark); // min(12:10, 12:08, 12:20) - 1 min
    }

    [Fact]
    public void LaggingActivePartition_HoldsTheWatermarkBack()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(4), P(0));
        Assert.True(Advance(state, P(0)));
        Assert.Equal(E(3), state.Watermark); // min(12:10, 12:04) - 1 min

        // Partition 0 races ahead while partition 1 keeps delivering, but nothing newer than 12:04.
        for (var second = 10; second <= 120; second += 10)
        {
            state.Observe(0, E(10 + second), P(second));
            state.Observe(1, E(4), P(second));
            Assert.False(Advance(state, P(second)));
            Assert.Equal(E(3), state.Watermark);
            Assert.Equal([0, 1], Active(state, P(second)));
        }

        // Partition 1 catches up to 12:30: now partition 1 is the minimum.
        state.Observe(1, E(30), P(121));
        Assert.True(Advance(state, P(121)));
        Assert.Equal(E(29), state.Watermark); // min(14:10, 12:30) - 1 min
    }

    [Fact]
    public void IdlePartition_StopsHoldingTheWatermarkBack_AtExactlyTheIdleTimeout()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(4), P(0));
        Assert.True(Advance(state, P(0)));
        Assert.Equal(E(3), state.Watermark);

        state.Observe(0, E(12), P(20));

        // Partition 1 was last seen at P(0): one tick short of 30 s it is still active.
        var justBefore = P(30).AddTicks(-1);
        Assert.Equal([0, 1], Active(state, justBefore));
        Assert.False(Advance(state, justBefore));
        Assert.Equal(E(3), state.Watermark);

        // Idle for exactly 30 s: it no longer counts, and the watermark is partition 0's.
        Assert.Equal([0], Active(state, P(30)));
        Assert.True(Advance(state, P(30)));
        Assert.Equal(E(11), state.Watermark); // 12:12 - 1 min
    }

    [Fact]
    public void IdlePartition_HoldsTheWatermarkBackAgainOnceItReceivesEvents_ButItNeverMovesBackwards()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(4), P(0));
        state.Observe(0, E(12), P(20));
        Assert.True(Advance(state, P(30))); // partition 1 idle since P(0)
        Assert.Equal(E(11), state.Watermark); // 12:12 - 1 min

        // Partition 1 wakes up with 12:05, behind the watermark: it is active again, but the watermark stays.
        state.Observe(1, E(5), P(40));
        Assert.Equal([0, 1], Active(state, P(40))); // partition 0 seen 20 s ago, partition 1 just now
        Assert.False(Advance(state, P(40))); // min(12:12, 12:05) - 1 min = 12:04 < 12:11
        Assert.Equal(E(11), state.Watermark);

        // Partition 0 moves on, but partition 1 (12:05) holds the watermark back again.
        state.Observe(0, E(20), P(45));
        Assert.False(Advance(state, P(45))); // min(12:20, 12:05) - 1 min = 12:04
        Assert.Equal(E(11), state.Watermark);

        // Partition 1 at 12:11:30: the minimum is 12:10:30, still behind 12:11.
        state.Observe(1, E(11.5), P(50));
        Assert.False(Advance(state, P(50)));
        Assert.Equal(E(11), state.Watermark);

        // Partition 1 at 12:15: min(12:20, 12:15) - 1 min = 12:14 — held back by partition 1, not 12:19.
        state.Observe(1, E(15), P(55));
        Assert.True(Advance(state, P(55)));
        Assert.Equal(E(14), state.Watermark);
    }

    [Fact]
    public void EveryPartitionIdle_TheWatermarkDoesNotMove()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(20), P(0));
        Assert.True(Advance(state, P(0)));
        Assert.Equal(E(9), state.Watermark); // min(12:10, 12:20) - 1 min

        // Both idle: neither the lagging partition's nor the leading one's time moves it.
        Assert.Empty(Active(state, P(30)));
        Assert.False(Advance(state, P(30)));
        Assert.False(Advance(state, P(3_600)));
        Assert.Equal(E(9), state.Watermark);

        // A partition that sends something becomes active, and alone decides: 12:25 - 1 min.
        state.Observe(1, E(25), P(3_601));
        Assert.Equal([1], Active(state, P(3_601)));
        Assert.True(Advance(state, P(3_601)));
        Assert.Equal(E(24), state.Watermark);
    }

    [Fact]
    public void EveryPartitionIdle_BeforeTheFirstAdvance_LeavesTheWatermarkNull()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(20), P(5));

        Assert.False(Advance(state, P(35))); // partition 0 idle 35 s, partition 1 idle 30 s

        Assert.Null(state.Watermark);
        Assert.Equal(long.MinValue, state.WatermarkTicks);
    }

    [Fact]
    public void PartitionNeverObserved_WithoutAPartitionCount_DoesNotHoldTheWatermarkBack()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(3, E(6), P(0));

        Assert.True(Advance(state, P(0)));
        Assert.Equal(E(5), state.Watermark); // min(12:10, 12:06) - 1 min; partitions 1 and 2 do not exist here
        Assert.Equal([0, 3], state.Partitions.Keys.Order());
        Assert.Equal([0, 3], Active(state, P(0)));
    }

    [Fact]
    public void UnreportedPartitionOfTheTopic_HoldsTheWatermarkStill_UntilTheIdleTimeoutAfterTheStart()
    {
        // A topic of 4 partitions; the watermark's owner started at P(0); partition 2's reader is slow to start.
        var state = new WatermarkState();
        state.ExpectPartitions(4);
        foreach (var second in new[] { 0, 10, 20, 29 })
        {
            state.Observe(0, E(10 + second), P(second));
            state.Observe(1, E(20 + second), P(second));
            state.Observe(3, E(30 + second), P(second));
            Assert.False(Advance(state, P(second), heldSince: P(0)));
            Assert.Null(state.Watermark);
            Assert.Equal([0, 1, 2, 3], Active(state, P(second), heldSince: P(0)));
        }

        // One tick short of 30 s after the start it still holds; at 30 s it is idle, and the others decide.
        state.Observe(0, E(40), P(30));
        state.Observe(1, E(50), P(30));
        state.Observe(3, E(60), P(30));
        Assert.False(Advance(state, P(30).AddTicks(-1), heldSince: P(0)));
        Assert.Equal([0, 1, 3], Active(state, P(30), heldSince: P(0)));
        Assert.True(Advance(state, P(30), heldSince: P(0)));
        Assert.Equal(E(39), state.Watermark); // min(12:40, 12:50, 13:00) - 1 min
    }

    [Fact]
    public void UnreportedPartitionOfTheTopic_ThatReportsOlderEvents_DecidesTheWatermark_NoneOfItsEventsLate()
    {
        var state = new WatermarkState();
        state.ExpectPartitions(3);
        state.Observe(0, E(300), P(0)); // hours of history ahead in a second: a fast replay
        state.Observe(1, E(280), P(0));
        Assert.False(Advance(state, P(1), heldSince: P(0)));
        Assert.Null(state.Watermark);

        // Partition 2 starts at 12:05: the watermark is its time minus the lateness, behind its own events.
        state.Observe(2, E(5), P(2));
        Assert.True(Advance(state, P(2), heldSince: P(0)));
        Assert.Equal(E(4), state.Watermark);
        Assert.Equal([0, 1, 2], Active(state, P(2), heldSince: P(0)));
    }

    [Fact]
    public void AfterARestart_EveryKnownPartitionHolds_UntilTheIdleTimeoutAfterTheStart()
    {
        var state = new WatermarkState();
        state.ExpectPartitions(2);
        state.Observe(0, E(10), P(0));
        state.Observe(1, E(4), P(0));
        Assert.True(Advance(state, P(0), heldSince: P(0)));
        Assert.Equal(E(3), state.Watermark);

        // Restarted at P(1000), long after both were last heard from. Partition 0 reports first and runs ahead:
        // partition 1 (12:04) still holds the watermark, although its last events are 1000 s old.
        var restart = P(1_000);
        state.Observe(0, E(20), P(1_001));
        Assert.Equal([0, 1], Active(state, P(1_001), heldSince: restart));
        Assert.False(Advance(state, P(1_001), heldSince: restart));
        Assert.Equal(E(3), state.Watermark);

        // Without the restart rule partition 1 would be idle already (it is, seen from a start long ago).
        Assert.Equal([0], Active(state, P(1_001)));

        // Silent for the idle timeout since the restart: partition 0 alone decides.
        state.Observe(0, E(21), P(1_030));
        Assert.True(Advance(state, P(1_030), heldSince: restart));
        Assert.Equal(E(20), state.Watermark);
    }

    [Fact]
    public void ExpectPartitions_RefusesANegativeCount_AndTheLastCountWins()
    {
        var state = new WatermarkState();
        Assert.Throws<ArgumentOutOfRangeException>(() => state.ExpectPartitions(-1));
        Assert.Equal(0, state.PartitionCount);

        state.ExpectPartitions(8);
        state.ExpectPartitions(3);
        Assert.Equal(3, state.PartitionCount);
        Assert.Equal([0, 1, 2], Active(state, P(0), heldSince: P(0)));
        Assert.Empty(Active(state, P(30), heldSince: P(0)));
    }

    [Fact]
    public void SerializationRoundTrip_KeepsThePartitionCount()
    {
        var original = new WatermarkState();
        original.ExpectPartitions(5);
        original.Observe(0, E(1), P(0));

        var copy = FunnelTestSupport.RoundTrip(original);

        Assert.Equal(5, copy.PartitionCount);
        Assert.Equal([0, 1, 2, 3, 4], Active(copy, P(1), heldSince: P(0)));
        Assert.False(Advance(copy, P(1), heldSince: P(0)));
    }

    [Fact]
    public void ObserveOlderMaxEventTime_DoesNotLowerThePartitionsMax_ButKeepsItActive()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));
        state.Observe(0, E(2), P(5));

        Assert.Equal(E(10).UtcTicks, state.Partitions[0].MaxEventTicks);
        Assert.Equal(P(5).UtcTicks, state.Partitions[0].LastSeenTicks);
        Assert.True(Advance(state, P(5)));
        Assert.Equal(E(9), state.Watermark); // 12:10 - 1 min, not 12:02 - 1 min

        // Seen at P(5): at P(34) it is still active (29 s), at P(35) idle (30 s).
        Assert.Equal([0], Active(state, P(34)));
        Assert.Empty(Active(state, P(35)));
    }

    [Fact]
    public void ObserveWithAnOlderNow_DoesNotMoveLastSeenBack()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(20));
        state.Observe(0, E(11), P(10));

        Assert.Equal(P(20).UtcTicks, state.Partitions[0].LastSeenTicks);
        Assert.Equal(E(11).UtcTicks, state.Partitions[0].MaxEventTicks);
        Assert.Equal([0], Active(state, P(49))); // 29 s after P(20)
    }

    [Fact]
    public void Observe_WithAnOffset_IsTheSameInstant()
    {
        var state = new WatermarkState();
        var plusTwo = TimeSpan.FromHours(2);
        state.Observe(0, E(10).ToOffset(plusTwo), P(0).ToOffset(plusTwo));

        Assert.Equal(E(10).UtcTicks, state.Partitions[0].MaxEventTicks);
        Assert.Equal(P(0).UtcTicks, state.Partitions[0].LastSeenTicks);
        Assert.True(Advance(state, P(29).ToOffset(-plusTwo)));
        Assert.Equal(E(9), state.Watermark);
    }

    [Fact]
    public void Advance_ReturnsTrueOnlyWhenTheWatermarkMoved()
    {
        var state = new WatermarkState();
        state.Observe(0, E(10), P(0));

        Assert.True(Advance(state, P(0))); // null → 12:09
        Assert.False(Advance(state, P(1))); // nothing new
        Assert.Equal(E(9), state.Watermark);

        state.Observe(0, E(10), P(2)); // the same max again
        Assert.False(Advance(state, P(2)));

        // A larger lateness would put it back to 12:05: not moved, not lowered.
        Assert.False(state.Advance(P(3), TimeSpan.FromMinutes(5), IdleTimeout, LongAgo));
        Assert.Equal(E(9), state.Watermark);

        // A zero lateness moves it to the max itself: 12:10.
        Assert.True(state.Advance(P(4), TimeSpan.Zero, IdleTimeout, LongAgo));
        Assert.Equal(E(10), state.Watermark);
        Assert.False(state.Advance(P(5), TimeSpan.Zero, IdleTimeout, LongAgo));

        state.Observe(0, E(10).AddTicks(1), P(6));
        Assert.True(state.Advance(P(6), TimeSpan.Zero, IdleTimeout, LongAgo)); // one tick is a move
        Assert.Equal(E(10).AddTicks(1), state.Watermark);
    }

    [Fact]
    public void ActivePartitions_ListsTheActiveOnesInAscendingOrder()
    {
        var state = new WatermarkState();
        state.Observe(5, E(1), P(0));
        state.Observe(2, E(1), P(10));
        state.Observe(9, E(1), P(20));
        state.Observe(0, E(1), P(5));

        Assert.Equal([0, 2, 5, 9], Active(state, P(20)));
        Assert.Equal([0, 2, 9], Active(state, P(30))); // 5 idle for 30 s
        Assert.Equal([2, 9], Active(state, P(35))); // 0 idle for 30 s
        Assert.Equal([9], Active(state, P(49))); // 2 idle for 39 s, 9 for 29 s
        Assert.Empty(Active(state, P(50)));

        // Different idle timeouts: the same state, another answer.
        Assert.Equal([0, 2, 5, 9], state.ActivePartitions(P(50), TimeSpan.FromSeconds(51), LongAgo).ToArray());
        Assert.Equal([2, 9], state.ActivePartitions(P(50), TimeSpan.FromSeconds(41), LongAgo).ToArray()); // 0 idle 45 s, 2 idle 40 s
    }

    [Fact]
    public void SerializationRoundTrip_KeepsPartitionsAndWatermark_AndContinuesIdentically()
    {
        var original = new WatermarkState();
        original.Observe(0, E(10), P(0));
        original.Observe(1, E(4), P(0));
        original.Observe(7, E(30), P(10));
        original.Observe(0, E(12), P(20));
        Assert.True(Advance(original, P(20)));
        Assert.Equal(E(3), original.Watermark); // min(12:12, 12:04, 12:30) - 1 min

        var copy = FunnelTestSupport.RoundTrip(original);

        Assert.Equal(original.WatermarkTicks, copy.WatermarkTicks);
        Assert.Equal(E(3), copy.Watermark);
        Assert.Equal([0, 1, 7], copy.Partitions.Keys.Order());
        foreach (var (partition, progress) in original.Partitions)
        {
            Assert.NotSame(progress, copy.Partitions[partition]);
            Assert.Equal(progress.MaxEventTicks, copy.Partitions[partition].MaxEventTicks);
            Assert.Equal(progress.LastSeenTicks, copy.Partitions[partition].LastSeenTicks);
        }

        // The same steps on both: partition 1 goes idle, then wakes up behind, then catches up.
        var expected = new (bool Moved, DateTimeOffset Watermark)[]
        {
            (true, E(11)), // P(30): partition 1 idle → min(12:12, 12:30) - 1 min
            (false, E(11)), // P(35): partition 1 back at 12:06 → 12:05 < 12:11
            (true, E(19)), // P(40): partitions 0 and 1 at 12:20, 7 idle since P(10) → 12:20 - 1 min
        };
        foreach (var state in new[] { original, copy })
        {
            var results = new List<(bool, DateTimeOffset)>();
            results.Add((Advance(state, P(30)), state.Watermark!.Value));
            state.Observe(1, E(6), P(35));
            results.Add((Advance(state, P(35)), state.Watermark!.Value));
            state.Observe(1, E(20), P(40));
            state.Observe(0, E(20), P(40));
            results.Add((Advance(state, P(40)), state.Watermark!.Value));
            Assert.Equal(expected, results);
            Assert.Equal([0, 1], Active(state, P(40)));
        }

        Assert.Equal(original.WatermarkTicks, copy.WatermarkTicks);
    }

    [Fact]
    public void SerializationRoundTrip_OfANewState_KeepsTheWatermarkNull()
    {
        var copy = FunnelTestSupport.RoundTrip(new WatermarkState());

        Assert.Null(copy.Watermark);
        Assert.Equal(long.MinValue, copy.WatermarkTicks);
        Assert.Empty(copy.Partitions);

        copy.Observe(0, E(5), P(0));
        Assert.True(Advance(copy, P(0)));
        Assert.Equal(E(4), copy.Watermark);
    }
}
