using System.Globalization;
using Analytics.Grains.Funnel;

namespace Analytics.Grains.Tests.Funnel;

/// <summary><see cref="FunnelWindowing"/>: tumbling windows <c>[start, start + size)</c> aligned to the Unix epoch.</summary>
public sealed class FunnelWindowingTests
{
    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.None);

    private static TimeSpan Size(string size) => TimeSpan.Parse(size, CultureInfo.InvariantCulture);

    [Theory]
    // 10-minute windows: floor to the multiple of 10 minutes.
    [InlineData("00:10:00", "2026-04-01T12:07:59.999Z", "2026-04-01T12:00:00Z")]
    [InlineData("00:10:00", "2026-04-01T12:09:59.9999999Z", "2026-04-01T12:00:00Z")] // the last tick of [12:00, 12:10)
    [InlineData("00:10:00", "2026-04-01T12:00:00Z", "2026-04-01T12:00:00Z")] // a window start is its own window
    [InlineData("00:10:00", "2026-04-01T12:10:00.000Z", "2026-04-01T12:10:00Z")] // the end of [12:00, 12:10) opens the next one
    [InlineData("00:10:00", "2026-04-01T12:10:00.0000001Z", "2026-04-01T12:10:00Z")]
    // 1-hour windows.
    [InlineData("01:00:00", "2026-04-01T12:59:59.999Z", "2026-04-01T12:00:00Z")]
    [InlineData("01:00:00", "2026-04-01T13:00:00Z", "2026-04-01T13:00:00Z")]
    [InlineData("01:00:00", "2026-04-01T00:00:00Z", "2026-04-01T00:00:00Z")]
    // 1-day windows: midnight UTC.
    [InlineData("1.00:00:00", "2026-04-01T23:59:59.9999999Z", "2026-04-01T00:00:00Z")]
    [InlineData("1.00:00:00", "2026-04-02T00:00:00Z", "2026-04-02T00:00:00Z")]
    [InlineData("1.00:00:00", "2024-02-29T13:00:00Z", "2024-02-29T00:00:00Z")]
    // 7-day windows start on Thursdays (1970-01-01 was one): 2026-04-01 is epoch day 20544 = 7 * 2934 + 6 → 6 days back.
    [InlineData("7.00:00:00", "2026-04-01T08:00:00Z", "2026-03-26T00:00:00Z")]
    [InlineData("7.00:00:00", "2026-04-02T00:00:00Z", "2026-04-02T00:00:00Z")] // epoch day 20545 = 7 * 2935
    // 1 second and 1 tick both divide a day.
    [InlineData("00:00:01", "2026-04-01T12:07:59.999Z", "2026-04-01T12:07:59Z")]
    [InlineData("00:00:00.0000001", "2026-04-01T12:07:59.9999999Z", "2026-04-01T12:07:59.9999999Z")]
    // The epoch itself and the instants right before it: floor, not truncation towards the epoch.
    [InlineData("00:10:00", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z")]
    [InlineData("00:10:00", "1969-12-31T23:59:59.9999999Z", "1969-12-31T23:50:00Z")] // -1 tick → window -1
    [InlineData("00:10:00", "1969-12-31T23:55:00Z", "1969-12-31T23:50:00Z")] // -5 min → window -1
    [InlineData("00:10:00", "1969-12-31T23:50:00Z", "1969-12-31T23:50:00Z")] // exactly -10 min: starts window -1
    [InlineData("00:10:00", "1969-12-31T23:49:59.999Z", "1969-12-31T23:40:00Z")] // just before it: window -2
    [InlineData("01:00:00", "1969-07-20T20:17:40Z", "1969-07-20T20:00:00Z")]
    [InlineData("1.00:00:00", "1969-12-31T00:00:00.0000001Z", "1969-12-31T00:00:00Z")]
    [InlineData("7.00:00:00", "1969-12-31T12:00:00Z", "1969-12-25T00:00:00Z")] // epoch day -1 → window -1 = day -7
    [InlineData("7.00:00:00", "1969-12-25T00:00:00Z", "1969-12-25T00:00:00Z")]
    public void StartOf_FloorsToTheEpochAlignedWindow(string size, string eventTime, string expectedStart)
    {
        var windowing = new FunnelWindowing(Size(size));

        var start = windowing.StartOf(At(eventTime));

        Assert.Equal(At(expectedStart).UtcTicks, start.UtcTicks);
        Assert.True(start <= At(eventTime));
        Assert.True(At(eventTime) < windowing.EndOf(start));
    }

    [Theory]
    // 14:07:59.999+02:00 is 12:07:59.999Z: the window is the UTC one, [12:00Z, 12:10Z).
    [InlineData("00:10:00", "2026-04-01T14:07:59.999+02:00", "2026-04-01T12:00:00Z")]
    // 00:15+05:30 is 18:45Z the day before: the hour window starts at 18:00Z (23:30 local), not at local midnight.
    [InlineData("01:00:00", "2026-04-01T00:15:00+05:30", "2026-03-31T18:00:00Z")]
    // 20:00-05:00 is 01:00Z the next day: the day window is that UTC day.
    [InlineData("1.00:00:00", "2026-04-01T20:00:00-05:00", "2026-04-02T00:00:00Z")]
    // 19:00-05:00 is exactly 00:00Z: a window start.
    [InlineData("1.00:00:00", "2026-04-01T19:00:00-05:00", "2026-04-02T00:00:00Z")]
    public void StartOf_WithAnOffset_IsTheSameInstantAsInUtc(string size, string eventTime, string expectedStart)
    {
        var windowing = new FunnelWindowing(Size(size));
        var local = At(eventTime);
        var utc = local.ToUniversalTime();
        Assert.NotEqual(TimeSpan.Zero, local.Offset);

        var fromLocal = windowing.StartOf(local);
        var fromUtc = windowing.StartOf(utc);

        Assert.Equal(At(expectedStart).UtcTicks, fromLocal.UtcTicks);
        Assert.Equal(fromUtc.UtcTicks, fromLocal.UtcTicks);
    }

    [Fact]
    public void EndOf_IsStartPlusSize_AndTheEndBelongsToTheNextWindow()
    {
        var tenMinutes = new FunnelWindowing(TimeSpan.FromMinutes(10));
        var start = tenMinutes.StartOf(At("2026-04-01T12:07:59.999Z"));

        var end = tenMinutes.EndOf(start);

        Assert.Equal(At("2026-04-01T12:10:00Z"), end); // 12:00 + 10 min
        Assert.Equal(end, tenMinutes.StartOf(end)); // an event at the end opens the next window
        Assert.Equal(start, tenMinutes.StartOf(end.AddTicks(-1))); // the tick before is still in [12:00, 12:10)
        Assert.Equal(At("2026-04-01T12:20:00Z"), tenMinutes.EndOf(end));

        var day = new FunnelWindowing(TimeSpan.FromDays(1));
        Assert.Equal(At("2026-04-02T00:00:00Z"), day.EndOf(At("2026-04-01T00:00:00Z")));
        Assert.Equal(At("1970-01-01T00:00:00Z"), day.EndOf(At("1969-12-31T00:00:00Z")));

        var hour = new FunnelWindowing(TimeSpan.FromHours(1));
        Assert.Equal(At("2026-04-01T13:00:00Z"), hour.EndOf(hour.StartOf(At("2026-04-01T12:30:00Z"))));
    }

    [Fact]
    public void ConsecutiveWindows_TileTimeWithoutGapsOrOverlaps()
    {
        var windowing = new FunnelWindowing(TimeSpan.FromMinutes(10));
        var start = At("1969-12-31T23:30:00Z");

        // Six windows across the epoch: each ends where the next starts, and every tick in between maps to its window.
        for (var i = 0; i < 6; i++)
        {
            var end = windowing.EndOf(start);
            Assert.Equal(TimeSpan.FromMinutes(10), end - start);
            Assert.Equal(start, windowing.StartOf(start));
            Assert.Equal(start, windowing.StartOf(start.AddMinutes(5)));
            Assert.Equal(start, windowing.StartOf(end.AddTicks(-1)));
            Assert.Equal(end, windowing.StartOf(end));
            start = end;
        }

        Assert.Equal(At("1970-01-01T00:30:00Z"), start); // 23:30 + 6 * 10 min
    }

    [Theory]
    [InlineData("00:10:00", "2026-04-01T12:10:00Z", true)]
    [InlineData("00:10:00", "2026-04-01T12:00:00Z", true)]
    [InlineData("00:10:00", "2026-04-01T12:07:00Z", false)]
    [InlineData("00:10:00", "2026-04-01T12:10:00.0000001Z", false)]
    [InlineData("00:10:00", "2026-04-01T12:09:59.9999999Z", false)]
    [InlineData("00:10:00", "2026-04-01T14:10:00+02:00", true)] // 12:10Z
    [InlineData("00:10:00", "2026-04-01T12:10:00+05:45", false)] // 12:10 - 5:45 = 06:25Z
    [InlineData("00:10:00", "2026-04-01T12:15:00+05:45", true)] // 12:15 - 5:45 = 06:30Z
    [InlineData("00:10:00", "1969-12-31T23:50:00Z", true)]
    [InlineData("00:10:00", "1969-12-31T23:55:00Z", false)]
    [InlineData("00:10:00", "1970-01-01T00:00:00Z", true)]
    [InlineData("01:00:00", "2026-04-01T12:00:00Z", true)]
    [InlineData("01:00:00", "2026-04-01T12:10:00Z", false)]
    [InlineData("01:00:00", "2026-04-01T12:00:00+05:30", false)] // 06:30Z
    [InlineData("1.00:00:00", "2026-04-01T00:00:00Z", true)]
    [InlineData("1.00:00:00", "2026-04-01T00:00:00+02:00", false)] // 2026-03-31T22:00Z
    [InlineData("1.00:00:00", "2026-04-01T19:00:00-05:00", true)] // 2026-04-02T00:00Z
    [InlineData("7.00:00:00", "2026-03-26T00:00:00Z", true)] // a Thursday, epoch day 20538 = 7 * 2934
    [InlineData("7.00:00:00", "2026-03-30T00:00:00Z", false)] // a Monday
    public void IsWindowStart_IsTrueOnlyOnEpochAlignedBoundaries(string size, string instant, bool expected)
    {
        var windowing = new FunnelWindowing(Size(size));

        Assert.Equal(expected, windowing.IsWindowStart(At(instant)));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:10:00")]
    [InlineData("-00:00:00.0000001")]
    [InlineData("-1.00:00:00")]
    public void Constructor_NonPositiveSize_Throws(string size)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new FunnelWindowing(Size(size)));
        Assert.Equal("size", exception.ParamName);
    }

    [Theory]
    [InlineData("00:07:00")] // 1440 min / 7 is not whole
    [InlineData("05:00:00")] // 24 h / 5 is not whole
    [InlineData("00:00:00.0000007")] // 864_000_000_000 ticks / 7 is not whole
    [InlineData("1.12:00:00")] // 36 h: more than a day and not whole days
    [InlineData("1.00:00:00.0000001")] // a day and a tick
    [InlineData("2.06:00:00")]
    public void Constructor_SizeThatNeitherDividesADayNorIsWholeDays_Throws(string size)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => new FunnelWindowing(Size(size)));
        Assert.Equal("size", exception.ParamName);
    }

    [Theory]
    [InlineData("00:00:00.0000001")]
    [InlineData("00:00:01")]
    [InlineData("00:10:00")]
    [InlineData("00:15:00")]
    [InlineData("01:00:00")]
    [InlineData("08:00:00")]
    [InlineData("12:00:00")]
    [InlineData("1.00:00:00")]
    [InlineData("2.00:00:00")]
    [InlineData("7.00:00:00")]
    public void Constructor_SizeThatDividesADayOrIsWholeDays_IsKept(string size)
    {
        var windowing = new FunnelWindowing(Size(size));

        Assert.Equal(Size(size), windowing.Size);
    }
}
