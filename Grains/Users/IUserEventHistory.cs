using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Users;

/// <summary>An event read back from the durable event store, with its Kafka position.</summary>
public sealed record HistoricUserEvent(UserEvent Event, int Epoch, int Partition, long Offset);

/// <summary>
/// The durable store of every event the pipeline accepted (<c>raw_events</c>), written before any grain receives the
/// event. A user grain reads from it what its stored state does not hold yet.
/// </summary>
public interface IUserEventHistory
{
    /// <summary>
    /// The events of <paramref name="userId"/> not covered by <paramref name="applied"/> (highest offset applied per
    /// topic epoch and partition): those of other epochs or partitions, and those above the applied offsets; in log
    /// order (epoch, partition, offset).
    /// </summary>
    Task<IReadOnlyList<HistoricUserEvent>> ReadUnappliedAsync(
        string userId, IReadOnlyDictionary<(int Epoch, int Partition), long> applied, CancellationToken cancellationToken);
}
