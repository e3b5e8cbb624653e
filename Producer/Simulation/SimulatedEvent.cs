using Analytics.Grains.Interfaces.Events;

namespace Analytics.Producer.Simulation;

/// <summary>
/// A generated event in compact form (indices into the catalogue and user table). Serialising the same value twice gives
/// the same bytes, so held-back and duplicated events are stored in this form, not as bytes.
/// </summary>
public readonly record struct SimulatedEvent(
    Guid EventId,
    int UserIndex,
    int ProductIndex,
    UserEventType Type,
    long TimeMs,
    SimulatedSession Session)
{
    public string SessionId => Session.Id;
}

/// <summary>One session of one user: its id, device and channel, and the parts of its events' JSON that it fixes.</summary>
/// <param name="Id">Wire session id: a UUID v7 of the session's start (see <see cref="UuidV7"/>), unique across runs and reproducible.</param>
/// <param name="Device">Device of every event of the session.</param>
/// <param name="Channel">Index into <see cref="Persona.Channels"/>.</param>
public sealed record SimulatedSession(string Id, Device Device, byte Channel)
{
    /// <summary>Encoded once per session by <see cref="EventWriter"/>: <c>"user_id":…,"session_id":…</c>.</summary>
    internal byte[]? JsonIds { get; set; }

    /// <summary>Encoded once per session by <see cref="EventWriter"/>: <c>,"device":…,"channel":…}</c>.</summary>
    internal byte[]? JsonTail { get; set; }
}

/// <summary>The hidden truth about one user, as written by <c>--truth</c>.</summary>
/// <param name="UserId">The user.</param>
/// <param name="Persona">Persona name.</param>
/// <param name="Churned">True when the user's churn time was reached before the simulation ended.</param>
/// <param name="ChurnTime">After this instant the user has no event (null when not churned).</param>
/// <param name="ChurnOnsetTime">From this instant the user's session rate decayed (null when not churned).</param>
/// <param name="FirstEventTime">Event time of the user's first valid event (null if none).</param>
/// <param name="LastEventTime">Event time of the user's last valid event (null if none).</param>
/// <param name="Sessions">Sessions with at least one event sent.</param>
/// <param name="Views">Valid view events sent (duplicates and malformed payloads excluded).</param>
/// <param name="AddToCarts">Valid add_to_cart events sent.</param>
/// <param name="Purchases">Valid purchase events sent.</param>
/// <param name="Revenue">Sum of the purchase prices.</param>
public sealed record UserTruth(
    string UserId,
    string Persona,
    bool Churned,
    DateTimeOffset? ChurnTime,
    DateTimeOffset? ChurnOnsetTime,
    DateTimeOffset? FirstEventTime,
    DateTimeOffset? LastEventTime,
    int Sessions,
    int Views,
    int AddToCarts,
    int Purchases,
    decimal Revenue);
