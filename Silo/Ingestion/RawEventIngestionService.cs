using Analytics.Grains.Interfaces.Events;
using Analytics.Storage;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Analytics.Silo.Ingestion;

/// <summary>
/// Reads <c>user_events</c> and stores every message: valid events in <c>raw_events</c> (binary COPY), refused ones in
/// <c>dead_letters</c> with the reason, both in one transaction per batch. Offsets are committed only after their batch
/// is stored, so a crash replays at most one batch, and the writers ignore what is already stored: at least once in,
/// exactly once on disk.
/// </summary>
internal sealed partial class RawEventIngestionService(
    IOptions<KafkaIngestionOptions> options,
    IngestionBatchWriter batchWriter,
    IngestionStatus status,
    TimeProvider timeProvider,
    ILogger<RawEventIngestionService> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxPollWait = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan RevokeFlushTimeout = TimeSpan.FromSeconds(10);

    private readonly KafkaIngestionOptions _options = options.Value;
    private readonly OffsetGapDetector _gaps = new();
    private readonly List<RawEvent> _events = [];
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly Dictionary<TopicPartition, long> _nextOffsets = [];
    private CancellationToken _stopping;
    private bool _retrying;

    // Consume() blocks, so the loop gets a thread of its own instead of a thread-pool thread.
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private int BatchCount => _events.Count + _deadLetters.Count;

    private void Run(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        using var consumer = BuildConsumer();
        consumer.Subscribe(_options.Topic);
        LogStarted(logger, _options.Topic, _options.ConsumerGroup, _options.BootstrapServers);

        var batchDeadline = DateTimeOffset.MaxValue;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // A rebalance callback inside Consume may have stored or dropped the batch.
                if (BatchCount == 0) batchDeadline = DateTimeOffset.MaxValue;

                var wait = batchDeadline - timeProvider.GetUtcNow();
                var result = Consume(consumer, wait < TimeSpan.Zero ? TimeSpan.Zero : wait < MaxPollWait ? wait : MaxPollWait);
                if (result is not null)
                {
                    if (BatchCount == 0) batchDeadline = timeProvider.GetUtcNow() + _options.MaxBatchDelay;
                    Accept(result);
                }

                if (BatchCount >= _options.MaxBatchSize || (BatchCount > 0 && timeProvider.GetUtcNow() >= batchDeadline))
                {
                    StoreAndCommit(consumer);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Shutting down: store what we hold if PostgreSQL answers quickly, then leave the group cleanly so that
            // the partitions move to another silo at once instead of after the session timeout.
            if (BatchCount > 0 && !TryStoreOnce(TimeSpan.FromSeconds(10), CancellationToken.None, out var error))
            {
                LogFinalFlushFailed(logger, BatchCount, error);
            }
            else
            {
                Commit(consumer);
            }

            consumer.Close();
            status.Running = false;
            LogStopped(logger, status.Consumed, status.Inserted);
        }
    }

    private ConsumeResult<Ignore, byte[]>? Consume(IConsumer<Ignore, byte[]> consumer, TimeSpan timeout)
    {
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            LogConsumeError(logger, ex.Error.Code, ex.Error.Reason, ex);
            return null;
        }
    }

    private void Accept(ConsumeResult<Ignore, byte[]> result)
    {
        status.OnConsumed();
        var partition = result.Partition.Value;
        var offset = result.Offset.Value;
        var missed = _gaps.Observe(partition, offset);
        if (missed > 0)
        {
            status.OnMissedOffsets(missed);
            LogOffsetGap(logger, result.Topic, partition, offset - missed, offset - 1, missed);
        }

        var payload = result.Message.Value ?? [];
        if (UserEventJson.TryParse(payload, timeProvider.GetUtcNow(), out var userEvent, out var rejection))
        {
            _events.Add(new RawEvent(userEvent, partition, offset));
        }
        else
        {
            _deadLetters.Add(new DeadLetter(result.Topic, partition, offset, payload, rejection.ToString(), timeProvider.GetUtcNow()));
            LogRejected(logger, result.Topic, partition, offset, rejection.Code, rejection.Message);
        }

        _nextOffsets[result.TopicPartition] = offset + 1;
    }

    /// <summary>
    /// Stores the batch, retrying until PostgreSQL takes it (nothing is skipped), then commits its offsets. While it
    /// retries, fetching is paused but the consumer keeps polling, so it stays in its group and takes part in rebalances.
    /// </summary>
    private void StoreAndCommit(IConsumer<Ignore, byte[]> consumer)
    {
        var delay = _options.RetryDelay;
        for (var attempt = 1; !TryStoreOnce(Timeout.InfiniteTimeSpan, _stopping, out var error); attempt++)
        {
            status.OnWriteFailure();
            LogWriteFailed(logger, BatchCount, attempt, delay, error);
            if (!_retrying)
            {
                _retrying = true;
                consumer.Pause(consumer.Assignment);
            }

            PollWhileWaiting(consumer, delay);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            if (BatchCount == 0) break; // every partition of the batch moved to another consumer meanwhile
        }

        if (_retrying)
        {
            _retrying = false;
            consumer.Resume(consumer.Assignment);
            LogWriteRecovered(logger);
        }

        Commit(consumer);
    }

    private void PollWhileWaiting(IConsumer<Ignore, byte[]> consumer, TimeSpan delay)
    {
        var until = timeProvider.GetUtcNow() + delay;
        for (var left = delay; left > TimeSpan.Zero; left = until - timeProvider.GetUtcNow())
        {
            _stopping.ThrowIfCancellationRequested();
            // Paused partitions deliver nothing new, but messages fetched before the pause may still arrive; they
            // simply join the batch.
            if (Consume(consumer, left < MaxPollWait ? left : MaxPollWait) is { } result) Accept(result);
        }
    }

    /// <summary>
    /// One attempt to store the whole batch; on success the batch is cleared (its offsets stay to be committed).
    /// Cancellation of <paramref name="cancellationToken"/> propagates; running out of <paramref name="timeout"/> is a failure.
    /// </summary>
    private bool TryStoreOnce(
        TimeSpan timeout, CancellationToken cancellationToken, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out Exception? error)
    {
        error = null;
        if (BatchCount == 0) return true;
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout != Timeout.InfiniteTimeSpan) limit.CancelAfter(timeout);
            var result = batchWriter.WriteAsync(_events, _deadLetters, limit.Token).GetAwaiter().GetResult();
            status.OnFlushed(_events.Count, result.InsertedEvents, result.InsertedDeadLetters, timeProvider.GetUtcNow());
            LogFlushed(logger, _events.Count, result.InsertedEvents, _deadLetters.Count);
            _events.Clear();
            _deadLetters.Clear();
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            error = ex;
            return false;
        }
    }

    private void Commit(IConsumer<Ignore, byte[]> consumer)
    {
        if (_nextOffsets.Count == 0 || BatchCount > 0) return;
        var offsets = _nextOffsets.Select(p => new TopicPartitionOffset(p.Key, new Offset(p.Value))).ToList();
        _nextOffsets.Clear();
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException ex)
        {
            // The batch is stored; if the commit is lost the next owner replays it and the writers skip it.
            LogCommitFailed(logger, ex.Error.Code, ex.Error.Reason, ex);
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
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = (int)Math.Max(100, _options.SessionTimeout.TotalMilliseconds / 4),
            ClientId = $"analytics-silo-{Environment.MachineName}-{Environment.ProcessId}",
        };

        return new ConsumerBuilder<Ignore, byte[]>(config)
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler(OnLost)
            .SetErrorHandler((_, error) =>
            {
                if (error.IsFatal) LogKafkaFatal(logger, error.Code, error.Reason);
                else LogKafkaError(logger, error.Code, error.Reason);
            })
            .SetLogHandler((_, message) => LogLibrdkafka(logger, message.Level.ToString(), message.Facility, message.Message))
            .Build();
    }

    private void OnAssigned(IConsumer<Ignore, byte[]> consumer, List<TopicPartition> partitions)
    {
        List<TopicPartitionOffset> committed;
        try
        {
            committed = consumer.Committed(partitions, TimeSpan.FromSeconds(10));
        }
        catch (KafkaException ex)
        {
            // Without the committed offsets a gap at the start of these partitions cannot be seen; reading is unaffected.
            LogCommittedUnknown(logger, ex.Error.Code, ex.Error.Reason, ex);
            committed = partitions.Select(p => new TopicPartitionOffset(p, Offset.Unset)).ToList();
        }

        foreach (var c in committed)
        {
            _gaps.Assigned(c.Partition.Value, c.Offset.IsSpecial ? null : c.Offset.Value);
        }

        status.OnAssignmentChanged(consumer.Assignment.Count + partitions.Count);
        status.Running = true;
        LogAssigned(logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void OnRevoked(IConsumer<Ignore, byte[]> consumer, List<TopicPartitionOffset> partitions)
    {
        // Store and commit before the partitions move, so the next owner does not replay what we already hold. One
        // bounded attempt only: a rebalance must not wait for PostgreSQL. If it fails, the revoked partitions' part of
        // the batch is dropped uncommitted and the next owner reads it again.
        if (!_retrying && !_stopping.IsCancellationRequested && TryStoreOnce(RevokeFlushTimeout, CancellationToken.None, out _))
        {
            Commit(consumer);
        }
        else
        {
            Forget(partitions);
        }

        foreach (var p in partitions) _gaps.Revoked(p.Partition.Value);
        status.OnAssignmentChanged(Math.Max(0, consumer.Assignment.Count - partitions.Count));
        LogRevoked(logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void OnLost(IConsumer<Ignore, byte[]> consumer, List<TopicPartitionOffset> partitions)
    {
        // Lost, not revoked: another member may already own them and we may not commit. The new owner reads our
        // uncommitted part of them again from the last commit.
        Forget(partitions);
        foreach (var p in partitions) _gaps.Revoked(p.Partition.Value);
        status.OnAssignmentChanged(Math.Max(0, consumer.Assignment.Count - partitions.Count));
        LogLost(logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void Forget(List<TopicPartitionOffset> partitions)
    {
        var gone = partitions.Select(p => p.Partition.Value).ToHashSet();
        _events.RemoveAll(e => gone.Contains(e.KafkaPartition));
        _deadLetters.RemoveAll(d => d.KafkaPartition is { } p && gone.Contains(p));
        foreach (var p in partitions) _nextOffsets.Remove(p.TopicPartition);
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Reading topic {Topic} as group {ConsumerGroup} from {BootstrapServers}")]
    private static partial void LogStarted(ILogger logger, string topic, string consumerGroup, string bootstrapServers);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Ingestion stopped after {Consumed} messages ({Inserted} events stored)")]
    private static partial void LogStopped(ILogger logger, long consumed, long inserted);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Stored batch: {Valid} events ({Inserted} new), {DeadLetters} dead letters")]
    private static partial void LogFlushed(ILogger logger, int valid, int inserted, int deadLetters);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Storing a batch of {Count} messages in PostgreSQL failed (attempt {Attempt}); fetching is paused and the batch is retried in {Delay}. Its offsets stay uncommitted until it is stored")]
    private static partial void LogWriteFailed(ILogger logger, int count, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "PostgreSQL takes writes again; fetching resumed")]
    private static partial void LogWriteRecovered(ILogger logger);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Offsets {FirstMissed}..{LastMissed} of {Topic}[{Partition}] were never read ({Missed} messages): the broker no longer had them")]
    private static partial void LogOffsetGap(ILogger logger, string topic, int partition, long firstMissed, long lastMissed, long missed);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Dead letter {Topic}[{Partition}]@{Offset}: {Code}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string topic, int partition, long offset, EventRejectionCode code, string reason);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Committing offsets failed ({Code}: {Reason}); the next owner will replay the batch, which is stored already")]
    private static partial void LogCommitFailed(ILogger logger, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Warning, Message = "Could not read the committed offsets of newly assigned partitions ({Code}: {Reason}); offset gaps at their start will not be detected")]
    private static partial void LogCommittedUnknown(ILogger logger, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Kafka consume error {Code}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}")]
    private static partial void LogKafkaError(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Critical, Message = "Fatal Kafka client error {Code}: {Reason}; the consumer cannot continue")]
    private static partial void LogKafkaFatal(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Debug, Message = "librdkafka {Level} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, string level, string facility, string text);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Partitions assigned: {Partitions}")]
    private static partial void LogAssigned(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Partitions revoked: {Partitions}")]
    private static partial void LogRevoked(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Partitions lost: {Partitions}; their uncommitted messages will be read again by the next owner")]
    private static partial void LogLost(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Error, Message = "Could not store the last {Count} messages at shutdown; they stay uncommitted and will be read again")]
    private static partial void LogFinalFlushFailed(ILogger logger, int count, Exception? exception);
}
