using Analytics.Producer.Sending;
using Microsoft.Extensions.Time.Testing;

namespace Analytics.Producer.Tests;

public sealed class PacerTests
{
    private static readonly DateTimeOffset WallStart = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Speed_RunsEventTimeFaster_UntilItReachesNow_ThenLive()
    {
        var time = new FakeTimeProvider(WallStart);
        var pacer = new Pacer(speed: 3600, rate: 0, time);
        var start = (WallStart - TimeSpan.FromDays(1)).ToUnixTimeMilliseconds();
        var wall = WallStart.ToUnixTimeMilliseconds();

        Assert.Equal(wall, pacer.NextDueMs(start));
        // One hour of event time per wall-clock second.
        Assert.Equal(wall + 1000, pacer.NextDueMs(start + 3_600_000));
        // 23 h of history take 23 s; an event 1 min before the present is due 24 s in, when it is long past.
        Assert.Equal(wall + 23_000, pacer.NextDueMs(start + (23 * 3_600_000L)));
        // Past the present the clock runs live: an event 10 min ahead of the wall start waits for that moment.
        var future = wall + 600_000;
        Assert.Equal(future, pacer.NextDueMs(future));
    }

    [Fact]
    public void Rate_SpacesMessagesEvenly_AndSpeedZeroIgnoresEventTime()
    {
        var time = new FakeTimeProvider(WallStart);
        var pacer = new Pacer(speed: 0, rate: 200, time);
        var wall = WallStart.ToUnixTimeMilliseconds();
        var farFuture = wall + 86_400_000L;
        for (var i = 0; i < 1000; i++) Assert.Equal(wall + (i * 5.0), pacer.NextDueMs(farFuture), 6);
        Assert.False(new Pacer(0, 0, time).IsActive);
    }

    [Fact]
    public async Task WaitAsync_WaitsForTheDueTime()
    {
        var time = new FakeTimeProvider(WallStart);
        var pacer = new Pacer(speed: 0, rate: 10, time);
        await pacer.WaitAsync(-1, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        var second = pacer.WaitAsync(-1, CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await second.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
