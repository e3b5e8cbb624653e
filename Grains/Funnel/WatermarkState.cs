namespace Analytics.Grains.Funnel;

/// <summary>What the watermark knows of one Kafka partition.</summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.PartitionProgress")]
public sealed class PartitionProgress
{
    /// <summary>The highest event time seen in the partition (UTC ticks).</summary>
    [Id(0)] public long MaxEventTicks { get; set; }

    /// <summary>When (processing time, UTC ticks) the partition last delivered an event.</summary>
    [Id(1)] public long LastSeenTicks { get; set; }
}

/// <summary>
/// The pipeline's event-time watermark, partition-aware. Per Kafka partition it keeps the highest event time seen and
/// when the partition last received events. The watermark is the minimum of those highest event times over the
/// <em>active</em> partitions — those that received something within the idle timeout (processing time) — minus the
/// allowed lateness. It only moves when an active partition's event time does; with every partition idle it stays put
/// (so a replay of recorded history gives the same windows as the live run), and it never moves backwards.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.WatermarkState")]
public sealed class WatermarkState
{
    /// <summary>Per partition: highest event time and last activity.</summary>
    [Id(0)] public Dictionary<int, PartitionProgress> Partitions { get; private set; } = [];

    /// <summary>The watermark in UTC ticks; <see cref="long.MinValue"/> before the first one.</summary>
    [Id(1)] public long WatermarkTicks { get; private set; } = long.MinValue;

    /// <summary>The watermark, or null before any event was seen.</summary>
    public DateTimeOffset? Watermark => WatermarkTicks == long.MinValue ? null : new DateTimeOffset(WatermarkTicks, TimeSpan.Zero);

    /// <summary>Records that <paramref name="partition"/> delivered events up to <paramref name="maxEventTime"/> at <paramref name="now"/>.</summary>
    public void Observe(int partition, DateTimeOffset maxEventTime, DateTimeOffset now)
    {
        if (!Partitions.TryGetValue(partition, out var progress))
        {
            Partitions[partition] = new PartitionProgress { MaxEventTicks = maxEventTime.UtcTicks, LastSeenTicks = now.UtcTicks };
            return;
        }

        progress.MaxEventTicks = Math.Max(progress.MaxEventTicks, maxEventTime.UtcTicks);
        progress.LastSeenTicks = Math.Max(progress.LastSeenTicks, now.UtcTicks);
    }

    /// <summary>
    /// Recomputes the watermark at processing time <paramref name="now"/>; returns true if it moved forward.
    /// </summary>
    public bool Advance(DateTimeOffset now, TimeSpan lateness, TimeSpan idleTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lateness, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleTimeout, TimeSpan.Zero);
        var lowest = long.MaxValue;
        foreach (var progress in Partitions.Values)
        {
            if (now.UtcTicks - progress.LastSeenTicks >= idleTimeout.Ticks) continue;
            lowest = Math.Min(lowest, progress.MaxEventTicks);
        }

        if (lowest == long.MaxValue) return false;
        // Never below the first representable instant (event times before 2000 are refused upstream anyway).
        var candidate = Math.Max(lowest - lateness.Ticks, DateTimeOffset.MinValue.UtcTicks);
        if (candidate <= WatermarkTicks) return false;
        WatermarkTicks = candidate;
        return true;
    }

    /// <summary>The partitions that hold the watermark back at <paramref name="now"/> (active ones), for diagnostics.</summary>
    public IEnumerable<int> ActivePartitions(DateTimeOffset now, TimeSpan idleTimeout)
        => Partitions.Where(p => now.UtcTicks - p.Value.LastSeenTicks < idleTimeout.Ticks).Select(p => p.Key).Order();
}
