namespace Analytics.Grains.Funnel;

/// <summary>
/// Tumbling event-time windows of size <see cref="Size"/>, aligned to the Unix epoch: window <c>[start, start + Size)</c>
/// holds every event whose event time falls in it.
/// </summary>
public sealed record FunnelWindowing
{
    public FunnelWindowing(TimeSpan size)
    {
        if (size <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(size), size, "The window size must be positive.");
        if (TimeSpan.TicksPerDay % size.Ticks != 0 && size.Ticks % TimeSpan.TicksPerDay != 0)
        {
            // Not required for correctness, but windows that do not tile a day are hard to read on a dashboard.
            throw new ArgumentOutOfRangeException(nameof(size), size, "The window size must divide a day, or be a whole number of days.");
        }

        Size = size;
    }

    public TimeSpan Size { get; }

    /// <summary>The start of the window that holds <paramref name="eventTime"/> (floor division, so also right before 1970).</summary>
    public DateTimeOffset StartOf(DateTimeOffset eventTime)
    {
        var sinceEpoch = eventTime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var index = Math.DivRem(sinceEpoch, Size.Ticks, out var remainder);
        if (remainder < 0) index--;
        return DateTimeOffset.UnixEpoch.AddTicks(index * Size.Ticks);
    }

    /// <summary>The (exclusive) end of the window that starts at <paramref name="start"/>.</summary>
    public DateTimeOffset EndOf(DateTimeOffset start) => start + Size;

    /// <summary>True if <paramref name="start"/> is a window start of this windowing.</summary>
    public bool IsWindowStart(DateTimeOffset start) => StartOf(start) == start;
}
