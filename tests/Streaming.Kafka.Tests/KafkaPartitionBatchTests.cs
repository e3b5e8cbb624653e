using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>What the batch grains received, shared by the silos of one test.</summary>
public sealed class ReceivedBatches
{
    private readonly ConcurrentQueue<(string GrainKey, KafkaEventBatch Batch, KafkaSequenceToken? Token)> _batches = new();

    public void Add(string grainKey, KafkaEventBatch batch, StreamSequenceToken? token) => _batches.Enqueue((grainKey, batch, token as KafkaSequenceToken));

    public IReadOnlyList<(string GrainKey, KafkaEventBatch Batch, KafkaSequenceToken? Token)> Snapshot() => [.. _batches];
}

[Alias("Analytics.Streaming.Kafka.Tests.IRecordingBatchGrain")]
public interface IRecordingBatchGrain : IGrainWithStringKey;

/// <summary>The implicit subscriber of every partition's batch stream: it records each batch.</summary>
[ImplicitStreamSubscription(KafkaStreamNamespaces.PartitionBatches)]
public sealed class RecordingBatchGrain(ReceivedBatches batches) : Grain, IRecordingBatchGrain, IAsyncObserver<KafkaEventBatch>
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
        => await this.GetStreamProvider(KafkaSiloFixture.ProviderName)
            .GetStream<KafkaEventBatch>(StreamId.Create(KafkaStreamNamespaces.PartitionBatches, this.GetPrimaryKeyString()))
            .SubscribeAsync(this);

    public Task OnNextAsync(KafkaEventBatch item, StreamSequenceToken? token = null)
    {
        batches.Add(this.GetPrimaryKeyString(), item, token);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}

/// <summary>
/// <see cref="KafkaEventDelivery.PartitionBatches"/>: each pull's valid events reach the partition's stream as one
/// batch, in offset order, and offsets are committed to the end as with one stream per user.
/// </summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaPartitionBatchTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PartitionBatches_EveryEventOnceInItsPartitionsBatch_InOffsetOrder_BadOnesDeadLettered_CommitsReachTheEnd()
    {
        var topic = "batches_" + Guid.NewGuid().ToString("N")[..12];
        fixture.Cluster.CreateTopic(topic, KafkaSiloFixture.Partitions);
        var group = "batches-" + Guid.NewGuid().ToString("N");
        var received = new ReceivedBatches();
        var sink = new RecordingMessageSink();
        using var silo = BuildSilo(topic, group, received, sink);
        await silo.StartAsync();
        try
        {
            using var producer = fixture.CreateProducer();
            var events = Enumerable.Range(0, 3_000).Select(i => TestEvents.New($"user-{i % 300}")).ToList();
            var produced = await TestEvents.ProduceAsync(producer, topic, events.Take(1_500));
            // A malformed message in the middle of every partition: the batches go around it.
            var bad = new List<(int Partition, long Offset)>();
            for (var partition = 0; partition < KafkaSiloFixture.Partitions; partition++)
            {
                var result = await producer.ProduceAsync(
                    new TopicPartition(topic, partition), new Message<string, byte[]> { Key = "bad", Value = Encoding.UTF8.GetBytes("{not json") });
                bad.Add((partition, result.Offset.Value));
            }

            foreach (var (id, where) in await TestEvents.ProduceAsync(producer, topic, events.Skip(1_500))) produced[id] = where;

            await Eventually.UntilAsync(
                () => received.Snapshot().Sum(b => b.Batch.Events.Length) >= events.Count, Deadline, $"{events.Count} events delivered in batches");
            var batches = received.Snapshot();
            var delivered = batches.SelectMany(b => b.Batch.Events).ToList();
            Assert.Equal(events.Count, delivered.Count); // none twice
            Assert.Equal(produced.Keys.Order(), delivered.Select(e => e.Event.EventId).Order());
            Assert.True(batches.Count < events.Count / 10, $"events come in batches ({batches.Count} batches for {events.Count} events)");

            var siloAddress = silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
            foreach (var (grainKey, batch, token) in batches)
            {
                Assert.Equal(batch.Partition.ToString(CultureInfo.InvariantCulture), grainKey);
                Assert.Equal(batch.FirstOffset, token?.Offset);
                Assert.Equal(batch.Partition, token?.Partition);
                Assert.Equal(siloAddress, batch.ReadBy);
                var offsets = batch.Events.Select(e => e.Offset).ToList();
                Assert.Equal(offsets.Order(), offsets);
                foreach (var e in batch.Events)
                {
                    Assert.Equal(batch.Partition, e.Partition);
                    Assert.Equal(produced[e.Event.EventId].Partition.Value, e.Partition);
                    Assert.Equal(produced[e.Event.EventId].Offset.Value, e.Offset);
                }
            }

            // Each partition's batches follow one another in offset order.
            foreach (var partition in batches.GroupBy(b => b.Batch.Partition))
            {
                var offsets = partition.SelectMany(b => b.Batch.Events).Select(e => e.Offset).ToList();
                Assert.Equal(offsets.Order(), offsets);
            }

            await Eventually.UntilAsync(() => sink.DeadLetters().Count >= bad.Count, Deadline, "the malformed messages dead-lettered");
            Assert.Equal(bad.Order(), sink.DeadLetters().Select(d => (d.Partition, d.Offset)).Order());

            var ends = fixture.EndOffsets(topic);
            await Eventually.UntilAsync(
                () => fixture.CommittedOffsets(group, topic).SequenceEqual(ends),
                Deadline,
                $"committed offsets equal to the partition ends [{string.Join(", ", ends)}]");
        }
        finally
        {
            await silo.StopAsync();
        }
    }

    private IHost BuildSilo(string topic, string group, ReceivedBatches received, RecordingMessageSink sink)
        => fixture.BuildSilo(
            options =>
            {
                options.Topic = topic;
                options.ConsumerGroup = group;
                options.EventDelivery = KafkaEventDelivery.PartitionBatches;
            },
            received: new ReceivedEvents(),
            sink: sink,
            configureSilo: silo => silo.Services.AddSingleton(received));
}
