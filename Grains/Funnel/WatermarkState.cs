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
/// <em>holding</em> partitions, minus the allowed lateness. A partition holds the watermark back until it has been
/// silent for the idle timeout (processing time), counted from its last events or from when the watermark's owner
/// started (<c>heldSince</c>), whichever is later; a partition of the topic (<see cref="PartitionCount"/>) that has
/// not reported yet holds it still. So neither a partition whose reader starts late nor one handed between silos can
/// fall behind and see its events counted late, and a restart does not let the first partition to report run ahead.
/// The watermark only moves when a holding partition's event time does; with every partition idle it stays put (so a
/// replay of recorded history gives the same windows as the live run), and it never moves backwards.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.WatermarkState")]
public sealed class WatermarkState
{
    /// <summary>Per partition: highest event time and last activity.</summary>
    [Id(0)] public Dictionary<int, PartitionProgress> Partitions { get; private set; } = [];

    /// <summary>The watermark in UTC ticks; <see cref="long.MinValue"/> before the first one.</summary>
    [Id(1)] public long WatermarkTicks { get; private set; } = long.MinValue;

    /// <summary>Partitions of the topic (0 to count − 1), as the last report said; 0 before the first.</summary>
    [Id(2)] public int PartitionCount { get; private set; }

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

    /// <summary>Records that the topic has <paramref name="count"/> partitions (0 to count − 1).</summary>
    public void ExpectPartitions(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        PartitionCount = count;
    }

    /// <summary>
    /// Recomputes the watermark at processing time <paramref name="now"/>; returns true if it moved forward. Every
    /// partition counts as heard from at <paramref name="heldSince"/> at the latest (when the watermark's owner started).
    /// </summary>
    public bool Advance(DateTimeOffset now, TimeSpan lateness, TimeSpan idleTimeout, DateTimeOffset heldSince)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lateness, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(idleTimeout, TimeSpan.Zero);
        // A partition nobody has heard from yet: its events may be older than anything seen, so nothing may close.
        if (Unreported().Any() && Holds(long.MinValue, now, idleTimeout, heldSince)) return false;
        var lowest = long.MaxValue;
        foreach (var progress in Partitions.Values)
        {
            if (!Holds(progress.LastSeenTicks, now, idleTimeout, heldSince)) continue;
            lowest = Math.Min(lowest, progress.MaxEventTicks);
        }

        if (lowest == long.MaxValue) return false;
        // Never below the first representable instant (event times before 2000 are refused upstream anyway).
        var candidate = Math.Max(lowest - lateness.Ticks, DateTimeOffset.MinValue.UtcTicks);
        if (candidate <= WatermarkTicks) return false;
        WatermarkTicks = candidate;
        return true;
    }

    /// <summary>The partitions that hold the watermark back at <paramref name="now"/>, reported or not, for diagnostics.</summary>
    public IEnumerable<int> ActivePartitions(DateTimeOffset now, TimeSpan idleTimeout, DateTimeOffset heldSince)
        => Partitions.Where(p => Holds(p.Value.LastSeenTicks, now, idleTimeout, heldSince)).Select(p => p.Key)
            .Concat(Holds(long.MinValue, now, idleTimeout, heldSince) ? Unreported() : [])
            .Order();

    private IEnumerable<int> Unreported() => Enumerable.Range(0, PartitionCount).Where(p => !Partitions.ContainsKey(p));

    private static bool Holds(long lastSeenTicks, DateTimeOffset now, TimeSpan idleTimeout, DateTimeOffset heldSince)
        => now.UtcTicks - Math.Max(lastSeenTicks, heldSince.UtcTicks) < idleTimeout.Ticks;
}
