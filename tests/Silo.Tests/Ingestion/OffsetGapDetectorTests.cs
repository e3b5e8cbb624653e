using Analytics.Silo.Ingestion;

namespace Analytics.Silo.Tests.Ingestion;

public sealed class OffsetGapDetectorTests
{
    [Fact]
    public void Observe_ContiguousOffsetsFromTheCommit_ReportsNoGap()
    {
        var detector = new OffsetGapDetector();
        detector.Assigned(3, committedOffset: 100);

        Assert.All(Enumerable.Range(100, 50), o => Assert.Equal(0, detector.Observe(3, o)));
    }

    [Fact]
    public void Observe_FirstOffsetBeyondTheCommit_ReportsTheMissedCount()
    {
        var detector = new OffsetGapDetector();
        detector.Assigned(0, committedOffset: 10);

        Assert.Equal(90, detector.Observe(0, 100));
    }

    [Fact]
    public void Observe_JumpWithinThePartition_ReportsTheMissedCount()
    {
        var detector = new OffsetGapDetector();
        detector.Assigned(1, committedOffset: null);

        Assert.Equal(0, detector.Observe(1, 5_000));
        Assert.Equal(0, detector.Observe(1, 5_001));
        Assert.Equal(7, detector.Observe(1, 5_009));
        Assert.Equal(0, detector.Observe(1, 5_010));
    }

    [Fact]
    public void Observe_Replay_IsNotAGapAndDoesNotMoveExpectationBack()
    {
        var detector = new OffsetGapDetector();
        detector.Assigned(2, committedOffset: 0);
        for (var o = 0; o < 10; o++) detector.Observe(2, o);

        Assert.Equal(0, detector.Observe(2, 3));
        Assert.Equal(5, detector.Observe(2, 15));
    }

    [Fact]
    public void Revoked_ThenAssignedElsewhere_StartsFromTheNewCommit()
    {
        var detector = new OffsetGapDetector();
        detector.Assigned(4, committedOffset: 0);
        detector.Observe(4, 0);
        detector.Revoked(4);
        detector.Assigned(4, committedOffset: 500);

        Assert.Equal(0, detector.Observe(4, 500));
    }
}
