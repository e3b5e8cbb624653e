using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Users;

/// <summary>What happened to an event offered to <see cref="UserState.Apply"/>.</summary>
public enum ApplyOutcome
{
    /// <summary>New: it changed the aggregate.</summary>
    Applied,

    /// <summary>Its Kafka offset was applied already (a replay after a crash or a queue handover): ignored.</summary>
    Replayed,

    /// <summary>Another event with its <c>event_id</c> was applied recently (the producer sent it twice): ignored.</summary>
    Duplicate,
}

/// <summary>How long <see cref="UserState"/> remembers event ids to drop duplicates.</summary>
/// <param name="Span">Ids of events more than this much older (event time) than the user's latest are forgotten.</param>
/// <param name="Capacity">At most this many ids are kept; past it, the oldest (event time) are forgotten.</param>
public readonly record struct DuplicateWindow(TimeSpan Span, int Capacity);

/// <summary>
/// A user grain's persisted state: the <see cref="UserBehaviour"/> plus what makes applying events exactly-once.
/// Kafka delivers at least once, so each event is checked twice before it counts: by its position (the highest
/// offset applied per partition; offsets only grow within a partition, so anything at or below it is a replay) and by
/// its id (the ids of recent events, for duplicates the producer sent at other offsets). The positions are stored
/// with the aggregate in one write, so the stored state says exactly which events it holds.
/// Offsets compare only within one epoch of the topic (see <c>KafkaSequenceToken.Epoch</c>): a partition seen in a new
/// epoch (the topic was recreated, or the development broker restarted) starts its offsets afresh, and the positions
/// of earlier epochs are kept.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Users.UserState")]
public sealed class UserState
{
    // Pruning walks every remembered id; doing it every few events keeps memory near the window at a small cost.
    private const int PruneEvery = 32;

    [Id(0)] public UserBehaviour Behaviour { get; private set; } = new();

    /// <summary>The highest offset applied per topic epoch and Kafka partition.</summary>
    [Id(1)] public Dictionary<(int Epoch, int Partition), long> AppliedOffsets { get; private set; } = [];

    /// <summary>Ids of recently applied events, with their event time in UTC ticks.</summary>
    [Id(2)] public Dictionary<Guid, long> RecentEventIds { get; private set; } = [];

    /// <summary>The highest offset applied in <paramref name="partition"/> of topic epoch <paramref name="epoch"/>, or -1.</summary>
    public long AppliedOffset(int partition, int epoch = 0) => AppliedOffsets.GetValueOrDefault((epoch, partition), -1);

    /// <summary>Applies <paramref name="userEvent"/> unless it is a replay or a duplicate.</summary>
    /// <param name="userEvent">The event.</param>
    /// <param name="position">Its Kafka partition and offset, when it came from Kafka.</param>
    /// <param name="window">How long ids are remembered.</param>
    /// <param name="epoch">The topic epoch of <paramref name="position"/>.</param>
    public ApplyOutcome Apply(UserEvent userEvent, (int Partition, long Offset)? position, DuplicateWindow window, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(userEvent);
        ThrowIfUnknownType(userEvent);
        if (position is var (partition, offset))
        {
            if (AppliedOffsets.TryGetValue((epoch, partition), out var applied) && offset <= applied) return ApplyOutcome.Replayed;
            AppliedOffsets[(epoch, partition)] = offset;
        }

        if (!RecentEventIds.TryAdd(userEvent.EventId, userEvent.EventTime.UtcTicks)) return ApplyOutcome.Duplicate;
        Behaviour.Apply(userEvent);
        if (RecentEventIds.Count > window.Capacity || RecentEventIds.Count % PruneEvery == 0) Prune(window);
        return ApplyOutcome.Applied;
    }

    // Before any bookkeeping: an event that cannot be applied must not be remembered as applied.
    private static void ThrowIfUnknownType(UserEvent userEvent)
    {
        if (!Enum.IsDefined(userEvent.EventType))
        {
            throw new ArgumentOutOfRangeException(nameof(userEvent), userEvent.EventType, "Unknown event type.");
        }
    }

    private void Prune(DuplicateWindow window)
    {
        var expiredBelow = Behaviour.LastEventTicks - window.Span.Ticks;
        foreach (var (id, ticks) in RecentEventIds)
        {
            if (ticks < expiredBelow) RecentEventIds.Remove(id);
        }

        if (RecentEventIds.Count <= window.Capacity) return;

        // Over capacity within the span: keep the newest by event time (ties by id, so the choice is deterministic).
        foreach (var (id, _) in RecentEventIds.OrderBy(e => e.Value).ThenBy(e => e.Key).Take(RecentEventIds.Count - window.Capacity).ToList())
        {
            RecentEventIds.Remove(id);
        }
    }
}
