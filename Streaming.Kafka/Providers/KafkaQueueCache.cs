using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Creates one <see cref="KafkaQueueCache"/> per queue and lets the queue's receiver find it, so that the receiver
/// can commit exactly what the cache's cursors have delivered.
/// </summary>
internal sealed class KafkaQueueAdapterCache(SimpleQueueCacheOptions options, string providerName, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null) : IQueueAdapterCache
{
    private readonly ConcurrentDictionary<QueueId, KafkaQueueCache> _caches = new();
    private readonly ILogger _logger = loggerFactory.CreateLogger($"{typeof(SimpleQueueCache).FullName}.{providerName}");
    private readonly TimeProvider _timeProvider = timeProvider ?? TimeProvider.System;

    public IQueueCache CreateQueueCache(QueueId queueId)
    {
        var cache = new KafkaQueueCache(new SimpleQueueCache(options.CacheSize, _logger), _timeProvider);
        _caches[queueId] = cache; // a queue that comes back to this silo gets a new agent and a new cache
        return cache;
    }

    /// <summary>The current cache of <paramref name="queueId"/> on this silo, if its pulling agent created one.</summary>
    public KafkaQueueCache? Find(QueueId queueId) => _caches.TryGetValue(queueId, out var cache) ? cache : null;
}

/// <summary>
/// Orleans' <see cref="SimpleQueueCache"/>, plus exact delivery progress. The simple cache reports delivered batches
/// only when a whole tenth of it is behind every cursor, and not at all for what is delivered when the queue moves to
/// another silo; so each cursor it hands out is wrapped to remember which message it is delivering.
/// </summary>
/// <remarks>
/// The pulling agent delivers a stream's batches one at a time, in order, and moves a cursor on only after the previous
/// batch was delivered (or given up on through the failure handler). So every message older than the oldest one a
/// cursor is still holding has been delivered to every subscriber: that is <see cref="DeliveredBelow"/>. A cursor that
/// has caught up holds nothing; new data for its stream reaches it (through <see cref="IQueueCacheCursor.Refresh"/> or
/// a new pinned cursor) in the same agent turn that adds the data. The agent calls the cache and the receiver from one
/// turn at a time, so no locking is needed beyond that.
/// Delivering several batches per call (<c>BatchContainerBatchSize</c> above 1) would break the one-at-a-time rule,
/// so the provider refuses that setting.
/// </remarks>
internal sealed class KafkaQueueCache(SimpleQueueCache inner, TimeProvider timeProvider) : IQueueCache
{
    private readonly HashSet<TrackingCursor> _cursors = [];
    // How many cursors hold each offset: the smallest key is the oldest message still in delivery (O(log n) a move,
    // where scanning every cursor — one per active stream — cost more than the delivery itself).
    private readonly SortedDictionary<long, int> _holds = [];
    // Offsets still held by cursors that were disposed before they moved past them, per stream: see Release.
    private readonly Dictionary<StreamId, List<long>> _orphans = [];
    // Live cursors per stream, and a clock of cursor creations and moves: tells a replaced cursor from a dropped one.
    private readonly Dictionary<StreamId, List<TrackingCursor>> _byStream = [];
    // Streams with cached messages and no cursor yet (the agent is still registering them): their oldest offset and
    // when it was added. See AddToCache.
    private readonly Dictionary<StreamId, (long Offset, long AddedAt)> _unclaimed = [];
    private long _clock;

    /// <summary>How long a stream's messages wait for a cursor before they count as having no subscriber.</summary>
    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(30);
    private long _nextAfterAdded = -1;
    private long _newestStart = -1;

    /// <summary>
    /// Delivery progress as it stood when the pulling agent, shutting down, had drained its deliveries and was about to
    /// dispose every cursor (<see cref="UpdateDeliveryProgress"/>); null while running, or if the agent did not report.
    /// After that moment the cursors are gone, so <see cref="DeliveredBelow"/> would say too much.
    /// </summary>
    public long? FinalDeliveredBelow { get; private set; }

    /// <summary>
    /// How long a cursor of <paramref name="streamId"/> has been holding <paramref name="offset"/> (trying to deliver it),
    /// or null if none is.
    /// </summary>
    public TimeSpan? HeldFor(StreamId streamId, long offset)
    {
        TimeSpan? longest = null;
        var now = timeProvider.GetTimestamp();
        foreach (var cursor in _cursors)
        {
            if (cursor.StreamId.Equals(streamId) && cursor.HeldOffset == offset)
            {
                var held = timeProvider.GetElapsedTime(cursor.HeldSince, now);
                if (longest is not { } other || held > other) longest = held;
            }
        }

        return longest;
    }

    /// <summary>
    /// Called by the pulling agent when it shuts down, after its deliveries have drained and before it disposes the
    /// cursors (its own token is the oldest last-delivered token over all streams, which a quiet stream keeps far
    /// behind; the cursors say more).
    /// </summary>
    public void UpdateDeliveryProgress(StreamSequenceToken? earliestSubscriptionToken, DateTime utcNow)
        => FinalDeliveredBelow = DeliveredBelow();

