using System.Diagnostics.Metrics;
using Analytics.Grains.Interfaces.Events;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Reads one Kafka partition for one Orleans queue. The partition is assigned manually (no group rebalancing: Orleans
/// decides which silo owns the queue) and read from the group's committed offset. Offsets are committed only up to the
/// longest prefix of messages that the cache reports delivered (<see cref="MessagesDeliveredAsync(IList{IBatchContainer}, CancellationToken)"/>)
/// or that went to the dead-letter sink, and once more on <see cref="Shutdown"/>, before the queue moves to another silo.
/// </summary>
internal sealed partial class KafkaQueueAdapterReceiver : IQueueAdapterReceiver
{
    private readonly string _providerName;
    private readonly KafkaStreamOptions _options;
    private readonly TopicPartition _topicPartition;
    private readonly IKafkaDeadLetterSink _deadLetterSink;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly OffsetCommitTracker _tracker = new();
    private readonly Queue<KafkaDeadLetter> _unhandledDeadLetters = new();
    private readonly KeyValuePair<string, object?>[] _tags;
    // Guards _consumer against the metrics callback, which runs on another thread and must never touch a disposed consumer.
    private readonly Lock _consumerGate = new();
    private IConsumer<Ignore, byte[]>? _consumer;
    private long? _nextExpected;
    private long _nextToRead = -1;

    public KafkaQueueAdapterReceiver(
        string providerName,
        KafkaStreamOptions options,
        int partition,
        IKafkaDeadLetterSink deadLetterSink,
        TimeProvider timeProvider,
        ILogger<KafkaQueueAdapterReceiver> logger)
    {
        _providerName = providerName;
        _options = options;
        _topicPartition = new TopicPartition(options.Topic, new Partition(partition));
        _deadLetterSink = deadLetterSink;
        _timeProvider = timeProvider;
        _logger = logger;
        _tags = [new("provider", providerName), new("topic", options.Topic), new("partition", partition)];
    }

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

    /// <summary>The offset tracker, for tests.</summary>
    internal OffsetCommitTracker Tracker => _tracker;

    public Task Initialize(TimeSpan timeout) => EnsureStartedAsync(timeout);

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        // Orleans assumes Initialize succeeded even when it threw; start here instead if it did not.
        var consumer = _consumer ?? await EnsureStartedAsync(_options.StartupTimeout);
        var committableBefore = _tracker.Committable;
        await RetryDeadLettersAsync(cancellationToken);

        var limit = Math.Min(maxCount, _options.PollBatchSize);
        var batches = new List<IBatchContainer>();
        for (var read = 0; read < limit; read++)
        {
            // A zero timeout only takes what librdkafka has fetched already, so the pulling agent's turn never blocks.
            var result = Consume(consumer);
            if (result is null) break;
            if (result.IsPartitionEOF) break;
            if (await AcceptAsync(result, cancellationToken) is { } batch) batches.Add(batch);
        }

        if (batches.Count > 0) KafkaStreamMetrics.Events.Add(batches.Count, _tags);

        // Dead letters never reach the cache, so no delivery report would commit past them: when they alone moved
        // the committable offset (e.g. a run of bad messages), commit here.
        if (_tracker.Committable != committableBefore) await CommitAsync(consumer);
        return batches;
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    /// <summary>
    /// Called by the pulling agent with the batches the cache purged: every cursor has moved past them, so every
    /// subscriber has been given them. Batches whose delivery failed are not reported by the cache, and so hold the
    /// commit back.
    /// </summary>
    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        var moved = false;
        foreach (var message in messages)
        {
            if (message is KafkaBatchContainer batch && batch.Partition == _topicPartition.Partition.Value)
            {
                moved |= _tracker.Done(batch.Offset);
            }
        }

        if (moved) await CommitAsync();
    }

    public async Task Shutdown(TimeSpan timeout)
    {
        KafkaStreamMetrics.Untrack(this);
        IConsumer<Ignore, byte[]>? consumer;
        lock (_consumerGate)
        {
            consumer = _consumer;
            _consumer = null;
        }

        if (consumer is null) return;
        try
        {
            // Flush what is delivered before the queue moves on: the next owner resumes from here. Anything read but
            // not yet reported delivered is read again by it (at least once).
            await CommitAsync(consumer);
            LogShutdown(_logger, _providerName, _topicPartition.Topic, _topicPartition.Partition.Value, _tracker.Committed, _tracker.PendingCount);
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
            KafkaStreamMetrics.Track(this);
            LogAssigned(_logger, _providerName, _topicPartition.Topic, _topicPartition.Partition.Value, start.IsSpecial ? "none (auto.offset.reset " + _options.AutoOffsetReset + ")" : start.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return consumer;
        }
        catch (Exception ex)
        {
            LogStartFailed(_logger, _providerName, _topicPartition.Topic, _topicPartition.Partition.Value, ex);
            consumer.Dispose();
            throw;
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

    private async Task<IBatchContainer?> AcceptAsync(ConsumeResult<Ignore, byte[]> result, CancellationToken cancellationToken)
    {
        var partition = result.Partition.Value;
        var offset = result.Offset.Value;
        if (_nextExpected is { } expected && offset > expected)
        {
            var missed = offset - expected;
            KafkaStreamMetrics.MissedOffsets.Add(missed, _tags);
            LogOffsetGap(_logger, _providerName, result.Topic, partition, expected, offset - 1, missed);
        }

        _nextExpected = offset + 1;
        Volatile.Write(ref _nextToRead, offset + 1);
        _tracker.Read(offset);

        var payload = result.Message.Value ?? [];
        var now = _timeProvider.GetUtcNow();
        if (UserEventJson.TryParse(payload, now, out var userEvent, out var rejection))
        {
            var streamId = StreamId.Create(KafkaStreamNamespaces.UserEvents, userEvent.UserId);
            return new KafkaBatchContainer(streamId, userEvent, new KafkaSequenceToken(partition, offset));
        }

        var deadLetter = new KafkaDeadLetter(result.Topic, partition, offset, payload, rejection, now);
        KafkaStreamMetrics.DeadLetters.Add(1, _tags);
        if (_unhandledDeadLetters.Count > 0 || !await TryHandleDeadLetterAsync(deadLetter, cancellationToken))
        {
            _unhandledDeadLetters.Enqueue(deadLetter); // keep their order; retried on the next pull
        }

        return null;
    }

    private async Task RetryDeadLettersAsync(CancellationToken cancellationToken)
    {
        while (_unhandledDeadLetters.TryPeek(out var deadLetter) && await TryHandleDeadLetterAsync(deadLetter, cancellationToken))
        {
            _unhandledDeadLetters.Dequeue();
        }
    }

    private async Task<bool> TryHandleDeadLetterAsync(KafkaDeadLetter deadLetter, CancellationToken cancellationToken)
    {
        try
        {
            await _deadLetterSink.HandleAsync(deadLetter, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogDeadLetterSinkFailed(_logger, _providerName, deadLetter.Topic, deadLetter.Partition, deadLetter.Offset, ex);
            return false;
        }

        _tracker.Done(deadLetter.Offset);
        return true;
    }

    private Task CommitAsync() => _consumer is { } consumer ? CommitAsync(consumer) : Task.CompletedTask;

    private async Task CommitAsync(IConsumer<Ignore, byte[]> consumer)
    {
        if (!_tracker.HasUncommitted || _tracker.Committable is not { } offset) return;
        try
        {
            await Task.Run(() => consumer.Commit([new TopicPartitionOffset(_topicPartition, new Offset(offset))])).ConfigureAwait(true);
            _tracker.MarkCommitted(offset);
            LogCommitted(_logger, _providerName, _topicPartition.Topic, _topicPartition.Partition.Value, offset);
        }
        catch (KafkaException ex)
        {
            // Nothing is lost: the offset stays uncommitted and is tried again with the next delivery or at shutdown.
            LogCommitFailed(_logger, _providerName, _topicPartition.Topic, _topicPartition.Partition.Value, offset, ex.Error.Code, ex.Error.Reason, ex);
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

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Stream provider {Provider}: the dead-letter sink failed for {Topic}[{Partition}]@{Offset}; the offset stays uncommitted and the sink is tried again")]
    private static partial void LogDeadLetterSinkFailed(ILogger logger, string provider, string topic, int partition, long offset, Exception exception);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Debug, Message = "Stream provider {Provider} committed {Topic}[{Partition}] at {Offset}")]
    private static partial void LogCommitted(ILogger logger, string provider, string topic, int partition, long offset);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Stream provider {Provider} could not commit {Topic}[{Partition}] at {Offset} ({Code}: {Reason}); it is tried again later")]
    private static partial void LogCommitFailed(ILogger logger, string provider, string topic, int partition, long offset, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Information, Message = "Stream provider {Provider} released {Topic}[{Partition}]: committed {Committed}, {Pending} messages read but not reported delivered will be read again by the next owner")]
    private static partial void LogShutdown(ILogger logger, string provider, string topic, int partition, long? committed, int pending);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Stream provider {Provider}: Kafka consume error {Code}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string provider, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Warning, Message = "Stream provider {Provider}: Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, string provider, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Critical, Message = "Stream provider {Provider}: fatal Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaFatal(ILogger logger, string provider, ErrorCode code, string reason);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Debug, Message = "Stream provider {Provider}: librdkafka {Level} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, string provider, string level, string facility, string text);
}
