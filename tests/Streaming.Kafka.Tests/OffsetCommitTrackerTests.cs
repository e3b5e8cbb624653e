using Analytics.Streaming.Kafka.Providers;

namespace Analytics.Streaming.Kafka.Tests;

public sealed class OffsetCommitTrackerTests
{
    [Fact]
    public void Done_OutOfOrder_CommitsOnlyTheContiguousPrefix()
    {
        var tracker = new OffsetCommitTracker();
        foreach (var offset in new long[] { 10, 11, 12, 13 }) tracker.Read(offset);

        Assert.False(tracker.Done(12));
        Assert.Null(tracker.Committable);
        Assert.True(tracker.Done(10));
        Assert.Equal(11, tracker.Committable);
        Assert.True(tracker.Done(11));
        Assert.Equal(13, tracker.Committable); // 12 was done already
        Assert.Equal(1, tracker.PendingCount);
    }

    [Fact]
    public void Read_OffsetGapInLog_IsNotWaitedFor()
    {
        var tracker = new OffsetCommitTracker();
        tracker.Read(5);
        tracker.Read(9); // 6..8 never came from the broker
        tracker.Done(5);
        tracker.Done(9);
        Assert.Equal(10, tracker.Committable);
    }

    [Fact]
    public void MarkCommitted_NeverMovesBackwards()
    {
        var tracker = new OffsetCommitTracker();
        tracker.Read(0);
        tracker.Done(0);
        Assert.True(tracker.HasUncommitted);
        tracker.MarkCommitted(1);
        tracker.MarkCommitted(0);
        Assert.Equal(1, tracker.Committed);
        Assert.False(tracker.HasUncommitted);
    }

    [Fact]
    public void Read_OffsetNotIncreasing_Throws()
    {
        var tracker = new OffsetCommitTracker();
        tracker.Read(3);
        Assert.Throws<InvalidOperationException>(() => tracker.Read(3));
    }
}
