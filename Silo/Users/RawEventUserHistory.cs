using Analytics.Grains.Users;
using Analytics.Storage;

namespace Analytics.Silo.Users;

/// <summary>The user grains' <see cref="IUserEventHistory"/>: <c>raw_events</c>, which the ingestion sink fills before delivery.</summary>
internal sealed class RawEventUserHistory(UserEventHistoryReader reader) : IUserEventHistory
{
    public async Task<IReadOnlyList<HistoricUserEvent>> ReadUnappliedAsync(
        string userId, IReadOnlyDictionary<(int Epoch, int Partition), long> applied, CancellationToken cancellationToken)
    {
        var stored = await reader.ReadUnappliedAsync(
            userId, [.. applied.Select(a => new AppliedPosition(a.Key.Epoch, a.Key.Partition, a.Value))], cancellationToken);
        return [.. stored.Select(s => new HistoricUserEvent(s.Event, s.KafkaEpoch, s.KafkaPartition, s.KafkaOffset))];
    }
}
