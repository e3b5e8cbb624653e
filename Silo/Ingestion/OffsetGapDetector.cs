namespace Analytics.Silo.Ingestion;

/// <summary>
/// Notices offsets that were never read. Our producers are idempotent and not transactional, so a partition's offsets
/// are contiguous: a jump means the broker dropped data before we read it (the development broker keeps only the
/// newest few MiB per partition), and that must never pass silently.
/// </summary>
public sealed class OffsetGapDetector
{
    private readonly Dictionary<int, long> _nextExpected = [];

    /// <summary>A partition was assigned; <paramref name="committedOffset"/> is where the group left it, if anywhere.</summary>
    public void Assigned(int partition, long? committedOffset)
    {
        if (committedOffset is >= 0) _nextExpected[partition] = committedOffset.Value;
        else _nextExpected.Remove(partition);
    }

    /// <summary>The partition went to another consumer: forget what we expected of it.</summary>
    public void Revoked(int partition) => _nextExpected.Remove(partition);

    /// <summary>Records a received offset and returns how many offsets before it were skipped (0 when none).</summary>
    public long Observe(int partition, long offset)
    {
        long missed = 0;
        if (_nextExpected.TryGetValue(partition, out var expected) && offset > expected) missed = offset - expected;
        _nextExpected[partition] = Math.Max(offset + 1, _nextExpected.GetValueOrDefault(partition));
        return missed;
    }
}
