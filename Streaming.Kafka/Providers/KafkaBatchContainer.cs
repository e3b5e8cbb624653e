using Analytics.Grains.Interfaces.Events;
using Orleans;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>One Kafka message that held a valid <see cref="UserEvent"/>, on the stream of its user.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.Streaming.Kafka.KafkaBatchContainer")]
internal sealed class KafkaBatchContainer(StreamId streamId, UserEvent userEvent, KafkaSequenceToken token) : IBatchContainer
{
    [Id(0)]
    public StreamId StreamId { get; } = streamId;

    [Id(1)]
    public UserEvent Event { get; } = userEvent;

    [Id(2)]
    public KafkaSequenceToken Token { get; } = token;

    public StreamSequenceToken SequenceToken => Token;

    public int Partition => Token.Partition;

    public long Offset => Token.Offset;

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        if (Event is T item)
        {
            yield return Tuple.Create(item, (StreamSequenceToken)Token);
        }
    }

    // Kafka messages carry no Orleans request context.
    public bool ImportRequestContext() => false;

    public override string ToString() => $"[KafkaBatchContainer:Stream={StreamId},Token={Token}]";
}
