namespace Analytics.Producer.Sending;

/// <summary>What a message is, for counting and for tests.</summary>
public enum MessageKind
{
    /// <summary>A valid event sent at its place in event-time order.</summary>
    Valid,

    /// <summary>A valid event sent after events with later event times.</summary>
    Late,

    /// <summary>A byte-identical second copy of an event sent earlier.</summary>
    Duplicate,

    /// <summary>A payload that the contract refuses.</summary>
    Malformed,

    /// <summary>A line of a recorded file (not inspected).</summary>
    Replayed,
}

/// <summary>One message to send. <see cref="Value"/> (and <see cref="Key"/>) stay valid only until the source's next call.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Key">Kafka key: UTF-8 <c>user_id</c>, or null.</param>
/// <param name="Value">The payload: one JSON document, no newline.</param>
/// <param name="ClockMs">Simulated clock at which it is sent (drives --speed pacing); -1 when unknown.</param>
/// <param name="EventTimeMs">Event time of the event it carries; -1 when unknown.</param>
public readonly record struct OutgoingMessage(MessageKind Kind, byte[]? Key, ReadOnlyMemory<byte> Value, long ClockMs, long EventTimeMs);

/// <summary>Where messages come from: the simulation or a recorded file.</summary>
public interface IMessageSource
{
    /// <summary>The next message in send order; false when there is no more.</summary>
    bool TryNext(out OutgoingMessage message);

    /// <summary>Stop making new messages. Messages already due (held-back late events, pending duplicates) still come
    /// out of <see cref="TryNext"/>, without pacing, so that no generated event is lost.</summary>
    void Stop();
}
