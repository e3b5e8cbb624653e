using System.Collections.Concurrent;
using Analytics.Grains;
using Analytics.Grains.Interfaces.Events;
using Analytics.Streaming.Kafka;
using Orleans.Streams;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>Every delivery the counting grains saw, shared by the in-process silos of a test cluster.</summary>
public static class DeliveryLog
{
    private static readonly ConcurrentDictionary<Guid, int> Deliveries = new();
    private static readonly ConcurrentDictionary<Guid, (string GrainKey, KafkaSequenceToken? Token)> Seen = new();

    public static void Record(string grainKey, UserEvent userEvent, StreamSequenceToken? token)
    {
        Deliveries.AddOrUpdate(userEvent.EventId, 1, (_, n) => n + 1);
        Seen.TryAdd(userEvent.EventId, (grainKey, token as KafkaSequenceToken));
    }

    /// <summary>How many times each of <paramref name="eventIds"/> was delivered (0 if never).</summary>
    public static Dictionary<Guid, int> CountsOf(IEnumerable<Guid> eventIds)
        => eventIds.ToDictionary(id => id, id => Deliveries.TryGetValue(id, out var n) ? n : 0);

    /// <summary>The grain that first received <paramref name="eventId"/>, and the token it came with.</summary>
    public static (string GrainKey, KafkaSequenceToken? Token) FirstDelivery(Guid eventId) => Seen[eventId];
}

[Alias("Analytics.Silo.Tests.Cluster.ICountingUserGrain")]
public interface ICountingUserGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task Ping();
}

/// <summary>
/// A trivial second implicit subscriber of every partition's batch stream, beside the product's dispatcher: it records
/// each event delivered, under its user and with its own position as the token.
/// </summary>
[ImplicitStreamSubscription(KafkaStreamNamespaces.PartitionBatches)]
public sealed class CountingUserGrain : Grain, ICountingUserGrain, IAsyncObserver<KafkaEventBatch>
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(GrainConstants.StreamProviderName)
            .GetStream<KafkaEventBatch>(StreamId.Create(KafkaStreamNamespaces.PartitionBatches, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(this);
    }

    public Task Ping() => Task.CompletedTask;

    public Task OnNextAsync(KafkaEventBatch item, StreamSequenceToken? token = null)
    {
        foreach (var (userEvent, partition, offset, epoch) in item.Events)
        {
            DeliveryLog.Record(userEvent.UserId, userEvent, new KafkaSequenceToken(partition, offset, epoch: epoch));
        }

        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
