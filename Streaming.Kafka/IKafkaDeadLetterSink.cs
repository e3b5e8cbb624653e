using Analytics.Grains.Interfaces.Events;

namespace Analytics.Streaming.Kafka;

/// <summary>A Kafka message whose value is not a valid user event.</summary>
/// <param name="Topic">Topic it was read from.</param>
/// <param name="Partition">Its partition.</param>
/// <param name="Offset">Its offset.</param>
/// <param name="Payload">The value as received (empty for a null value).</param>
/// <param name="Rejection">Why <see cref="UserEventJson.TryParse(ReadOnlySpan{byte}, DateTimeOffset, out UserEvent?, out EventRejection?)"/> refused it.</param>
/// <param name="ReceivedAt">When the provider read it.</param>
public sealed record KafkaDeadLetter(
    string Topic, int Partition, long Offset, ReadOnlyMemory<byte> Payload, EventRejection Rejection, DateTimeOffset ReceivedAt)
{
    /// <summary>The reason in its stored form, e.g. <c>MissingField: missing field 'user_id'</c>.</summary>
    public string Reason => Rejection.ToString();
}

/// <summary>
/// Receives every message the provider cannot turn into a <see cref="UserEvent"/>, so that none is dropped silently.
/// Register one in the silo's services (keyed by the provider name, or unkeyed for every provider); without one, the
/// provider logs each dead letter as an error. The message's offset counts as handled (and may be committed) only once
/// <see cref="HandleAsync"/> has completed; if it throws, it is retried on the queue's next pull.
/// </summary>
public interface IKafkaDeadLetterSink
{
    /// <summary>Takes one dead letter.</summary>
    Task HandleAsync(KafkaDeadLetter deadLetter, CancellationToken cancellationToken);
}