    /// <summary>
    /// Every message of this queue below the returned offset has been delivered to every subscriber; null when nothing
    /// was added yet.
    /// </summary>
    public long? DeliveredBelow()
    {
        if (_nextAfterAdded < 0) return null;
        foreach (var held in _holds.Keys)
        {
            return Math.Min(held, _nextAfterAdded); // the smallest key
        }

        return _nextAfterAdded;
    }

    public int GetMaxAddCount() => inner.GetMaxAddCount();

    /// <remarks>
    /// A message of a stream that has no cursor yet — the agent registers a stream it has not seen (after it started,
    /// or after the stream went inactive) asynchronously, and opens the cursor at that message afterwards — is held
    /// until a cursor of its stream exists, or for <see cref="ClaimTimeout"/> (a stream nobody subscribes to): it must
    /// neither be committed nor purged before it could be delivered. (Orleans' cache purges the oldest messages no
    /// cursor is at; a cursor then opened at a purged message starts from the newest one instead, skipping them. A
    /// queue handed to another silo mid-stream lost its first hundred messages that way.)
    /// </remarks>
    public void AddToCache(IList<IBatchContainer> messages)
    {
        inner.AddToCache(messages);
        foreach (var message in messages)
        {
            if (message.SequenceToken is not KafkaSequenceToken token) continue;
            // A batch of a partition stream spans offsets from its token's to its last event's.
            var last = message is KafkaBatchContainer container ? container.LastOffset : token.Offset;
            if (last >= _nextAfterAdded)
            {
                _nextAfterAdded = last + 1;
                _newestStart = token.Offset;
            }

            if (!_byStream.ContainsKey(message.StreamId) && !_unclaimed.ContainsKey(message.StreamId))
            {
                _unclaimed[message.StreamId] = (token.Offset, Now);
                Hold(null, token.Offset);
            }
        }
    }

    /// <summary>Streams whose cached messages wait for a cursor (for tests and logs).</summary>
    public int UnclaimedStreams => _unclaimed.Count;

    /// <summary>
    /// <see cref="DeliveredBelow"/> as of the agent's last read attempt (it tries every pull period, even when the
    /// cache is full and it reads nothing); what the receiver commits on release if the agent does not report.
    /// </summary>
    public long? LastDeliveredBelow { get; private set; }

    /// <summary>For logs: the oldest message still in delivery at the agent's last read attempt.</summary>
    public string LastOldestHold => LastDeliveredBelow is { } below && below < _nextAfterAdded ? $"offset {below}" : "none";

    public bool TryPurgeFromCache(out IList<IBatchContainer> purgedItems)
    {
        ExpireUnclaimed();
        LastDeliveredBelow = DeliveredBelow();
        if (_unclaimed.Count > 0)
        {
            // Not while a registering stream's messages could go: the agent waits (the cache is full) a moment instead.
            purgedItems = null!;
            return false;
        }

        return inner.TryPurgeFromCache(out purgedItems!);
    }

    private void ExpireUnclaimed()
    {
        if (_unclaimed.Count == 0) return;
        var now = Now;
        List<StreamId>? expired = null;
        foreach (var (streamId, (_, addedAt)) in _unclaimed)
        {
            if (timeProvider.GetElapsedTime(addedAt, now) >= ClaimTimeout) (expired ??= []).Add(streamId);
        }

        foreach (var streamId in expired ?? []) Claim(streamId);
    }

    private void Claim(StreamId streamId)
    {
        if (_unclaimed.Remove(streamId, out var unclaimed)) Hold(unclaimed.Offset, null);
    }

