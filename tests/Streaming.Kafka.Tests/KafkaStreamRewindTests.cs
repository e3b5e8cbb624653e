using Analytics.TestInfrastructure;
using Confluent.Kafka;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>Rewinding a stream: the group's offsets move, and the next silo replays from there with the original tokens.</summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaStreamRewindTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private const int Partitions = 2;

    [Fact]
    public async Task Rewind_OnePartitionToAnOffset_NextSiloReplaysExactlyThoseEventsWithTheirOriginalTokens()
    {
        var (topic, group, produced) = await DeliveredOnceAsync(events: 30);

        var moves = await KafkaStreamRewind.RewindAsync(Options(topic, group), new KafkaRewindTarget.ToOffset(3), [0]);

        var ends = fixture.EndOffsets(topic, Partitions);
        var move = Assert.Single(moves);
        Assert.Equal((0, ends[0], 3L), (move.Partition, move.From, move.To));
        Assert.Equal([3, ends[1]], fixture.CommittedOffsets(group, topic, Partitions));

        var replayed = new ReceivedEvents();
        using var silo = fixture.BuildSilo(o => Adjust(o, topic, group), replayed, new RecordingMessageSink());
        await silo.StartAsync();
        try
        {
            var expected = produced.Where(p => p.Value.Partition.Value == 0 && p.Value.Offset.Value >= 3).ToDictionary();
            await Eventually.UntilAsync(
                () => replayed.Snapshot().Count(r => expected.ContainsKey(r.Event.EventId)) == expected.Count,
                Deadline,
                $"the {expected.Count} events of partition 0 from offset 3 delivered again");
            await Eventually.UntilAsync(() => fixture.CommittedOffsets(group, topic, Partitions).SequenceEqual(ends), Deadline, "commits back at the end");

            var again = replayed.Snapshot();
            Assert.Equal(expected.Count, again.Count); // nothing of partition 1, nothing before offset 3
            foreach (var received in again)
            {
                var token = Assert.IsType<KafkaSequenceToken>(received.Token);
                Assert.Equal((expected[received.Event.EventId].Partition.Value, expected[received.Event.EventId].Offset.Value), (token.Partition, token.Offset));
            }
        }
        finally
        {
            await silo.StopAsync();
        }
    }

    [Fact]
    public async Task Rewind_ToATime_MovesEachPartitionToItsFirstMessageFromThen()
    {
        var topic = fixture.CreateTopic("rewind_time", Partitions);
        var group = "rewind-" + Guid.NewGuid().ToString("N");
        using var producer = fixture.CreateProducer();
        await TestEvents.ProduceAsync(producer, topic, Enumerable.Range(0, 10).Select(i => TestEvents.New($"early-{i}")));
        await Task.Delay(TimeSpan.FromMilliseconds(1500)); // Kafka's message timestamps are the producer's clock, in milliseconds
        var cut = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        var late = await TestEvents.ProduceAsync(producer, topic, Enumerable.Range(0, 10).Select(i => TestEvents.New($"late-{i}")));

        var moves = await KafkaStreamRewind.RewindAsync(Options(topic, group), new KafkaRewindTarget.ToTime(cut));

        var ends = fixture.EndOffsets(topic, Partitions);
        foreach (var move in moves)
        {
            var firstLate = late.Values.Where(p => p.Partition.Value == move.Partition).Select(p => p.Offset.Value).DefaultIfEmpty(ends[move.Partition]).Min();
            Assert.Equal(firstLate, move.To);
            Assert.Null(move.From);
        }

        Assert.Equal(moves.Select(m => m.To), fixture.CommittedOffsets(group, topic, Partitions));
    }

    [Fact]
    public async Task Rewind_ByAndPastTheEnds_ClampsToWhatTheBrokerHas()
    {
        var (topic, group, _) = await DeliveredOnceAsync(events: 30);
        var ends = fixture.EndOffsets(topic, Partitions);

        var back = await KafkaStreamRewind.RewindAsync(Options(topic, group), new KafkaRewindTarget.By(-4));
        Assert.Equal(ends.Select(e => Math.Max(0, e - 4)), back.Select(m => m.To));

        var beyond = await KafkaStreamRewind.RewindAsync(Options(topic, group), new KafkaRewindTarget.ToOffset(1_000_000));
        Assert.Equal(ends, beyond.Select(m => m.To));
        Assert.Equal(ends, fixture.CommittedOffsets(group, topic, Partitions));
    }

    [Theory]
    [InlineData("offset:12", typeof(KafkaRewindTarget.ToOffset))]
    [InlineData("time:2026-11-25T10:00:00Z", typeof(KafkaRewindTarget.ToTime))]
    [InlineData("by:-1000", typeof(KafkaRewindTarget.By))]
    public void Parse_KnownForms_GiveTheirTarget(string text, Type expected) => Assert.IsType(expected, KafkaRewindTarget.Parse(text));

    [Theory]
    [InlineData("12")]
    [InlineData("offset:-1")]
    [InlineData("time:yesterday")]
    [InlineData("back:5")]
    public void Parse_Nonsense_SaysWhatIsExpected(string text)
        => Assert.Contains("offset:N, time:<ISO-8601 time> or by:[-]N", Assert.Throws<FormatException>(() => KafkaRewindTarget.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public async Task Rewind_PartitionOutsideTheTopic_IsRefused()
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => KafkaStreamRewind.RewindAsync(Options("any", "any"), new KafkaRewindTarget.ToOffset(0), [Partitions]));
        Assert.Contains("Partition 2 is not one of the topic's 0..1", error.Message, StringComparison.Ordinal);
    }

    private async Task<(string Topic, string Group, Dictionary<Guid, TopicPartitionOffset> Produced)> DeliveredOnceAsync(int events)
    {
        var topic = fixture.CreateTopic("rewind", Partitions);
        var group = "rewind-" + Guid.NewGuid().ToString("N");
        using var producer = fixture.CreateProducer();
        var run = Guid.NewGuid().ToString("N")[..8];
        var produced = await TestEvents.ProduceAsync(producer, topic, Enumerable.Range(0, events).Select(i => TestEvents.New($"rewind-{run}-{i % 20}")));
        Assert.All(fixture.EndOffsets(topic, Partitions), end => Assert.True(end > 3, "both partitions should hold a few events"));

        var received = new ReceivedEvents();
        using var silo = fixture.BuildSilo(o => Adjust(o, topic, group), received, new RecordingMessageSink());
        await silo.StartAsync();
        try
        {
            await Eventually.UntilAsync(() => received.Snapshot().Count == events, Deadline, $"the {events} events delivered once");
        }
        finally
        {
            await silo.StopAsync();
        }

        Assert.Equal(fixture.EndOffsets(topic, Partitions), fixture.CommittedOffsets(group, topic, Partitions));
        return (topic, group, produced);
    }

    private KafkaStreamOptions Options(string topic, string group) => new()
    {
        BootstrapServers = fixture.Cluster.BootstrapServers,
        Topic = topic,
        ConsumerGroup = group,
        Partitions = Partitions,
    };

    private static void Adjust(KafkaStreamOptions options, string topic, string group)
    {
        options.Topic = topic;
        options.ConsumerGroup = group;
        options.Partitions = Partitions;
    }
}
