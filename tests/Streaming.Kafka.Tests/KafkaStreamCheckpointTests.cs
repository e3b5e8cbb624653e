using Analytics.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>What a silo leaves behind for the next owner of its partitions.</summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaStreamCheckpointTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private const int Partitions = 4;

    [Fact]
    public async Task StopSilo_BeforeAnyPeriodicCommit_FlushesExactlyWhatWasDelivered_AndTheNextSiloRedeliversNothing()
    {
        var topic = fixture.CreateTopic("handoff", Partitions);
        var group = "handoff-" + Guid.NewGuid().ToString("N");
        var run = Guid.NewGuid().ToString("N")[..8];
        using var producer = fixture.CreateProducer();
        var before = await TestEvents.ProduceAsync(producer, topic, Enumerable.Range(0, 40).Select(i => TestEvents.New($"handoff-{run}-{i % 20}")));
        var ends = fixture.EndOffsets(topic, Partitions);
        Assert.All(ends, end => Assert.True(end > 0, "every partition should hold some events"));

        var firstReceived = new ReceivedEvents();
        var first = fixture.BuildSilo(
            options =>
            {
                options.Topic = topic;
                options.Partitions = Partitions;
                options.ConsumerGroup = group;
                options.CommitInterval = TimeSpan.FromHours(1);
            },
            firstReceived,
            new RecordingMessageSink());
        await first.StartAsync();
        try
        {
            // Every subscription of each stream (the recording and the poison-sensitive grain) has them all.
            await Eventually.UntilAsync(
                () => firstReceived.Snapshot().Count(r => before.ContainsKey(r.Event.EventId)) == before.Count
                    && fixture.Poison.Accepted().Count(r => before.ContainsKey(r.Event.EventId)) == before.Count,
                Deadline,
                $"the {before.Count} events delivered to both subscribers by the first silo");
            Assert.All(fixture.CommittedOffsets(group, topic, Partitions), committed => Assert.Equal(-1, committed)); // an hour has not passed
        }
        finally
        {
            await first.StopAsync();
        }

        Assert.Empty(first.Services.GetRequiredKeyedService<KafkaStreamProviderStatus>(KafkaSiloFixture.ProviderName).Partitions);
        first.Dispose();

        Assert.Equal(ends, fixture.CommittedOffsets(group, topic, Partitions));
        Assert.Equal(before.Count, firstReceived.Snapshot().Count);

        var after = await TestEvents.ProduceAsync(producer, topic, Enumerable.Range(0, 20).Select(i => TestEvents.New($"handoff-{run}-{i}")));
        var secondReceived = new ReceivedEvents();
        using var second = fixture.BuildSilo(
            options =>
            {
                options.Topic = topic;
                options.Partitions = Partitions;
                options.ConsumerGroup = group;
            },
            secondReceived,
            new RecordingMessageSink());
        await second.StartAsync();
        try
        {
            await Eventually.UntilAsync(
                () => secondReceived.Snapshot().Count(r => after.ContainsKey(r.Event.EventId)) == after.Count,
                Deadline,
                $"the {after.Count} events produced after the stop delivered by the second silo");
            var again = secondReceived.Snapshot().Where(r => !after.ContainsKey(r.Event.EventId)).ToList();
            Assert.True(again.Count == 0, $"{again.Count} events delivered before the stop were delivered again, e.g. at {again.FirstOrDefault()?.Token}");
        }
        finally
        {
            await second.StopAsync();
        }
    }
}
