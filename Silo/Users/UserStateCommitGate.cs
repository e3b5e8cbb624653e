using Analytics.Grains;
using Analytics.Grains.Interfaces.Users;
using Analytics.Streaming.Kafka;

namespace Analytics.Silo.Users;

/// <summary>
/// Before the Kafka stream provider commits a partition's offsets, asks every user grain that received events below
/// the commit to persist its state (each writes once, whatever the number of its events). The commit waits for all of
/// them, so after a crash the stored state plus the replay from the committed offset is exactly the state before.
/// A grain whose earlier activation died with some of these events unwritten gets them again from the span.
/// Calls go to wherever the grains live; a silo that died makes the calls fail and the commit waits for the next try.
/// </summary>
internal sealed class UserStateCommitGate(IGrainFactory grains) : IKafkaCommitGate
{
    public Task PrepareCommitAsync(KafkaCommitRange range, CancellationToken cancellationToken)
    {
        var persisting = new List<Task>(range.Streams.Count);
        foreach (var (stream, span) in range.Streams)
        {
            if (stream.GetNamespace() != GrainConstants.UserEventsNamespace) continue;
            var where = new DeliverySpan(range.Partition, range.Epoch, span.FirstOffset, span.LastOffset);
            persisting.Add(PersistAsync(grains.GetGrain<IUserGrain>(stream.GetKeyAsString()), where, span.Events));
        }

        return Task.WhenAll(persisting).WaitAsync(cancellationToken);
    }

    private static async Task PersistAsync(IUserGrain user, DeliverySpan span, IReadOnlyList<KafkaUserEvent> events)
    {
        if (await user.PersistAsync(span)) return;
        await user.RecoverAsync(span, [.. events.Select(e => new DeliveredUserEvent(e.Event, e.Offset))]);
    }
}
