using System.Collections.Concurrent;
using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaStreamDeliveryTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Produce_EventsOverEightPartitions_EachDeliveredOnceToItsUsersGrainWithPartitionAndOffset()
    {
        var produced = await ProduceEventsAsync(users: 200, eventsPerUser: 2);
        Assert.Equal(KafkaSiloFixture.Partitions, produced.Values.Select(p => p.Partition.Value).Distinct().Count());

        await Eventually.UntilAsync(
            () => Mine(produced).Select(r => r.Event.EventId).Distinct().Count() == produced.Count,
            Deadline,
            $"all {produced.Count} events delivered to their grains");

        var received = Mine(produced);
        Assert.Equal(produced.Count, received.Count); // no duplicates
        foreach (var item in received)
        {
            var where = produced[item.Event.EventId];
            Assert.Equal(item.Event.UserId, item.GrainKey);
            var token = Assert.IsType<KafkaSequenceToken>(item.Token);
            Assert.Equal(where.Partition.Value, token.Partition);
            Assert.Equal(where.Offset.Value, token.Offset);
            Assert.Equal(where.Offset.Value, token.SequenceNumber);
        }

        // Per user, events arrive in log order.
        foreach (var user in received.GroupBy(r => r.GrainKey))
        {
            var offsets = user.Select(r => ((KafkaSequenceToken)r.Token!).Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
        }
    }

    [Fact]
    public async Task Produce_EventsDelivered_CommittedOffsetsReachEndOfEveryPartition()
    {
        var produced = await ProduceEventsAsync(users: 100, eventsPerUser: 3);
        await Eventually.UntilAsync(
            () => Mine(produced).Count == produced.Count,
            Deadline,
            $"all {produced.Count} events delivered");

        var ends = fixture.EndOffsets();
        Assert.All(ends, end => Assert.True(end > 0));
        await Eventually.UntilAsync(
            () => fixture.CommittedOffsets().SequenceEqual(ends),
            Deadline,
            $"committed offsets of group {fixture.ConsumerGroup} equal to the partition ends [{string.Join(", ", ends)}]");
    }

    [Fact]
    public async Task Produce_MalformedPayload_StoredAsDeadLetterWithReasonAndDoesNotHoldCommitsBack()
    {
        var marker = Guid.NewGuid().ToString("N");
        var payload = Encoding.UTF8.GetBytes($$"""{"user_id":"{{marker}}","session_id":"s"}""");
        using var producer = fixture.CreateProducer();
        var result = await producer.ProduceAsync(
            new TopicPartition(KafkaSiloFixture.Topic, new Partition(3)),
            new Message<string, byte[]> { Key = marker, Value = payload });
        // A valid event after it on the same partition: the commit must pass both.
        var after = TestEvents.New("user-" + marker);
        var next = await producer.ProduceAsync(
            new TopicPartition(KafkaSiloFixture.Topic, new Partition(3)),
            TestEvents.ToMessage(after));

        await Eventually.UntilAsync(
            () => fixture.Sink.DeadLetters().Any(d => d.Offset == result.Offset.Value && d.Partition == 3),
            Deadline,
            $"the malformed payload at [3]@{result.Offset.Value} stored as a dead letter by the message sink");

        var deadLetter = fixture.Sink.DeadLetters().Single(d => d.Offset == result.Offset.Value && d.Partition == 3);
        Assert.Equal(KafkaSiloFixture.Topic, deadLetter.Topic);
        Assert.Equal(payload, deadLetter.Payload.ToArray());
        Assert.StartsWith("MissingField: ", deadLetter.Reason, StringComparison.Ordinal);
        Assert.Contains("event_id", deadLetter.Reason, StringComparison.Ordinal);

        await Eventually.UntilAsync(
            () => fixture.Received.Snapshot().Any(r => r.Event.EventId == after.EventId),
            Deadline,
            "the valid event after the dead letter delivered");
        await Eventually.UntilAsync(
            () => fixture.CommittedOffsets()[3] > next.Offset.Value,
            Deadline,
            $"partition 3 committed past offset {next.Offset.Value}");
    }

    [Fact]
    public async Task ProviderStatus_RunningSilo_ReportsStartedAndEveryPartitionItReads()
    {
        var status = fixture.Host.Services.GetRequiredKeyedService<KafkaStreamProviderStatus>(KafkaSiloFixture.ProviderName);
        Assert.True(status.Started);
        await Eventually.UntilAsync(
            () => status.Partitions.SequenceEqual(Enumerable.Range(0, KafkaSiloFixture.Partitions)),
            Deadline,
            $"the only silo reading all {KafkaSiloFixture.Partitions} partitions (now [{string.Join(", ", status.Partitions)}])");
    }

    [Fact]
    public async Task StartSilo_PartitionsDifferFromTopic_FailsNamingTheSetting()
    {
        using var host = fixture.BuildSilo(options => options.Partitions = 4);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var messages = string.Join(" | ", TestEvents.Flatten(error).Select(e => e.Message));
        Assert.Contains("kafka:Partitions is 4 but topic 'user_events' has 8 partitions", messages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartSilo_TopicMissing_FailsNamingTheTopic()
    {
        using var host = fixture.BuildSilo(options => options.Topic = "no_such_topic_" + Guid.NewGuid().ToString("N")[..8]);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var messages = string.Join(" | ", TestEvents.Flatten(error).Select(e => e.Message));
        Assert.Contains("kafka:Topic: topic 'no_such_topic_", messages, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestartSilo_SameGroup_ResumesFromCommittedOffsetsWithoutRedelivery()
    {
        var group = "restart-" + Guid.NewGuid().ToString("N");
        var beforeRestart = new ReceivedEvents();
        var first = fixture.BuildSilo(options => options.ConsumerGroup = group, beforeRestart);
        var before = await ProduceEventsAsync(users: 50, eventsPerUser: 1);
        var ends = fixture.EndOffsets();
        await first.StartAsync();
        try
        {
            // A new group starts at the earliest offset; wait until it has caught up with the topic as it is.
            await Eventually.UntilAsync(
                () => fixture.CommittedOffsets(group).SequenceEqual(ends),
                Deadline,
                $"group {group} committed up to [{string.Join(", ", ends)}]");
            Assert.Equal(before.Count, beforeRestart.Snapshot().Count(r => before.ContainsKey(r.Event.EventId)));
        }
        finally
        {
            await first.StopAsync();
            first.Dispose();
        }

        var produced = await ProduceEventsAsync(users: 50, eventsPerUser: 1);
        var afterRestart = new ReceivedEvents();
        using var second = fixture.BuildSilo(options => options.ConsumerGroup = group, afterRestart);
        await second.StartAsync();
        try
        {
            await Eventually.UntilAsync(
                () => afterRestart.Snapshot().Count(r => produced.ContainsKey(r.Event.EventId)) == produced.Count,
                Deadline,
                $"the {produced.Count} events produced while no silo ran delivered after the restart");
            var redelivered = afterRestart.Snapshot().Where(r => !produced.ContainsKey(r.Event.EventId)).ToList();
            Assert.True(
                redelivered.Count == 0,
                $"{redelivered.Count} events read before the restart were delivered again, e.g. {redelivered.FirstOrDefault()?.Token}");
        }
        finally
        {
            await second.StopAsync();
        }
    }

    [Fact]
    public async Task ClusterClient_ExplicitPubSubOptedIn_SubscriptionReceivesEventsFromKafkaAndCommitsFollow()
    {
        // The provider defaults to implicit subscriptions only; a client subscription needs the grain-based pub-sub on
        // both sides, and its storage.
        var topic = fixture.CreateTopic("explicit", 2);
        var group = "explicit-" + Guid.NewGuid().ToString("N");
        using var silo = fixture.BuildSilo(
            options =>
            {
                options.Topic = topic;
                options.Partitions = 2;
                options.ConsumerGroup = group;
            },
            received: new ReceivedEvents(),
            sink: new RecordingMessageSink(),
            configure: c => c.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit),
            configureSilo: s => s.AddMemoryGrainStorage("PubSubStore"));
        await silo.StartAsync();
        using var client = fixture.BuildClient(silo, topic, partitions: 2, c => c.ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit));
        await client.StartAsync();
        try
        {
            var userId = "client-" + Guid.NewGuid().ToString("N");
            var received = new ConcurrentQueue<(UserEvent Event, StreamSequenceToken? Token)>();
            var stream = client.Services.GetRequiredService<IClusterClient>()
                .GetStreamProvider(KafkaSiloFixture.ProviderName)
                .GetStream<UserEvent>(StreamId.Create(KafkaStreamNamespaces.UserEvents, userId));
            var subscription = await stream.SubscribeAsync((item, token) =>
            {
                received.Enqueue((item, token));
                return Task.CompletedTask;
            });

            var userEvent = TestEvents.New(userId);
            using var producer = fixture.CreateProducer();
            var result = await producer.ProduceAsync(topic, TestEvents.ToMessage(userEvent));

            await Eventually.UntilAsync(() => !received.IsEmpty, Deadline, $"the client's subscription to user {userId} given its event");
            var (item, token) = Assert.Single(received);
            Assert.Equal(userEvent, item);
            Assert.Equal(new KafkaSequenceToken(result.Partition.Value, result.Offset.Value), token);
            await Eventually.UntilAsync(
                () => fixture.CommittedOffsets(group, topic, 2)[result.Partition.Value] == result.Offset.Value + 1,
                Deadline,
                $"{topic}[{result.Partition.Value}] committed past the delivered event at {result.Offset.Value}");
            await subscription.UnsubscribeAsync();
        }
        finally
        {
            await client.StopAsync();
            await silo.StopAsync();
        }
    }

    private List<ReceivedEvent> Mine(Dictionary<Guid, TopicPartitionOffset> produced)
        => [.. fixture.Received.Snapshot().Where(r => produced.ContainsKey(r.Event.EventId))];

    private async Task<Dictionary<Guid, TopicPartitionOffset>> ProduceEventsAsync(int users, int eventsPerUser)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        using var producer = fixture.CreateProducer();
        var sends = new List<Task<DeliveryResult<string, byte[]>>>();
        var ids = new List<Guid>();
        for (var round = 0; round < eventsPerUser; round++)
        {
            for (var user = 0; user < users; user++)
            {
                var userEvent = TestEvents.New($"user-{run}-{user}");
                ids.Add(userEvent.EventId);
                sends.Add(producer.ProduceAsync(KafkaSiloFixture.Topic, TestEvents.ToMessage(userEvent)));
            }
        }

        var results = await Task.WhenAll(sends);
        return ids.Zip(results).ToDictionary(p => p.First, p => p.Second.TopicPartitionOffset);
    }
}
