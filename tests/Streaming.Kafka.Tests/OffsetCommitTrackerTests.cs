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

    [Fact]
    public void DoneBelow_MovesToTheGivenOffset_ThenTakesInLaterMessagesDoneOneByOne()
    {
        var tracker = new OffsetCommitTracker();
        foreach (var offset in new long[] { 10, 11, 12, 13, 14, 15 }) tracker.Read(offset);
        Assert.False(tracker.Done(13)); // e.g. a dead letter, behind a message still being delivered

        Assert.True(tracker.DoneBelow(12));
        Assert.Equal(12, tracker.Committable);
        Assert.False(tracker.DoneBelow(12)); // nothing new
        Assert.False(tracker.DoneBelow(11)); // never backwards
        Assert.Equal(12, tracker.Committable);

        Assert.True(tracker.DoneBelow(13));
        Assert.Equal(14, tracker.Committable); // 12 delivered, 13 was done already, 14 still pending
        Assert.Equal(2, tracker.PendingCount);
    }

    [Fact]
    public void DoneBelow_BeyondWhatWasRead_CommitsOnlyWhatWasRead()
    {
        var tracker = new OffsetCommitTracker();
        foreach (var offset in new long[] { 0, 1, 2 }) tracker.Read(offset);

        Assert.True(tracker.DoneBelow(100));
        Assert.Equal(3, tracker.Committable);
        Assert.Equal(0, tracker.PendingCount);

        tracker.Read(7); // a later read is pending again, whatever was said before
        Assert.Equal(3, tracker.Committable);
        Assert.True(tracker.DoneBelow(8));
        Assert.Equal(8, tracker.Committable);
    }

    [Fact]
    public void DoneBelow_NothingRead_LeavesNothingCommittable()
    {
        var tracker = new OffsetCommitTracker();
        Assert.False(tracker.DoneBelow(5));
        Assert.Null(tracker.Committable);
        Assert.False(tracker.HasUncommitted);
    }

    [Fact]
    public void Block_StopsTheCommitBeforeTheOffset_WhateverIsReportedLater()
    {
        var tracker = new OffsetCommitTracker();
        foreach (var offset in new long[] { 0, 1, 2, 3, 4 }) tracker.Read(offset);
        tracker.Block(2);

        Assert.True(tracker.DoneBelow(5));
        Assert.Equal(2, tracker.Committable);
        Assert.False(tracker.Done(2));
        Assert.False(tracker.Done(3));
        Assert.False(tracker.DoneBelow(long.MaxValue));
        Assert.Equal(2, tracker.Committable);
        Assert.Equal(3, tracker.PendingCount);
    }

    [Fact]
    public void Block_OffsetAlreadyCommittable_IsIgnored()
    {
        var tracker = new OffsetCommitTracker();
        foreach (var offset in new long[] { 0, 1, 2 }) tracker.Read(offset);
        Assert.True(tracker.Done(0));

        tracker.Block(0); // too late: 0 is behind the committable offset already
        Assert.True(tracker.DoneBelow(3));
        Assert.Equal(3, tracker.Committable);
    }
}
