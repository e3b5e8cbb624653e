using Analytics.Grains.Interfaces.Events;
using Orleans;

namespace Analytics.Streaming.Kafka;

/// <summary>A valid user event and where it sits in Kafka.</summary>
/// <param name="Event">The parsed event.</param>
/// <param name="Partition">Its partition.</param>
/// <param name="Offset">Its offset.</param>
/// <param name="Epoch">The topic's epoch (<see cref="KafkaSequenceToken.Epoch"/>).</param>
[GenerateSerializer, Immutable]
[Alias("Analytics.Streaming.Kafka.KafkaUserEvent")]
public readonly record struct KafkaUserEvent(
    [property: Id(0)] UserEvent Event, [property: Id(1)] int Partition, [property: Id(2)] long Offset, [property: Id(3)] int Epoch = 0);

/// <summary>A Kafka message that no subscriber will get: it is not a valid user event, or every delivery of it failed.</summary>
/// <param name="Topic">Topic it was read from.</param>
/// <param name="Partition">Its partition.</param>
/// <param name="Offset">Its offset.</param>
/// <param name="Payload">The value as received (empty for a null value); for a delivery failure, the event as JSON.</param>
/// <param name="Reason">Why, as stored: <c>MissingField: missing field 'user_id'</c>, <c>DeliveryFailed: …</c>.</param>
/// <param name="ReceivedAt">When the provider read it, or gave up delivering it.</param>
public sealed record KafkaDeadLetter(
    string Topic, int Partition, long Offset, ReadOnlyMemory<byte> Payload, string Reason, DateTimeOffset ReceivedAt)
{
    /// <summary>Prefix of <see cref="Reason"/> for events that were valid but that a subscriber kept failing on.</summary>
    public const string DeliveryFailedCode = "DeliveryFailed";
}

/// <summary>What one pull read from one partition, in offset order.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Events">Valid events (what Orleans will deliver).</param>
/// <param name="DeadLetters">Messages that are not valid events.</param>
public sealed record KafkaMessageBatch(
    string Topic, int Partition, IReadOnlyList<KafkaUserEvent> Events, IReadOnlyList<KafkaDeadLetter> DeadLetters)
{
    /// <summary>Offsets skipped just before this batch because the broker no longer had them (data lost to retention).</summary>
    public long MissedOffsets { get; init; }
}

/// <summary>
/// Sees every user event and every dead letter the provider reads, before Orleans delivers any of it (messages that
/// Orleans producers published with other types are delivered without it): the place to store raw events and dead
/// letters durably. Register one in the silo's services (keyed by the provider name, or unkeyed for every provider);
/// without one, dead letters are logged as errors and events are only delivered.
/// </summary>
/// <remarks>
/// The provider waits for <see cref="StoreAsync"/> before it hands the batch to Orleans, and commits no offset of the
/// batch before that, so what the sink stores is always at least what was delivered and committed. If it throws, the
/// partition delivers nothing and the same batch is offered again after <see cref="KafkaStreamOptions.StoreRetryDelay"/>;
/// other partitions go on. A batch can be offered more than once (retries, replays after a crash): be idempotent.
/// </remarks>
public interface IKafkaMessageSink
{
    /// <summary>Stores one batch (possibly only dead letters, e.g. a delivery failure).</summary>
    Task StoreAsync(KafkaMessageBatch batch, CancellationToken cancellationToken);
}