    [Obsolete("Use TryGetCacheCursor instead.")]
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token)
        => Track(streamId, inner.GetCacheCursor(streamId, token), StartOf(token));

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursor(StreamId streamId, StreamSequenceToken? token)
        => Track(streamId, ((IQueueCache)inner).TryGetCacheCursor(streamId, token), StartOf(token));

    // Until it moves, a cursor at a start position could deliver anything still cached: it holds everything.
    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursorAtPosition(StreamId streamId, StreamSubscriptionStartPosition startPosition)
        => Track(streamId, ((IQueueCache)inner).TryGetCacheCursorAtPosition(streamId, startPosition), long.MinValue);

    public bool IsUnderPressure() => inner.IsUnderPressure();

    // A cursor given a token delivers from there on; one given none starts at the newest message, which it may deliver.
    private long StartOf(StreamSequenceToken? token) => token is KafkaSequenceToken kafka ? kafka.Offset : _newestStart;

    private QueueCacheCursorResult<IQueueCacheCursor> Track(StreamId streamId, QueueCacheCursorResult<IQueueCacheCursor> result, long start)
        => result.Kind == QueueCacheCursorResultKind.Success && result.Cursor is { } cursor
            ? QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(Track(streamId, cursor, start))
            : result;

    private TrackingCursor Track(StreamId streamId, IQueueCacheCursor cursor, long start)
    {
        var tracking = new TrackingCursor(this, streamId, cursor, start);
        _cursors.Add(tracking);
        if (!_byStream.TryGetValue(streamId, out var live)) _byStream[streamId] = live = [];
        live.Add(tracking);
        Hold(null, start);
        Claim(streamId);
        AdoptOrphan(streamId, start);
        return tracking;
    }

    /// <summary>Offsets held by disposed cursors that no new cursor took over (for tests and logs).</summary>
    public int OrphanedHolds => _orphans.Values.Sum(o => o.Count);

    /// <remarks>
    /// The agent disposes a cursor in the middle of a delivery when it drops a consumer or a stream registration — it
    /// does so while a silo is being stopped or killed, before it reports its final progress. Forgetting that cursor's
    /// hold would let the commit pass a message nobody delivered, and the next owner of the partition would never read
    /// it. So the hold stays, orphaned, until a new cursor of the same stream starts at or before it (the agent
    /// recovering the consumer, or registering the stream again), or the queue is released: then the next owner reads
    /// from there again, and subscribers drop what they had by offset. A cursor that had caught up holds nothing, and
    /// neither does one the agent replaced after a delivery (it creates the new cursor first, then disposes the old).
    /// </remarks>
    private void Release(TrackingCursor cursor)
    {
        if (!_cursors.Remove(cursor)) return;
        var live = _byStream[cursor.StreamId];
        live.Remove(cursor);
        var replaced = live.Exists(other => other.CreatedAt > cursor.TouchedAt);
        if (live.Count == 0) _byStream.Remove(cursor.StreamId);
        if (!replaced && cursor.HeldOffset is { } held && held != long.MinValue)
        {
            if (!_orphans.TryGetValue(cursor.StreamId, out var orphans)) _orphans[cursor.StreamId] = orphans = [];
            orphans.Add(held);
            return;
        }

        Hold(cursor.HeldOffset, null);
    }

    // A new cursor of the stream delivers from 'start' on: it takes over the lowest orphaned hold at or after it.
    private void AdoptOrphan(StreamId streamId, long start)
    {
        if (!_orphans.TryGetValue(streamId, out var orphans)) return;
        var index = -1;
        for (var i = 0; i < orphans.Count; i++)
        {
            if (orphans[i] >= start && (index < 0 || orphans[i] < orphans[index])) index = i;
        }

        if (index < 0) return;
        Hold(orphans[index], null);
        orphans.RemoveAt(index);
        if (orphans.Count == 0) _orphans.Remove(streamId);
    }

    private void Hold(long? previous, long? next)
    {
        if (previous == next) return;
        if (previous is { } released && _holds.TryGetValue(released, out var count))
        {
            if (count == 1) _holds.Remove(released);
            else _holds[released] = count - 1;
        }

        if (next is { } held) _holds[held] = _holds.GetValueOrDefault(held) + 1;
    }

    private long Now => timeProvider.GetTimestamp();

    private sealed class TrackingCursor(KafkaQueueCache owner, StreamId streamId, IQueueCacheCursor inner, long start) : IQueueCacheCursor
    {
        public StreamId StreamId => streamId;

        /// <summary>The offset of the message this cursor is delivering or may deliver next; null once caught up.</summary>
        public long? HeldOffset { get; private set; } = start;

        /// <summary>When the cursor moved onto <see cref="HeldOffset"/> (a <see cref="TimeProvider"/> timestamp).</summary>
        public long HeldSince { get; private set; } = owner.Now;

        /// <summary>The cache's clock when this cursor was created.</summary>
        public long CreatedAt { get; } = ++owner._clock;

        /// <summary>The cache's clock when this cursor was created or last moved.</summary>
        public long TouchedAt { get; private set; } = owner._clock;

        public IBatchContainer? GetCurrent(out Exception? exception) => inner.GetCurrent(out exception);

        [Obsolete("Use MoveNextWithResult instead.")]
        public bool MoveNext() => MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success;

        public QueueCacheCursorMoveResult MoveNextWithResult()
        {
            var result = inner.MoveNextWithResult();
            if (result.Kind == QueueCacheCursorMoveResultKind.NoData)
            {
                Move(null);
            }
            else if (result.Kind == QueueCacheCursorMoveResultKind.Success && inner.GetCurrent(out _) is { SequenceToken: KafkaSequenceToken token })
            {
                Move(token.Offset);
                HeldSince = owner.Now;
            }

            return result; // a cache miss leaves the cursor where it was
        }

        public void Refresh(StreamSequenceToken token)
        {
            // New messages of this stream arrived from 'token' on; nothing from there is delivered yet.
            if (token is KafkaSequenceToken kafka && (HeldOffset is not { } held || kafka.Offset < held))
            {
                Move(kafka.Offset);
            }

            inner.Refresh(token);
        }

        public void RecordDeliveryFailure() => inner.RecordDeliveryFailure();

        public void Dispose()
        {
            owner.Release(this);
            inner.Dispose();
        }

        private void Move(long? offset)
        {
            TouchedAt = ++owner._clock;
            if (owner._cursors.Contains(this)) owner.Hold(HeldOffset, offset);
            HeldOffset = offset;
        }
    }
}
