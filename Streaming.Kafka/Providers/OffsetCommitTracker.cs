namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Which offset of one partition may be committed: the one after the longest run of read messages that are all
/// handled (delivered to every subscriber, or stored as a dead letter). A message not yet handled holds the commit
/// back, however many later ones are done, so a restart never skips it. Offsets the broker never gave us (gaps) are
/// not waited for. Not thread-safe: the pulling agent calls a receiver one call at a time.
/// </summary>
internal sealed class OffsetCommitTracker
{
    private readonly Queue<long> _pending = new();
    private readonly HashSet<long> _done = [];
    private readonly HashSet<long> _blocked = [];
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
        if (_pending.Count == 0 || offset < _pending.Peek() || _blocked.Contains(offset)) return false;
        _done.Add(offset);
        return Advance(below: long.MinValue);
    }

    /// <summary>Every read message below <paramref name="offset"/> was handled, except blocked ones; returns true if the committable offset moved.</summary>
    public bool DoneBelow(long offset) => Advance(offset);

    /// <summary>
    /// A read message must not be committed, whatever is reported later (a delivery failure that could not be stored
    /// as a dead letter): the commit stops before it, so the next owner of the partition reads it again.
    /// </summary>
    public void Block(long offset)
    {
        if (_pending.Count > 0 && offset >= _pending.Peek()) _blocked.Add(offset);
    }

    /// <summary>Records a successful commit of <paramref name="offset"/>.</summary>
    public void MarkCommitted(long offset)
    {
        if (Committed is not { } done || offset > done) Committed = offset;
    }

    private bool Advance(long below)
    {
        var moved = false;
        while (_pending.TryPeek(out var next) && !_blocked.Contains(next) && (next < below || _done.Remove(next)))
        {
            _pending.Dequeue();
            _done.Remove(next);
            Committable = next + 1;
            moved = true;
        }

        return moved;
    }
}
