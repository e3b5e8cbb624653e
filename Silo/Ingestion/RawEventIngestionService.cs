using Analytics.Grains.Interfaces.Events;
using Analytics.Storage;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Ingestion;

/// <summary>
/// Reads <c>user_events</c> and stores every message: valid events in <c>raw_events</c> (binary COPY), refused ones in
/// <c>dead_letters</c> with the reason. Offsets are committed only after their batch is stored, so a crash replays
/// at most one batch, and the writers ignore what is already stored: at least once in, exactly once on disk.
/// </summary>
internal sealed partial class RawEventIngestionService(
    IOptions<KafkaIngestionOptions> options,
    RawEventWriter rawEventWriter,
    DeadLetterWriter deadLetterWriter,
    IngestionStatus status,
    TimeProvider timeProvider,
    ILogger<RawEventIngestionService> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly KafkaIngestionOptions _options = options.Value;
    private readonly OffsetGapDetector _gaps = new();
    private readonly List<RawEvent> _events = [];
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly Dictionary<TopicPartition, long> _nextOffsets = [];
    private CancellationToken _stopping;

    // Consume() blocks, so the loop gets a thread of its own instead of a thread-pool thread.
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

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
                var now = timeProvider.GetUtcNow();
                var wait = batchDeadline == DateTimeOffset.MaxValue ? TimeSpan.FromMilliseconds(250) : batchDeadline - now;
                var result = Consume(consumer, wait < TimeSpan.Zero ? TimeSpan.Zero : wait);
                if (result is { IsPartitionEOF: false })
                {
                    if (BatchCount == 0) batchDeadline = timeProvider.GetUtcNow() + _options.MaxBatchDelay;
                    Accept(result);
                }

                if (BatchCount >= _options.MaxBatchSize || (BatchCount > 0 && timeProvider.GetUtcNow() >= batchDeadline))
                {
                    FlushAndCommit(consumer);
                    batchDeadline = DateTimeOffset.MaxValue;
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
            TryFinalFlush(consumer);
            consumer.Close();
            status.Running = false;
            LogStopped(logger, status.Consumed, status.Inserted);
        }
    }

    private int BatchCount => _events.Count + _deadLetters.Count;

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

    /// <summary>Stores the batch, retrying until PostgreSQL takes it (nothing is skipped), then commits its offsets.</summary>
    private void FlushAndCommit(IConsumer<Ignore, byte[]> consumer)
    {
        if (BatchCount == 0) return;
        var delay = _options.RetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var inserted = rawEventWriter.WriteAsync(_events, _stopping).GetAwaiter().GetResult();
                var deadLettered = deadLetterWriter.WriteAsync(_deadLetters, _stopping).GetAwaiter().GetResult();
                status.OnFlushed(_events.Count, inserted, deadLettered, timeProvider.GetUtcNow());
                LogFlushed(logger, _events.Count, inserted, _deadLetters.Count);
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                status.OnWriteFailure();
                LogWriteFailed(logger, BatchCount, attempt, delay, ex);
                _stopping.WaitHandle.WaitOne(delay);
                _stopping.ThrowIfCancellationRequested();
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }

        Commit(consumer);
        _events.Clear();
        _deadLetters.Clear();
    }

    private void Commit(IConsumer<Ignore, byte[]> consumer)
    {
        if (_nextOffsets.Count == 0) return;
        var offsets = _nextOffsets.Select(p => new TopicPartitionOffset(p.Key, new Offset(p.Value))).ToList();
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException ex)
        {
            // The batch is stored; if the commit is lost the next owner replays it and the writers skip it.
            LogCommitFailed(logger, ex.Error.Code, ex.Error.Reason, ex);
        }

        _nextOffsets.Clear();
    }

    private void TryFinalFlush(IConsumer<Ignore, byte[]> consumer)
    {
        if (BatchCount == 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var inserted = rawEventWriter.WriteAsync(_events, timeout.Token).GetAwaiter().GetResult();
            var deadLettered = deadLetterWriter.WriteAsync(_deadLetters, timeout.Token).GetAwaiter().GetResult();
            status.OnFlushed(_events.Count, inserted, deadLettered, timeProvider.GetUtcNow());
            Commit(consumer);
        }
        catch (Exception ex)
        {
            LogFinalFlushFailed(logger, BatchCount, ex);
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
            EnablePartitionEof = false,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = (int)Math.Max(100, _options.SessionTimeout.TotalMilliseconds / 4),
            ClientId = $"analytics-silo-{Environment.MachineName}-{Environment.ProcessId}",
        };

        return new ConsumerBuilder<Ignore, byte[]>(config)
            .SetPartitionsAssignedHandler((c, partitions) => OnAssigned(c, partitions))
            .SetPartitionsRevokedHandler((c, partitions) => OnRevoked(c, partitions))
            .SetPartitionsLostHandler((c, partitions) => OnLost(c, partitions))
            .SetErrorHandler((_, error) => LogKafkaError(logger, error.Code, error.Reason, error.IsFatal))
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
            LogCommitFailed(logger, ex.Error.Code, ex.Error.Reason, ex);
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
        // Store and commit before the partitions move, so the next owner does not replay what we already hold.
        if (!_stopping.IsCancellationRequested)
        {
            try
            {
                FlushAndCommit(consumer);
            }
            catch (OperationCanceledException)
            {
            }
        }

        foreach (var p in partitions) _gaps.Revoked(p.Partition.Value);
        status.OnAssignmentChanged(Math.Max(0, consumer.Assignment.Count - partitions.Count));
        LogRevoked(logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void OnLost(IConsumer<Ignore, byte[]> consumer, List<TopicPartitionOffset> partitions)
    {
        // Lost, not revoked: another member may already own them and we may not commit. Drop our uncommitted part of
        // them; the new owner reads it again from the last commit.
        var lost = partitions.Select(p => p.Partition.Value).ToHashSet();
        _events.RemoveAll(e => lost.Contains(e.KafkaPartition));
        _deadLetters.RemoveAll(d => d.KafkaPartition is { } p && lost.Contains(p));
        foreach (var p in partitions)
        {
            _nextOffsets.Remove(p.TopicPartition);
            _gaps.Revoked(p.Partition.Value);
        }

        status.OnAssignmentChanged(Math.Max(0, consumer.Assignment.Count - partitions.Count));
        LogLost(logger, string.Join(",", lost));
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Reading topic {Topic} as group {ConsumerGroup} from {BootstrapServers}")]
    private static partial void LogStarted(ILogger logger, string topic, string consumerGroup, string bootstrapServers);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Ingestion stopped after {Consumed} messages ({Inserted} events stored)")]
    private static partial void LogStopped(ILogger logger, long consumed, long inserted);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Stored batch: {Valid} events ({Inserted} new), {DeadLetters} dead letters")]
    private static partial void LogFlushed(ILogger logger, int valid, int inserted, int deadLetters);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Writing a batch of {Count} messages to PostgreSQL failed (attempt {Attempt}); retrying in {Delay}. Offsets stay uncommitted until it succeeds")]
    private static partial void LogWriteFailed(ILogger logger, int count, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Offsets {FirstMissed}..{LastMissed} of {Topic}[{Partition}] were never read ({Missed} messages): the broker no longer had them")]
    private static partial void LogOffsetGap(ILogger logger, string topic, int partition, long firstMissed, long lastMissed, long missed);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Dead letter {Topic}[{Partition}]@{Offset}: {Code}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string topic, int partition, long offset, EventRejectionCode code, string reason);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Committing offsets failed ({Code}: {Reason}); the next owner will replay the batch, which is stored already")]
    private static partial void LogCommitFailed(ILogger logger, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Kafka consume error {Code}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, ErrorCode code, string reason, Exception exception);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason} (fatal: {IsFatal})")]
    private static partial void LogKafkaError(ILogger logger, ErrorCode code, string reason, bool isFatal);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Debug, Message = "librdkafka {Level} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, string level, string facility, string text);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Partitions assigned: {Partitions}")]
    private static partial void LogAssigned(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Partitions revoked: {Partitions}")]
    private static partial void LogRevoked(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Partitions lost: {Partitions}; their uncommitted messages will be read again by the next owner")]
    private static partial void LogLost(ILogger logger, string partitions);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Error, Message = "Could not store the last {Count} messages at shutdown; they stay uncommitted and will be read again")]
    private static partial void LogFinalFlushFailed(ILogger logger, int count, Exception exception);
}
