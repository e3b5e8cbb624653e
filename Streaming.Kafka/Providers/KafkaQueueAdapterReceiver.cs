using System.Diagnostics.Metrics;
using System.Globalization;
using Analytics.Grains.Interfaces.Events;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Reads one Kafka partition for one Orleans queue. The partition is assigned manually (no group rebalancing: Orleans
/// decides which silo owns the queue) and read from the group's committed offset. Each pull is first given to the
/// <see cref="IKafkaMessageSink"/> (raw events, dead letters) and only then to Orleans. Offsets are committed only up
/// to the longest prefix of messages that are handled: stored as dead letters, or delivered to every subscriber as the
/// queue's <see cref="KafkaQueueCache"/> tracks it. The receiver commits every <see cref="KafkaStreamOptions.CommitInterval"/>
/// and once more on <see cref="Shutdown"/>, before the queue moves to another silo.
/// </summary>
internal sealed partial class KafkaQueueAdapterReceiver : IQueueAdapterReceiver
{
    private readonly string _providerName;
    private readonly KafkaStreamOptions _options;
    private readonly QueueId _queueId;
    private readonly TopicPartition _topicPartition;
    private readonly IKafkaMessageSink _sink;
    private readonly KafkaQueueAdapterCache? _caches;
    private readonly Serializer _serializer;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly OffsetCommitTracker _tracker = new();
    private readonly KafkaStreamProviderStatus? _status;
    private readonly IKafkaCommitGate? _gate;
    private readonly IKafkaDeliveryObserver? _observer;
    private readonly int _epoch;
    private readonly SiloAddress? _silo;
    private readonly StreamId _batchStreamId;
    // With a commit gate: every message handed to Orleans and not yet made durable by the gate, in offset order.
    private readonly Queue<KafkaBatchContainer> _ungated = new();
    // Events that became dead letters because a subscriber kept failing on them: never handed to a gate for recovery.
    private readonly HashSet<long> _deliveryFailed = [];
    private Task? _gatedCommit;
    // Stored by the sink, not yet handed to Orleans.
    private readonly Queue<KafkaBatchContainer> _stored = new();
    // Valid events handed to Orleans and not yet committable: the failure handler dead-letters from here.
    private readonly Queue<KafkaBatchContainer> _inFlight = new();
    private readonly KeyValuePair<string, object?>[] _tags;
    private readonly CancellationTokenSource _shutdown = new();
    // Guards _consumer against the metrics callback, which runs on another thread and must never touch a disposed consumer.
    private readonly Lock _consumerGate = new();
    private IConsumer<Ignore, byte[]>? _consumer;
    private KafkaQueueCache? _cache;
    private UnstoredPull? _unstored;
    private DateTimeOffset _storeRetryAt;
    private DateTimeOffset _lastCommitAt;
    private long? _nextExpected;
    private long _nextToRead = -1;
    private long _missedOffsets;

    public KafkaQueueAdapterReceiver(
        string providerName,
        KafkaStreamOptions options,
        QueueId queueId,
        int partition,
        IKafkaMessageSink sink,
        KafkaQueueAdapterCache? caches,
        Serializer serializer,
        TimeProvider timeProvider,
        ILogger<KafkaQueueAdapterReceiver> logger,
        KafkaStreamProviderStatus? status = null,
        IKafkaCommitGate? gate = null,
        int epoch = 0,
        IKafkaDeliveryObserver? observer = null,
        SiloAddress? silo = null)
    {
        _epoch = epoch;
        _silo = silo;
        _batchStreamId = StreamId.Create(KafkaStreamNamespaces.PartitionBatches, partition.ToString(CultureInfo.InvariantCulture));
        _observer = observer;
        _status = status;
        _gate = gate;
        _providerName = providerName;
        _options = options;
        _queueId = queueId;
        _topicPartition = new TopicPartition(options.Topic, new Partition(partition));
        _sink = sink;
        _caches = caches;
        _serializer = serializer;
        _timeProvider = timeProvider;
        _logger = logger;
        _tags = [new("provider", providerName), new("topic", options.Topic), new("partition", partition)];
    }

    /// <summary>Messages delivered and not yet confirmed by the commit gate beyond which delivery pauses.</summary>
    private int MaxUngated => Math.Max(20 * _options.PollBatchSize, 10 * _options.CacheSize);

    /// <summary>The partition this receiver reads.</summary>
    public int Partition => _topicPartition.Partition.Value;

    /// <summary>The offset tracker, for tests.</summary>
    internal OffsetCommitTracker Tracker => _tracker;

    /// <summary>
    /// Messages in the partition that this receiver has not read yet: the partition's high watermark (as last reported
    /// by the broker with a fetch, so no round trip) minus the next offset to read; null before both are known.
    /// </summary>
    internal Measurement<long>? ObserveLag()
    {
        lock (_consumerGate)
        {
            if (_consumer is not { } consumer) return null;
            var high = consumer.GetWatermarkOffsets(_topicPartition).High;
            var next = Volatile.Read(ref _nextToRead);
            if (high.IsSpecial || next < 0) return null;
            return new Measurement<long>(Math.Max(0, high.Value - next), _tags);
        }
    }

    public Task Initialize(TimeSpan timeout) => EnsureStartedAsync(timeout);

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        // Orleans assumes Initialize succeeded even when it threw; start here instead if it did not.
        var consumer = _consumer ?? await EnsureStartedAsync(_options.StartupTimeout);
        await CommitDeliveredAsync(consumer, force: false, forcedDeadline: CancellationToken.None);

        // While the commit gate lags far behind (it fails, or the subscribers' storage is slow), deliver nothing more:
        // what it has not confirmed stays in memory until it does.
        if (_gate is not null && _ungated.Count >= MaxUngated) return [];

        // A stored pull is handed over in slices the cache can take: the sink's batch size (PollBatchSize) does not
        // depend on the cache's, which is best kept small (Orleans' simple cache scans it on every delivery).
        if (_stored.Count > 0) return HandOver(maxCount);

        if (_unstored is null)
        {
            var pull = Read(consumer, _options.PollBatchSize);
            if (pull is null) return [];
            _unstored = pull;
        }

        if (_timeProvider.GetUtcNow() < _storeRetryAt) return [];
        if (!await TryStoreAsync(_unstored.Batch, cancellationToken))
        {
            _storeRetryAt = _timeProvider.GetUtcNow() + _options.StoreRetryDelay;
            return [];
        }

        var stored = _unstored;
        _unstored = null;
        foreach (var deadLetter in stored.Batch.DeadLetters) _tracker.Done(deadLetter.Offset);
        foreach (var container in stored.Containers.Cast<KafkaBatchContainer>()) _stored.Enqueue(container);
        if (stored.Batch.DeadLetters.Count > 0) KafkaStreamMetrics.DeadLetters.Add(stored.Batch.DeadLetters.Count, _tags);
        return HandOver(maxCount);
    }

    private List<IBatchContainer> HandOver(int maxCount)
    {
        var slice = new List<IBatchContainer>(Math.Min(maxCount, _stored.Count));
        while (slice.Count < maxCount && _stored.TryDequeue(out var container))
        {
            slice.Add(container);
            _inFlight.Enqueue(container);
            if (_gate is not null) _ungated.Enqueue(container);
        }

        if (slice.Count > 0) KafkaStreamMetrics.Events.Add(slice.Count, _tags);
        return slice;
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    /// <summary>
    /// Called by the pulling agent with the batches the cache purged: every cursor has moved past them. The cache's
    /// own progress says at least as much, so this only commits.
    /// </summary>
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
        => _consumer is { } consumer ? CommitDeliveredAsync(consumer, force: false, forcedDeadline: CancellationToken.None) : Task.CompletedTask;

    /// <summary>
    /// Called by the failure handler once Orleans gave up delivering the event at <paramref name="token"/> to one
    /// subscriber (after retrying for <see cref="KafkaStreamOptions.MaxDeliveryTime"/>): it becomes a dead letter, so
    /// that one poison event never stops the partition. If the sink cannot store it before the queue shuts down, the
    /// offset is never committed and the next owner delivers it again.
    /// </summary>
    internal async Task DeadLetterUndeliveredAsync(GuidId subscriptionId, StreamId streamId, KafkaSequenceToken token)
    {
        // Orleans also gives up early, without retrying for MaxDeliveryTime, when the queue is being handed over or
        // the consumer is gone. That event is not poison: it stays uncommitted and is delivered again.
        _cache ??= _caches?.Find(_queueId);
        var heldFor = _cache?.HeldFor(streamId, token.Offset);
        if (heldFor is not { } tried || tried < _options.MaxDeliveryTime * 0.9)
        {
            LogDeliveryAbandoned(_logger, _providerName, _topicPartition.Topic, Partition, token.Offset, streamId.ToString(), heldFor ?? TimeSpan.Zero);
            return;
        }

        KafkaStreamMetrics.DeliveryFailures.Add(1, _tags);
        var reason = $"{KafkaDeadLetter.DeliveryFailedCode}: subscription {subscriptionId} of stream {streamId} failed on every delivery for {_options.MaxDeliveryTime}";
        var now = _timeProvider.GetUtcNow();
        var container = _inFlight.FirstOrDefault(c => c.Offset == token.Offset);
        // A batch is given up on as a whole: each of its events becomes a dead letter of its own.
        List<KafkaDeadLetter> deadLetters = container?.Batch is { } failedBatch
            ? [.. failedBatch.Events.Select(e => new KafkaDeadLetter(_topicPartition.Topic, Partition, e.Offset, UserEventJson.ToUtf8Bytes(e.Event), reason, now))]
            : [new KafkaDeadLetter(
                _topicPartition.Topic, Partition, token.Offset,
                container is null ? [] : container.Event is { } userEvent ? UserEventJson.ToUtf8Bytes(userEvent) : container.RawPayload ?? [],
                reason, now)];
        LogDeliveryFailed(_logger, _providerName, _topicPartition.Topic, Partition, token.Offset, streamId.ToString(), subscriptionId.ToString());
        var batch = new KafkaMessageBatch(_topicPartition.Topic, Partition, [], deadLetters);
        while (!_shutdown.IsCancellationRequested)
        {
            if (await TryStoreAsync(batch, _shutdown.Token))
            {
                foreach (var deadLetter in deadLetters) _deliveryFailed.Add(deadLetter.Offset);
                return;
            }

            try
            {
                await Task.Delay(_options.StoreRetryDelay, _timeProvider, _shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _tracker.Block(token.Offset);
    }

    public async Task Shutdown(TimeSpan timeout)
    {
        await _shutdown.CancelAsync();
        KafkaStreamMetrics.Untrack(this);
        _status?.OnReleased(Partition);
        IConsumer<Ignore, byte[]>? consumer;
        lock (_consumerGate)
        {
            consumer = _consumer;
            _consumer = null;
        }

        if (consumer is null) return;
        try
        {
            // Flush what is delivered before the queue moves on: the next owner resumes from here. Only messages still
            // being delivered, or read but not stored, are read again by it.
            // The agent has disposed its cursors by now: the cache's last word is what it reported before that (only
            // when no stream registration was pending), or else what its cursors said at the agent's last read attempt.
            if ((_cache?.FinalDeliveredBelow ?? _cache?.LastDeliveredBelow) is { } below && _tracker.DoneBelow(below)) ReleaseDelivered(below);
            using var deadline = new CancellationTokenSource(timeout);
            await CommitDeliveredAsync(consumer, force: true, fromCursors: false, deadline.Token);
            LogShutdown(_logger, _providerName, _topicPartition.Topic, Partition, _tracker.Committed, _tracker.PendingCount, _cache?.LastOldestHold ?? "unknown");
        }
        finally
        {
            await Task.Run(() =>
            {
                consumer.Close();
                consumer.Dispose();
            });
        }
    }

    private async Task<IConsumer<Ignore, byte[]>> EnsureStartedAsync(TimeSpan timeout)
    {
        if (_consumer is { } existing) return existing;
        var consumer = BuildConsumer();
        try
        {
            // Committed() and Assign() talk to the broker and block: keep them off the agent's scheduler.
            var committed = await Task.Run(() => consumer.Committed([_topicPartition], timeout)).ConfigureAwait(true);
            var start = committed.Count == 1 ? committed[0].Offset : Offset.Unset;
            _nextExpected = start.IsSpecial ? null : start.Value;
            Volatile.Write(ref _nextToRead, start.IsSpecial ? -1 : start.Value);
            consumer.Assign(new TopicPartitionOffset(_topicPartition, start));
            lock (_consumerGate) _consumer = consumer;
            _lastCommitAt = _timeProvider.GetUtcNow();
            KafkaStreamMetrics.Track(this);
            _status?.OnReading(Partition);
            LogAssigned(_logger, _providerName, _topicPartition.Topic, Partition, start.IsSpecial ? "none (auto.offset.reset " + _options.AutoOffsetReset + ")" : start.Value.ToString(CultureInfo.InvariantCulture));
            return consumer;
        }
        catch (Exception ex)
        {
            LogStartFailed(_logger, _providerName, _topicPartition.Topic, Partition, ex);
            consumer.Dispose();
            throw;
        }
    }

    /// <summary>Takes what librdkafka has fetched already (a zero timeout, so the agent's turn never blocks).</summary>
    private UnstoredPull? Read(IConsumer<Ignore, byte[]> consumer, int limit)
    {
        List<IBatchContainer>? containers = null;
        List<KafkaUserEvent>? events = null;
        List<KafkaDeadLetter>? deadLetters = null;
        List<KafkaUserEvent>? run = null; // user events not in a container yet (PartitionBatches)
        var missedBefore = _missedOffsets;
        for (var read = 0; read < limit; read++)
        {
            var result = Consume(consumer);
            if (result is null || result.IsPartitionEOF) break;
            var offset = TrackRead(result);
            var now = _timeProvider.GetUtcNow();
            var payload = result.Message.Value ?? [];
            if (IsOrleansMessage(result.Message.Headers))
            {
                // Containers stay in offset order: the user events before this message go first, as one batch.
                FlushRun(ref run, ref containers);
                if (DecodeOrleansMessage(payload, offset) is { } container) (containers ??= []).Add(container);
                else (deadLetters ??= []).Add(new KafkaDeadLetter(result.Topic, Partition, offset, payload, "InvalidOrleansMessage: the value is not a serialized Orleans stream message", now));
            }
            else if (UserEventJson.TryParse(payload, now, out var userEvent, out var rejection))
            {
                var kafkaEvent = new KafkaUserEvent(userEvent, Partition, offset, _epoch);
                (events ??= []).Add(kafkaEvent);
                if (_options.EventDelivery == KafkaEventDelivery.PartitionBatches)
                {
                    (run ??= []).Add(kafkaEvent);
                    continue;
                }

                var streamId = StreamId.Create(KafkaStreamNamespaces.UserEvents, userEvent.UserId);
                (containers ??= []).Add(new KafkaBatchContainer(streamId, userEvent, new KafkaSequenceToken(Partition, offset, epoch: _epoch)));
            }
            else
            {
                (deadLetters ??= []).Add(new KafkaDeadLetter(result.Topic, Partition, offset, payload, rejection.ToString(), now));
            }
        }

        FlushRun(ref run, ref containers);
        if (containers is null && deadLetters is null) return null;
        return new UnstoredPull(
            (IList<IBatchContainer>?)containers ?? [],
            new KafkaMessageBatch(_topicPartition.Topic, Partition, (IReadOnlyList<KafkaUserEvent>?)events ?? [], (IReadOnlyList<KafkaDeadLetter>?)deadLetters ?? [])
            {
                MissedOffsets = _missedOffsets - missedBefore,
            });
    }

    /// <summary>Makes the user events read since the last container one batch container of the partition's stream.</summary>
    private void FlushRun(ref List<KafkaUserEvent>? run, ref List<IBatchContainer>? containers)
    {
        if (run is not { Count: > 0 }) return;
        var batch = new KafkaEventBatch(Partition, _epoch, [.. run], _silo);
        (containers ??= []).Add(new KafkaBatchContainer(_batchStreamId, batch, new KafkaSequenceToken(Partition, batch.FirstOffset, epoch: _epoch)));
        run = null;
    }

    private long TrackRead(ConsumeResult<Ignore, byte[]> result)
    {
        var offset = result.Offset.Value;
        if (_nextExpected is { } expected && offset > expected)
        {
            var missed = offset - expected;
            _missedOffsets += missed;
            KafkaStreamMetrics.MissedOffsets.Add(missed, _tags);
            LogOffsetGap(_logger, _providerName, result.Topic, Partition, expected, offset - 1, missed);
        }

        _nextExpected = offset + 1;
        Volatile.Write(ref _nextToRead, offset + 1);
        _tracker.Read(offset);
        return offset;
    }

    private static bool IsOrleansMessage(Headers? headers)
        => headers is not null && headers.TryGetLastBytes(KafkaStreamMessage.HeaderName, out _);

    private KafkaBatchContainer? DecodeOrleansMessage(byte[] payload, long offset)
    {
        try
        {
            var message = _serializer.Deserialize<KafkaStreamMessage>(payload)
                ?? throw new InvalidOperationException("The value deserialized to null.");
            return new KafkaBatchContainer(message.StreamId, message.Events, message.RequestContext, new KafkaSequenceToken(Partition, offset, epoch: _epoch))
            {
                RawPayload = payload,
            };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogUndecodable(_logger, _providerName, _topicPartition.Topic, Partition, offset, ex);
            return null;
        }
    }

    private ConsumeResult<Ignore, byte[]>? Consume(IConsumer<Ignore, byte[]> consumer)
    {
        try
        {
            return consumer.Consume(TimeSpan.Zero);
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            LogConsumeError(_logger, _providerName, ex.Error.Code, ex.Error.Reason, ex);
            return null;
        }
    }

    private async Task<bool> TryStoreAsync(KafkaMessageBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await _sink.StoreAsync(batch, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            KafkaStreamMetrics.StoreFailures.Add(1, _tags);
            LogStoreFailed(_logger, _providerName, batch.Topic, batch.Partition, batch.Events.Count, batch.DeadLetters.Count, _options.StoreRetryDelay, ex.GetType().Name, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Moves the committable offset to what the cache reports delivered and commits it, at most every
    /// <see cref="KafkaStreamOptions.CommitInterval"/> unless forced. With a commit gate, the gate runs first, in the
    /// background unless forced, so delivery goes on while subscribers write their state.
    /// </summary>
    private async Task CommitDeliveredAsync(IConsumer<Ignore, byte[]> consumer, bool force, bool fromCursors = true, CancellationToken forcedDeadline = default)
    {
        _cache ??= _caches?.Find(_queueId);
        if (fromCursors && _cache?.DeliveredBelow() is { } below && _tracker.DoneBelow(below)) ReleaseDelivered(below);

        var now = _timeProvider.GetUtcNow();
        if (!_tracker.HasUncommitted || _tracker.Committable is not { } offset) return;
        if (!force && now - _lastCommitAt < _options.CommitInterval) return;
        if (_gate is null)
        {
            _lastCommitAt = now;
            await CommitAsync(consumer, offset);
            return;
        }

        if (_gatedCommit is { IsCompleted: false } running)
        {
            if (!force) return;
            try
            {
                await running.WaitAsync(forcedDeadline);
            }
            catch (OperationCanceledException)
            {
                LogCommitGateFailed(_logger, _providerName, _topicPartition.Topic, Partition, offset, 0, "the previous gate did not finish before the queue was released", null);
                return;
            }

            if (!_tracker.HasUncommitted) return;
        }

        _lastCommitAt = now;
        if (force)
        {
            await GateThenCommitAsync(_gate, consumer, offset, forcedDeadline, background: false);
        }
        else
        {
            // Cancelled when the queue is released: the release's own commit takes over.
            _gatedCommit = GateThenCommitAsync(_gate, consumer, offset, _shutdown.Token, background: true);
        }
    }

    /// <summary>Forgets the in-flight events below <paramref name="below"/> (all delivered) and tells the delivery observer.</summary>
    private void ReleaseDelivered(long below)
    {
        long? maxTicks = null;
        while (_inFlight.TryPeek(out var delivered) && delivered.LastOffset < below)
        {
            _inFlight.Dequeue();
            foreach (var (userEvent, _, _, _) in delivered.UserEvents)
            {
                if (maxTicks is not { } max || userEvent.EventTime.UtcTicks > max) maxTicks = userEvent.EventTime.UtcTicks;
            }
        }

        if (_observer is null || _tracker.Committable is not { } handled) return;
        try
        {
            _observer.OnDelivered(new KafkaDeliveryProgress(
                _topicPartition.Topic, Partition, _epoch, handled, maxTicks is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null));
        }
        catch (Exception ex)
        {
            LogObserverFailed(_logger, _providerName, _topicPartition.Topic, Partition, ex);
        }
    }

    /// <summary>Asks the gate to make the streams delivered below <paramref name="offset"/> durable, then commits it.</summary>
    private async Task GateThenCommitAsync(IKafkaCommitGate gate, IConsumer<Ignore, byte[]> consumer, long offset, CancellationToken cancellationToken, bool background)
    {
        // Offsets increase through the queue, so each stream's messages come in offset order.
        var spans = new Dictionary<StreamId, (long First, long Last, List<KafkaUserEvent> Events)>();
        foreach (var container in _ungated)
        {
            if (container.Offset >= offset) break;
            if (!spans.TryGetValue(container.StreamId, out var span)) span = (container.Offset, container.Offset, []);
            foreach (var userEvent in container.UserEvents)
            {
                if (!_deliveryFailed.Contains(userEvent.Offset)) span.Events.Add(userEvent);
            }

            spans[container.StreamId] = span with { Last = container.LastOffset };
        }

        var streams = spans.ToDictionary(s => s.Key, s => new KafkaStreamSpan(s.Value.First, s.Value.Last, s.Value.Events));

        if (streams.Count > 0)
        {
            var started = _timeProvider.GetTimestamp();
            try
            {
                await gate.PrepareCommitAsync(new KafkaCommitRange(_topicPartition.Topic, Partition, _epoch, offset, streams), cancellationToken);
            }
            catch (OperationCanceledException) when (background && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Nothing is committed: the same streams are offered again with the next commit, or the next owner
                // of the queue reads the events again.
                KafkaStreamMetrics.CommitGateFailures.Add(1, _tags);
                LogCommitGateFailed(_logger, _providerName, _topicPartition.Topic, Partition, offset, streams.Count, ex.Message, ex);
                return;
            }

            var elapsed = _timeProvider.GetElapsedTime(started);
            KafkaStreamMetrics.CommitGateDuration.Record(elapsed.TotalMilliseconds, _tags);
            LogCommitGated(_logger, _providerName, _topicPartition.Topic, Partition, offset, streams.Count, elapsed.TotalMilliseconds);
        }

        // Durable now, whatever happens to the commit itself (a failed one is simply tried again).
        while (_ungated.TryPeek(out var next) && next.LastOffset < offset) _ungated.Dequeue();
        _deliveryFailed.RemoveWhere(failed => failed < offset);

        // A background gate that outlived the queue's release must not commit on a consumer that is gone (or for a
        // partition that has moved on): the release committed what it could.
        if (background && _shutdown.IsCancellationRequested) return;
        await CommitAsync(consumer, offset);
    }

    private async Task CommitAsync(IConsumer<Ignore, byte[]> consumer, long offset)
    {
        try
        {
            await Task.Run(() => consumer.Commit([new TopicPartitionOffset(_topicPartition, new Offset(offset))])).ConfigureAwait(true);
            _tracker.MarkCommitted(offset);
            LogCommitted(_logger, _providerName, _topicPartition.Topic, Partition, offset);
        }
        catch (KafkaException ex)
        {
            // Nothing is lost: the offset stays uncommitted and is tried again with the next pull or at shutdown.
            LogCommitFailed(_logger, _providerName, _topicPartition.Topic, Partition, offset, ex.Error.Code, ex.Error.Reason, ex);
        }
    }

    private IConsumer<Ignore, byte[]> BuildConsumer()
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(_options.Properties))
        {
            BootstrapServers = _options.BootstrapServers,
            GroupId = _options.ConsumerGroup,
            AutoOffsetReset = _options.AutoOffsetReset,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            ClientId = $"{_providerName}-{_topicPartition.Partition.Value}-{Environment.MachineName}-{Environment.ProcessId}",
        };

        return new ConsumerBuilder<Ignore, byte[]>(config)
            .SetErrorHandler((_, error) =>
            {
                if (error.IsFatal) LogKafkaFatal(_logger, _providerName, error.Code, error.Reason);
                else LogKafkaError(_logger, _providerName, error.Code, error.Reason);
            })
            .SetLogHandler((_, message) => LogLibrdkafka(_logger, _providerName, message.Level.ToString(), message.Facility, message.Message))
            .Build();
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Stream provider {Provider} reads {Topic}[{Partition}] from committed offset {Offset}")]
    private static partial void LogAssigned(ILogger logger, string provider, string topic, int partition, string offset);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "Stream provider {Provider} could not start reading {Topic}[{Partition}]; it retries on the next pull")]
    private static partial void LogStartFailed(ILogger logger, string provider, string topic, int partition, Exception exception);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Stream provider {Provider}: offsets {FirstMissed}..{LastMissed} of {Topic}[{Partition}] were never read ({Missed} messages): the broker no longer had them")]
    private static partial void LogOffsetGap(ILogger logger, string provider, string topic, int partition, long firstMissed, long lastMissed, long missed);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Stream provider {Provider}: the message sink could not store {Events} events and {DeadLetters} dead letters of {Topic}[{Partition}] ({ErrorType}: {Error}); the partition delivers nothing and tries again in {RetryDelay}")]
    private static partial void LogStoreFailed(ILogger logger, string provider, string topic, int partition, int events, int deadLetters, TimeSpan retryDelay, string errorType, string error);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Error, Message = "Stream provider {Provider}: every delivery of {Topic}[{Partition}]@{Offset} on stream {StreamId} to subscription {SubscriptionId} failed; it becomes a dead letter")]
    private static partial void LogDeliveryFailed(ILogger logger, string provider, string topic, int partition, long offset, string streamId, string subscriptionId);

    [LoggerMessage(EventId = 2113, Level = LogLevel.Information, Message = "Stream provider {Provider}: delivery of {Topic}[{Partition}]@{Offset} on stream {StreamId} was abandoned after {HeldFor} (queue handed over, or consumer gone); it stays uncommitted and is delivered again")]
    private static partial void LogDeliveryAbandoned(ILogger logger, string provider, string topic, int partition, long offset, string streamId, TimeSpan heldFor);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Error, Message = "Stream provider {Provider}: {Topic}[{Partition}]@{Offset} is marked as an Orleans stream message but cannot be deserialized; it becomes a dead letter")]
    private static partial void LogUndecodable(ILogger logger, string provider, string topic, int partition, long offset, Exception exception);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Debug, Message = "Stream provider {Provider} committed {Topic}[{Partition}] at {Offset}")]
    private static partial void LogCommitted(ILogger logger, string provider, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Stream provider {Provider} could not commit {Topic}[{Partition}] at {Offset} ({Code}: {Reason}); it is tried again later")]
    private static partial void LogCommitFailed(ILogger logger, string provider, string topic, int partition, long offset, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 2114, Level = LogLevel.Warning, Message = "Stream provider {Provider}: the commit gate did not make the {Streams} streams of {Topic}[{Partition}] below {Offset} durable ({Error}); nothing is committed and it is tried again")]
    private static partial void LogCommitGateFailed(ILogger logger, string provider, string topic, int partition, long offset, int streams, string error, Exception? exception);

    [LoggerMessage(EventId = 2115, Level = LogLevel.Debug, Message = "Stream provider {Provider}: the commit gate made the {Streams} streams of {Topic}[{Partition}] below {Offset} durable in {ElapsedMs:F1} ms")]
    private static partial void LogCommitGated(ILogger logger, string provider, string topic, int partition, long offset, int streams, double elapsedMs);

    [LoggerMessage(EventId = 2116, Level = LogLevel.Warning, Message = "Stream provider {Provider}: the delivery observer failed on {Topic}[{Partition}]")]
    private static partial void LogObserverFailed(ILogger logger, string provider, string topic, int partition, Exception exception);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Information, Message = "Stream provider {Provider} released {Topic}[{Partition}]: committed {Committed}; the {Pending} messages read from there on are read again by the next owner (oldest still in delivery: {OldestInDelivery}); subscribers drop what they already had by offset")]
    private static partial void LogShutdown(ILogger logger, string provider, string topic, int partition, long? committed, int pending, string oldestInDelivery);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Stream provider {Provider}: Kafka consume error {Code}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string provider, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning, Message = "Stream provider {Provider}: Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, string provider, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Critical, Message = "Stream provider {Provider}: fatal Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaFatal(ILogger logger, string provider, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Debug, Message = "Stream provider {Provider}: librdkafka {Level} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, string provider, string level, string facility, string text);
}

/// <summary>A pull that the sink has not stored yet, kept until it has.</summary>
internal sealed record UnstoredPull(IList<IBatchContainer> Containers, KafkaMessageBatch Batch);
