using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// The provider's adapter: read-only (events enter through Kafka producers, never through Orleans), one receiver per
/// queue, each reading the partition its queue stands for.
/// </summary>
internal sealed class KafkaQueueAdapter(
    string name,
    KafkaStreamOptions options,
    KafkaQueueMapper mapper,
    IKafkaDeadLetterSink deadLetterSink,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : IQueueAdapter
{
    public string Name => name;

    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadOnly;

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => new KafkaQueueAdapterReceiver(
        name,
        options,
        mapper.GetPartition(queueId),
        deadLetterSink,
        timeProvider,
        loggerFactory.CreateLogger<KafkaQueueAdapterReceiver>());

    public Task QueueMessageBatchAsync<T>(
        StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext)
        => throw new NotSupportedException(
            $"Stream provider '{name}' is read-only: produce to Kafka topic '{options.Topic}' instead of writing to an Orleans stream.");
}
