namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Which offset of one partition may be committed: the one after the longest run of read messages that are all
/// handled (delivered, or given to the dead-letter sink). A message not yet handled holds the commit back, however
/// many later ones are done, so a restart never skips it. Offsets the broker never gave us (gaps) are not waited for.
/// Not thread-safe: the pulling agent calls a receiver one call at a time.
/// </summary>
internal sealed class OffsetCommitTracker
{
    private readonly Queue<long> _pending = new();
    private readonly HashSet<long> _done = [];
    private long _lastRead = -1;

    /// <summary>The offset to commit now (the next one to read after a restart), or null when nothing was handled yet.</summary>
    public long? Committable { get; private set; }

    /// <summary>What was last committed successfully.</summary>
    public long? Committed { get; private set; }

    /// <summary>Messages read and not yet part of the committable prefix.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>True when <see cref="Committable"/> is ahead of <see cref="Committed"/>.</summary>
    public bool HasUncommitted => Committable is { } next && (Committed is not { } done || next > done);

    /// <summary>A message was read; offsets must increase.</summary>
    public void Read(long offset)
    {
        if (offset <= _lastRead)
        {
            throw new InvalidOperationException($"Offset {offset} read after {_lastRead}: offsets must increase.");
        }

        _lastRead = offset;
        _pending.Enqueue(offset);
    }

    /// <summary>A read message was handled; returns true if the committable offset moved.</summary>
    public bool Done(long offset)
    {
        if (_pending.Count == 0 || offset < _pending.Peek()) return false; // already part of the prefix
        _done.Add(offset);
        var moved = false;
        while (_pending.Count > 0 && _done.Remove(_pending.Peek()))
        {
            Committable = _pending.Dequeue() + 1;
            moved = true;
        }

        return moved;
    }

    /// <summary>Records a successful commit of <paramref name="offset"/>.</summary>
    public void MarkCommitted(long offset)
    {
        if (Committed is not { } done || offset > done) Committed = offset;
    }
}
