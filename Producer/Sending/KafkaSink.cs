using Confluent.Kafka;

namespace Analytics.Producer.Sending;

/// <summary>Kafka connection and producer tuning for the simulator.</summary>
public sealed record KafkaSinkSettings
{
    /// <summary>Comma-separated host:port list.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>Topic written to; it should exist (the simulator does not create topics).</summary>
    public string Topic { get; init; } = "user_events";

    /// <summary>Batch compression. Default lz4.</summary>
    public CompressionType Compression { get; init; } = CompressionType.Lz4;

    /// <summary>How long the client waits to fill a batch (librdkafka <c>linger.ms</c>). Default 5 ms.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>How long the start-up metadata request may take before the broker counts as unreachable.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a message may wait for delivery (retries included) before it counts as failed.</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>The broker could not be reached at start-up (exit code 3).</summary>
public sealed class KafkaUnreachableException(string bootstrapServers, string reason)
    : Exception($"cannot reach Kafka at {bootstrapServers}: {reason}")
{
    public string BootstrapServers { get; } = bootstrapServers;
}

/// <summary>
/// Sends messages with an idempotent producer (acks=all, so no loss and no reordering on retry), in large compressed
/// batches (linger 5 ms), keyed by user so that one user's events stay in one partition, in order. Produce never waits
/// for the broker; outcomes are counted by the delivery handler on librdkafka's thread.
/// </summary>
public sealed class KafkaSink : IMessageSink
{
    private readonly IProducer<byte[]?, byte[]> _producer;
    private readonly string _topic;
    private readonly SendStatistics _statistics;
    private readonly Action<DeliveryReport<byte[]?, byte[]>> _onDelivery;
    private volatile bool _connected;
    private volatile string? _lastError;
    // Written by the single sending thread, read by FlushAsync after sending stopped.
    private long _handedOver;

    // Messages the client refused in Send: counted as failed there, with no delivery report to wait for.
    private long _refused;

    private KafkaSink(KafkaSinkSettings settings, SendStatistics statistics, TextWriter log)
    {
        _topic = settings.Topic;
        _statistics = statistics;
        _onDelivery = OnDelivery;
        var config = new ProducerConfig
        {
            BootstrapServers = settings.BootstrapServers,
            ClientId = "analytics-producer",
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = settings.Linger.TotalMilliseconds,
            BatchSize = 1_000_000,
            // What a default Apache Kafka broker accepts (message.max.bytes): a replayed recording may hold a message of
            // about 1 MB — a client's bug the pipeline must dead-letter — and the client's own default (1,000,000) would
            // refuse it before the broker ever sees it.
            MessageMaxBytes = 1_048_588,
            BatchNumMessages = 10_000,
            CompressionType = settings.Compression,
            QueueBufferingMaxMessages = 1_000_000,
            MessageTimeoutMs = (int)settings.DeliveryTimeout.TotalMilliseconds,
            SocketConnectionSetupTimeoutMs = (int)Math.Max(1000, settings.ConnectTimeout.TotalMilliseconds),
            // The handler only needs the outcome: skipping the other fields saves a copy per message.
            DeliveryReportFields = "status",
        };
        _producer = new ProducerBuilder<byte[]?, byte[]>(config)
            .SetLogHandler((_, message) =>
            {
                if (message.Level > SyslogLevel.Warning) return;
                _lastError = message.Message;
                if (_connected) log.WriteLine($"kafka: {message.Message}");
            })
            .SetErrorHandler((_, error) =>
            {
                _lastError = error.Reason;
                if (_connected) log.WriteLine($"kafka error: {error.Reason}");
            })
            .Build();
    }

    /// <summary>Creates the producer and checks with a metadata request that the cluster answers.</summary>
    /// <exception cref="KafkaUnreachableException">No answer within <see cref="KafkaSinkSettings.ConnectTimeout"/>.</exception>
    public static KafkaSink Connect(KafkaSinkSettings settings, SendStatistics statistics, TextWriter log)
    {
        var sink = new KafkaSink(settings, statistics, log);
        try
        {
            using var admin = new DependentAdminClientBuilder(sink._producer.Handle).Build();
            Metadata metadata;
            try
            {
                metadata = admin.GetMetadata(settings.ConnectTimeout);
            }
            catch (KafkaException ex)
            {
                var detail = sink._lastError is { } last && last != ex.Error.Reason ? $"{ex.Error.Reason} ({last})" : ex.Error.Reason;
                throw new KafkaUnreachableException(settings.BootstrapServers, detail);
            }

            if (metadata.Brokers.Count == 0)
                throw new KafkaUnreachableException(settings.BootstrapServers, "the cluster reported no brokers");
            if (!metadata.Topics.Any(t => t.Topic == settings.Topic && !t.Error.IsError))
                log.WriteLine($"warning: topic '{settings.Topic}' not found on {settings.BootstrapServers}; sending relies on the broker creating it");
            sink._connected = true;
            return sink;
        }
        catch
        {
            sink._producer.Dispose();
            throw;
        }
    }

    public void Send(in OutgoingMessage message)
    {
        var produced = new Message<byte[]?, byte[]> { Key = message.Key, Value = message.Value.ToArray() };
        while (true)
        {
            try
            {
                _producer.Produce(_topic, produced, _onDelivery);
                _handedOver++;
                return;
            }
            catch (ProduceException<byte[]?, byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                // librdkafka's queue is full: its background thread is draining it; give it a moment.
                Thread.Sleep(1);
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                // Refused before it left (e.g. an idempotent producer gone fatal after the broker refused a request for
                // good): a failed delivery like any other, counted in the summary and the exit code, never a crash.
                _statistics.OnFailed(ex.Error.Reason);
                _refused++;
                return;
            }
        }
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // Flush blocks; poll it in slices so that a second interruption can still abandon the wait.
        while (!cancellationToken.IsCancellationRequested)
        {
            var remaining = await Task.Run(() => _producer.Flush(TimeSpan.FromMilliseconds(500)), CancellationToken.None).ConfigureAwait(false);
            if (remaining == 0) break;
        }

        // Flush returns once librdkafka's queue is empty, which can be a moment before the last delivery handlers have
        // run on the client's poll thread; the summary and the exit code must count every report.
        var deadline = Environment.TickCount64 + 5_000;
        while (_statistics.Delivered + _statistics.Failed - _refused < _handedOver && Environment.TickCount64 < deadline
               && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Dispose() => _producer.Dispose();

    private void OnDelivery(DeliveryReport<byte[]?, byte[]> report)
    {
        if (report.Error.IsError) _statistics.OnFailed(report.Error.Reason);
        else _statistics.OnDelivered();
    }
}
