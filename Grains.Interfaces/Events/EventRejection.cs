namespace Analytics.Grains.Interfaces.Events;

/// <summary>Why an incoming event was refused. The code is stable (stored with dead letters); the message is for people.</summary>
public enum EventRejectionCode
{
    /// <summary>The payload is empty.</summary>
    Empty,

    /// <summary>The payload is not JSON, or not one JSON object, or it repeats a field of the contract.</summary>
    InvalidJson,

    /// <summary>A required field is absent, null or blank.</summary>
    MissingField,

    /// <summary>A field has the wrong JSON type or an unusable value (control characters, surrounding whitespace, an unpaired surrogate).</summary>
    InvalidField,

    /// <summary>A string field is longer than the contract allows.</summary>
    FieldTooLong,

    /// <summary><c>event_type</c> is not one of view, add_to_cart, purchase.</summary>
    UnknownEventType,

    /// <summary><c>event_time</c> is not an RFC 3339 (ISO-8601 extended) time with an offset.</summary>
    InvalidTimestamp,

    /// <summary><c>event_time</c> is too far in the future or the past to be real.</summary>
    AbsurdTimestamp,

    /// <summary><c>price</c> is below zero.</summary>
    NegativePrice,

    /// <summary><c>price</c> is zero for an add_to_cart or purchase.</summary>
    ZeroPrice,

    /// <summary><c>price</c> is larger than any real product.</summary>
    AbsurdPrice,

    /// <summary>The payload is larger than <see cref="UserEventJson.MaxPayloadBytes"/> (checked before parsing).</summary>
    TooLarge,
}

/// <summary>A rejection: a stable code plus a message that names the field and the problem.</summary>
/// <param name="Code">Machine-readable reason.</param>
/// <param name="Message">Human-readable reason, e.g. <c>missing field 'user_id'</c>.</param>
public sealed record EventRejection(EventRejectionCode Code, string Message)
{
    /// <summary>The form stored in <c>dead_letters.reason</c>: <c>MissingField: missing field 'user_id'</c>.</summary>
    public override string ToString() => $"{Code}: {Message}";
}
