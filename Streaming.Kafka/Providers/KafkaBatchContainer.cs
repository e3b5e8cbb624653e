using Analytics.Grains.Interfaces.Events;
using Orleans;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// One Kafka message on its stream — either a <see cref="UserEvent"/> (JSON written by any Kafka producer) or the
/// events of one <c>OnNextAsync</c>/<c>OnNextBatchAsync</c> call of an Orleans stream producer — or, with
/// <see cref="KafkaEventDelivery.PartitionBatches"/>, the user events of consecutive messages of one pull.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.Streaming.Kafka.KafkaBatchContainer")]
internal sealed class KafkaBatchContainer : IBatchContainer
{
    /// <summary>A user event read from Kafka.</summary>
    public KafkaBatchContainer(StreamId streamId, UserEvent userEvent, KafkaSequenceToken token)
    {
        StreamId = streamId;
        Event = userEvent;
        Token = token;
    }

    /// <summary>The user events of one pull, on their partition's stream; <paramref name="token"/> is the first one's.</summary>
    public KafkaBatchContainer(StreamId streamId, KafkaEventBatch batch, KafkaSequenceToken token)
    {
        StreamId = streamId;
        Batch = batch;
        Token = token;
    }

    /// <summary>Events an Orleans producer published through the provider.</summary>
    public KafkaBatchContainer(StreamId streamId, List<object> events, Dictionary<string, object>? requestContext, KafkaSequenceToken token)
    {
        StreamId = streamId;
        Events = events;
        RequestContext = requestContext;
        Token = token;
    }

    [Id(0)]
    public StreamId StreamId { get; }

    [Id(1)]
    public UserEvent? Event { get; }

    [Id(2)]
    public KafkaSequenceToken Token { get; }

    [Id(3)]
    public List<object>? Events { get; }

    [Id(4)]
    public Dictionary<string, object>? RequestContext { get; }

    [Id(5)]
    public KafkaEventBatch? Batch { get; }

    /// <summary>The Kafka value of a published message, kept on the silo that read it to dead-letter it as it was (no [Id]: never serialized).</summary>
    [field: NonSerialized]
    public byte[]? RawPayload { get; init; }

    public StreamSequenceToken SequenceToken => Token;

    public int Partition => Token.Partition;

    /// <summary>Offset of the (first) message.</summary>
    public long Offset => Token.Offset;

    /// <summary>Offset of the last message: the same as <see cref="Offset"/> but for a batch.</summary>
    public long LastOffset => Batch?.LastOffset ?? Token.Offset;

    /// <summary>The user events carried, with their positions: one, a batch's, or none.</summary>
    public IEnumerable<KafkaUserEvent> UserEvents
    {
        get
        {
            if (Event is { } single) return [new KafkaUserEvent(single, Token.Partition, Token.Offset, Token.Epoch)];
            return Batch?.Events ?? [];
        }
    }

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        if (Event is T item)
        {
            yield return Tuple.Create(item, (StreamSequenceToken)Token);
        }

        if (Batch is T batch)
        {
            yield return Tuple.Create(batch, (StreamSequenceToken)Token);
        }

        if (Events is null) yield break;
        for (var i = 0; i < Events.Count; i++)
        {
            if (Events[i] is T published)
            {
                yield return Tuple.Create(published, (StreamSequenceToken)new KafkaSequenceToken(Token.Partition, Token.Offset, i, Token.Epoch));
            }
        }
    }

    public bool ImportRequestContext()
    {
        if (RequestContext is not { Count: > 0 }) return false;
        RequestContextExtensions.Import(RequestContext);
        return true;
    }

    public override string ToString() => $"[KafkaBatchContainer:Stream={StreamId},Token={Token}]";
}

/// <summary>
/// What an Orleans stream producer's call becomes in Kafka when its events are not user events: the Orleans-serialized
/// stream id, events and request context, marked by the <see cref="HeaderName"/> header.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Streaming.Kafka.KafkaStreamMessage")]
internal sealed class KafkaStreamMessage
{
    /// <summary>Marks a Kafka message whose value is a serialized <see cref="KafkaStreamMessage"/>.</summary>
    public const string HeaderName = "orleans-stream-message";

    [Id(0)]
    public StreamId StreamId { get; init; }

    [Id(1)]
    public List<object> Events { get; init; } = [];

    [Id(2)]
    public Dictionary<string, object>? RequestContext { get; init; }
}
