using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Analytics.Grains.Interfaces.Events;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// The provider's adapter: one receiver per queue, each reading the partition its queue stands for; and a Kafka
/// producer for Orleans stream producers. A <see cref="UserEvent"/> published on a <c>user-events</c> stream is written
/// as the same JSON any Kafka producer writes, keyed by its user; anything else is written Orleans-serialized, marked by
/// a header, keyed by the stream key. Either way Kafka's partitioner places it and it comes back through a receiver.
/// </summary>
internal sealed partial class KafkaQueueAdapter(
    string name,
    KafkaStreamOptions options,
    KafkaQueueMapper mapper,
    IKafkaMessageSink sink,
    KafkaQueueAdapterCache caches,
    Serializer serializer,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    KafkaStreamProviderStatus? status,
    IKafkaCommitGate? commitGate = null,
    int epoch = 0,
    IKafkaDeliveryObserver? deliveryObserver = null,
    SiloAddress? silo = null) : IQueueAdapter, IDisposable
{
    private readonly ConcurrentDictionary<QueueId, KafkaQueueAdapterReceiver> _receivers = new();
    private readonly Lazy<IProducer<string, byte[]>> _producer = new(() => BuildProducer(name, options, loggerFactory.CreateLogger<KafkaQueueAdapter>()));
    private readonly KeyValuePair<string, object?>[] _tags = [new("provider", name), new("topic", options.Topic)];

    public string Name => name;

    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId)
    {
        var receiver = new KafkaQueueAdapterReceiver(
            name,
            options,
            queueId,
            mapper.GetPartition(queueId),
            sink,
            caches,
            serializer,
            timeProvider,
            loggerFactory.CreateLogger<KafkaQueueAdapterReceiver>(),
            status,
            commitGate,
            epoch,
            deliveryObserver,
            silo);
        _receivers[queueId] = receiver;
        return receiver;
    }

    /// <summary>The receiver of <paramref name="queueId"/> on this silo, for its failure handler.</summary>
    public KafkaQueueAdapterReceiver? FindReceiver(QueueId queueId) => _receivers.TryGetValue(queueId, out var receiver) ? receiver : null;

    public async Task QueueMessageBatchAsync<T>(
        StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            throw new ArgumentException($"Stream provider '{name}' cannot write at a given position: Kafka assigns offsets.", nameof(token));
        }

        var key = streamId.GetKeyAsString();
        var messages = new List<Message<string, byte[]>>();
        if (streamId.GetNamespace() == KafkaStreamNamespaces.UserEvents && events is IEnumerable<UserEvent> userEvents)
        {
            foreach (var userEvent in userEvents)
            {
                if (userEvent.UserId != key)
                {
                    throw new ArgumentException(
                        $"A user event of '{userEvent.UserId}' cannot be published on the stream of '{key}': user-events streams are keyed by user_id.", nameof(events));
                }

                // Written exactly as it will be read back: what the receiver would refuse is refused here, to the caller.
                var json = UserEventJson.ToUtf8Bytes(userEvent);
                if (!UserEventJson.TryParse(json, timeProvider.GetUtcNow(), out _, out var rejection))
                {
                    throw new ArgumentException($"The user event {userEvent.EventId} cannot be published: {rejection}.", nameof(events));
                }

                messages.Add(new Message<string, byte[]> { Key = key, Value = json });
            }
        }
        else
        {
            var message = new KafkaStreamMessage { StreamId = streamId, Events = [.. events.Cast<object>()], RequestContext = requestContext };
            if (message.Events.Count == 0) return;
            messages.Add(new Message<string, byte[]>
            {
                Key = key,
                Value = serializer.SerializeToArray(message),
                Headers = [new Header(KafkaStreamMessage.HeaderName, Encoding.ASCII.GetBytes("1"))],
            });
        }

        // Completes once Kafka has acknowledged every message (acks=all, idempotent): then it is in the log for good.
        var producer = _producer.Value;
        await Task.WhenAll(messages.Select(m => producer.ProduceAsync(options.Topic, m)));
        KafkaStreamMetrics.Published.Add(messages.Count, _tags);
    }

    public void Dispose()
    {
        if (!_producer.IsValueCreated) return;
        _producer.Value.Flush(options.PublishTimeout);
        _producer.Value.Dispose();
    }

    private static IProducer<string, byte[]> BuildProducer(string name, KafkaStreamOptions options, ILogger logger)
    {
        var config = new ProducerConfig(new Dictionary<string, string>(options.Properties))
        {
            BootstrapServers = options.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            CompressionType = CompressionType.Lz4,
            LingerMs = 5,
            MessageTimeoutMs = (int)Math.Min(int.MaxValue, options.PublishTimeout.TotalMilliseconds),
            ClientId = string.Create(CultureInfo.InvariantCulture, $"{name}-publisher-{Environment.MachineName}-{Environment.ProcessId}"),
        };
        return new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => LogProducerError(logger, name, error.Code, error.Reason, error.IsFatal))
            .SetLogHandler((_, _) => { })
            .Build();
    }

    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Stream provider {Provider}: Kafka producer error {Code}: {Reason} (fatal: {Fatal})")]
    private static partial void LogProducerError(ILogger logger, string provider, ErrorCode code, string reason, bool fatal);
}
