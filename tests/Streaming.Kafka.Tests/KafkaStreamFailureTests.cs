using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Confluent.Kafka;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>
/// Failures a real silo must ride out: a subscriber that fails on one event, a message sink that fails for a while.
/// Each test runs its own silo on its own topic and group, so the fixture's silo never sees these events.
/// </summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaStreamFailureTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PoisonEvent_SubscriberFailsEveryDelivery_BecomesDeadLetterWhileTheStreamAndTheCommitsGoOn()
    {
        var topic = fixture.CreateTopic("poison", 1);
        var group = "poison-" + Guid.NewGuid().ToString("N");
        var received = new ReceivedEvents();
        var sink = new RecordingMessageSink();
        var maxDeliveryTime = TimeSpan.FromSeconds(3);
        using var silo = fixture.BuildSilo(
            options =>
            {
                options.Topic = topic;
                options.Partitions = 1;
                options.ConsumerGroup = group;
                options.MaxDeliveryTime = maxDeliveryTime;
            },
            received,
            sink);
        await silo.StartAsync();
        try
        {
            var userId = "poisoned-" + Guid.NewGuid().ToString("N");
            var first = TestEvents.New(userId);
            var poison = TestEvents.New(userId, PoisonLog.PoisonProductId);
            var next = TestEvents.New(userId);
            using var producer = fixture.CreateProducer();
            var at = await TestEvents.ProduceAsync(producer, topic, [first]);
            at = at.Concat(await TestEvents.ProduceAsync(producer, topic, [poison]))
                .Concat(await TestEvents.ProduceAsync(producer, topic, [next]))
                .ToDictionary();
            var poisonOffset = at[poison.EventId].Offset.Value;

            // While the poison-sensitive subscription retries, the commit reaches the poison event and stops there. (The
            // commit can only pass it once the dead letter is stored, so a commit read before the dead letter exists
            // must not have passed it.)
            await Eventually.UntilAsync(
                () =>
                {
                    var committed = fixture.CommittedOffsets(group, topic, 1)[0];
                    if (sink.DeadLetters().Count > 0)
                    {
                        throw new InvalidOperationException($"The dead letter was stored before the commit reached {poisonOffset} (committed {committed}).");
                    }

                    Assert.True(committed <= poisonOffset, $"committed {committed} passes the poison event at {poisonOffset} before it was dead-lettered");
                    return committed == poisonOffset;
                },
                Deadline,
                $"the commit held at the poison event's offset {poisonOffset}");

            await Eventually.UntilAsync(() => sink.DeadLetters().Count > 0, Deadline, "the poison event dead-lettered");
            var deadLetter = Assert.Single(sink.DeadLetters());
            Assert.Equal((topic, 0, poisonOffset), (deadLetter.Topic, deadLetter.Partition, deadLetter.Offset));
            Assert.StartsWith("DeliveryFailed:", deadLetter.Reason, StringComparison.Ordinal);
            Assert.Contains(userId, deadLetter.Reason, StringComparison.Ordinal);
            Assert.Equal(UserEventJson.ToUtf8Bytes(poison), deadLetter.Payload.ToArray());
            var attempts = fixture.Poison.Refused().Count(r => r.Event.EventId == poison.EventId);
            Assert.True(attempts >= 2, $"the poison event was tried {attempts} times: Orleans did not retry it");

            // The failing subscriber goes on with the next event; the other subscriber had everything once.
            await Eventually.UntilAsync(
                () => fixture.Poison.Accepted().Any(r => r.Event.EventId == next.EventId),
                Deadline,
                "the poison-sensitive subscriber given the event after the poison");
            await Eventually.UntilAsync(
                () => received.Snapshot().Count(r => r.GrainKey == userId) == 3,
                Deadline,
                "the recording subscriber given all three events");
            Assert.Equal(
                [first.EventId, poison.EventId, next.EventId],
                received.Snapshot().Where(r => r.GrainKey == userId).Select(r => r.Event.EventId));
            await Eventually.UntilAsync(
                () => fixture.CommittedOffsets(group, topic, 1)[0] == at[next.EventId].Offset.Value + 1,
                Deadline,
                $"the commit past the event after the poison ({at[next.EventId].Offset.Value})");
        }
        finally
        {
            await silo.StopAsync();
        }
    }

    [Fact]
    public async Task SinkFailing_PartitionDeliversAndCommitsNothing_ThenEveryEventExactlyOnceOnceItRecovers()
    {
        var topic = fixture.CreateTopic("sink_failing", 2);
        var group = "sink-failing-" + Guid.NewGuid().ToString("N");
        var received = new ReceivedEvents();
        var sink = new RecordingMessageSink();
        sink.StartFailing(partition: 0);
        using var silo = fixture.BuildSilo(
            options =>
            {
                options.Topic = topic;
                options.Partitions = 2;
                options.ConsumerGroup = group;
                options.StoreRetryDelay = TimeSpan.FromMilliseconds(200);
            },
            received,
            sink);
        await silo.StartAsync();
        try
        {
            var run = Guid.NewGuid().ToString("N")[..8];
            using var producer = fixture.CreateProducer();
            var failing = await TestEvents.ProduceAsync(
                producer, topic, Enumerable.Range(0, 20).Select(i => TestEvents.New($"sink-{run}-{i % 5}")), partition: 0);
            var healthy = await TestEvents.ProduceAsync(
                producer, topic, Enumerable.Range(0, 20).Select(i => TestEvents.New($"sink-{run}-{5 + i % 5}")), partition: 1);
            var ends = fixture.EndOffsets(topic, 2);

            // The other partition goes on, while the failing one is offered again and again.
            await Eventually.UntilAsync(
                () => fixture.CommittedOffsets(group, topic, 2)[1] == ends[1] && sink.FailedCalls(0) >= 3,
                Deadline,
                $"partition 1 delivered and committed up to {ends[1]}, partition 0 offered to the failing sink 3 times");
            Assert.DoesNotContain(received.Snapshot(), r => failing.ContainsKey(r.Event.EventId));
            Assert.DoesNotContain(sink.Events(), e => e.Partition == 0);
            Assert.Equal(-1, fixture.CommittedOffsets(group, topic, 2)[0]);
            Assert.All(sink.RefusedBatches(), b => Assert.Equal(0, b.Partition));

            sink.StopFailing();
            await Eventually.UntilAsync(
                () => fixture.CommittedOffsets(group, topic, 2).SequenceEqual(ends),
                Deadline,
                $"both partitions committed up to [{string.Join(", ", ends)}]");
            await Eventually.UntilAsync(
                () => received.Snapshot().Count(r => failing.ContainsKey(r.Event.EventId)) >= failing.Count,
                Deadline,
                $"the {failing.Count} events of partition 0 delivered");

            var all = failing.Concat(healthy).ToDictionary();
            var deliveries = received.Snapshot().Where(r => all.ContainsKey(r.Event.EventId)).ToList();
            Assert.Equal(all.Count, deliveries.Count); // exactly once each
            Assert.Equal(all.Keys.Order(), deliveries.Select(r => r.Event.EventId).Order());
            Assert.All(deliveries, r => Assert.Equal(
                new KafkaSequenceToken(all[r.Event.EventId].Partition.Value, all[r.Event.EventId].Offset.Value), r.Token));
            Assert.Equal(all.Keys.Order(), sink.Events().Select(e => e.Event.EventId).Order()); // each stored once, before delivery
        }
        finally
        {
            await silo.StopAsync();
        }
    }
}
