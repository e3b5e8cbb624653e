using System.Runtime.InteropServices;
using Analytics.Grains.Interfaces.Users;
using Analytics.Streaming.Kafka;
using Microsoft.Extensions.Logging;
using Orleans.Placement;
using Orleans.Streams;

namespace Analytics.Grains.Users;

/// <summary>The grain that fans one Kafka partition's event batches out to the user grains.</summary>
[Alias("Analytics.Grains.IPartitionEventsGrain")]
public interface IPartitionEventsGrain : IGrainWithStringKey;

/// <summary>
/// Subscribes implicitly to a partition's stream of event batches (key: the partition number) and hands each batch on
/// as one call per user: the user's events of the batch, in offset order. A batch is delivered once every user grain
/// has taken its events (and their funnel windows have them), so only then may the provider commit the batch's offsets
/// or report its event times to the watermark.
/// </summary>
/// <remarks>
/// <para>
/// Why batches: one stream delivery per event (one stream per user) cost the silo about 100 CPU-µs an event, most of it
/// Orleans' per-delivery work; one delivery per pull and one call per user in it cost a fraction of that.
/// </para>
/// <para>
/// If a user grain fails, the delivery fails and Orleans delivers the whole batch again; the users that had taken
/// their events drop them by offset. A batch that keeps failing for the provider's <c>MaxDeliveryTime</c> becomes dead
/// letters, as one event would.
/// </para>
/// <para>
/// The grain is placed on the silo that first delivers to it. When its queue moves to another silo, the first batch
/// read there tells it so (<see cref="KafkaEventBatch.ReadBy"/>) and it deactivates after that batch: the next one
/// activates it beside the reader, so batches do not cross the network.
/// </para>
/// </remarks>
[ImplicitStreamSubscription(KafkaStreamNamespaces.PartitionBatches)]
[PreferLocalPlacement]
public sealed partial class PartitionEventsGrain(ILocalSiloDetails silo, ILogger<PartitionEventsGrain> logger) : Grain, IPartitionEventsGrain, IAsyncObserver<KafkaEventBatch>
{
    private GrainReferences<IUserGrain>? _users;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(GrainConstants.StreamProviderName)
            .GetStream<KafkaEventBatch>(StreamId.Create(KafkaStreamNamespaces.PartitionBatches, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(this);
    }

    public async Task OnNextAsync(KafkaEventBatch item, StreamSequenceToken? token = null)
    {
        ArgumentNullException.ThrowIfNull(item);

        // Two passes, so that each user's events go straight into an array of the right size: a pull names most users
        // once, and a list per user (then copied to an array) was a fifth of this grain's allocations.
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        var counts = new List<int>();
        var slotOf = new int[item.Events.Length];
        for (var e = 0; e < slotOf.Length; e++)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(slots, item.Events[e].Event.UserId, out var exists);
            if (!exists)
            {
                slot = counts.Count;
                counts.Add(0);
            }

            slotOf[e] = slot;
            CollectionsMarshal.AsSpan(counts)[slot]++;
        }

        var batches = new PositionedUserEvent[counts.Count][];
        var filled = new int[counts.Count];
        for (var i = 0; i < batches.Length; i++) batches[i] = new PositionedUserEvent[counts[i]];
        for (var e = 0; e < slotOf.Length; e++)
        {
            var (userEvent, partition, offset, epoch) = item.Events[e];
            var slot = slotOf[e];
            batches[slot][filled[slot]++] = new PositionedUserEvent(userEvent, epoch, partition, offset);
        }

        _users ??= new(GrainFactory);
        var calls = new Task[batches.Length];
        foreach (var (userId, slot) in slots)
        {
            calls[slot] = _users.Get(userId).ApplyAsync(new UserEventBatch(batches[slot]));
        }

        await Task.WhenAll(calls);

        if (item.ReadBy is { } reader && !reader.Equals(silo.SiloAddress))
        {
            LogMovingToReader(logger, this.GetPrimaryKeyString(), reader.ToString());
            DeactivateOnIdle();
        }
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        LogStreamError(logger, this.GetPrimaryKeyString(), ex);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Partition {Partition}'s events are read on silo {Reader}: its dispatcher deactivates here to be activated there")]
    private static partial void LogMovingToReader(ILogger logger, string partition, string reader);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Partition {Partition}: stream error")]
    private static partial void LogStreamError(ILogger logger, string partition, Exception exception);
}
