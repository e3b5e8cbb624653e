using Orleans;
using Orleans.Runtime;

namespace Analytics.Streaming.Kafka;

/// <summary>
/// The valid user events of one pull from one partition, in offset order: what a partition stream delivers with
/// <see cref="KafkaEventDelivery.PartitionBatches"/>. Offsets are consecutive but for the messages that were not user
/// events (dead letters, messages published by Orleans producers).
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.Streaming.Kafka.KafkaEventBatch")]
public sealed class KafkaEventBatch
{
    /// <summary>Creates a batch; <paramref name="events"/> must not be empty and must be in offset order.</summary>
    public KafkaEventBatch(int partition, int epoch, KafkaUserEvent[] events, SiloAddress? readBy)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfZero(events.Length);
        Partition = partition;
        Epoch = epoch;
        Events = events;
        ReadBy = readBy;
    }

    /// <summary>The Kafka partition.</summary>
    [Id(0)]
    public int Partition { get; }

    /// <summary>The topic's epoch (<see cref="KafkaSequenceToken.Epoch"/>).</summary>
    [Id(1)]
    public int Epoch { get; }

    /// <summary>The events, in offset order.</summary>
    [Id(2)]
    public KafkaUserEvent[] Events { get; }

    /// <summary>
    /// The silo whose receiver read the batch (null outside a silo). A subscriber on another silo gets every batch
    /// serialized over the network: it can move itself next to the reader.
    /// </summary>
    [Id(3)]
    public SiloAddress? ReadBy { get; }

    /// <summary>Offset of the first event.</summary>
    public long FirstOffset => Events[0].Offset;

    /// <summary>Offset of the last event.</summary>
    public long LastOffset => Events[^1].Offset;
}

/// <summary>How the provider delivers the valid user events it reads.</summary>
public enum KafkaEventDelivery
{
    /// <summary>
    /// Each event on its user's stream (<see cref="KafkaStreamNamespaces.UserEvents"/>, key <c>user_id</c>), one
    /// delivery per event: simple for subscribers, but each event pays a stream delivery (a grain call and the cache's
    /// cursor work).
    /// </summary>
    PerUser,

    /// <summary>
    /// Each pull's events as one <see cref="KafkaEventBatch"/> on its partition's stream
    /// (<see cref="KafkaStreamNamespaces.PartitionBatches"/>, key: the partition number): one delivery per pull, and the
    /// subscriber fans the events out itself.
    /// </summary>
    PartitionBatches,
}
