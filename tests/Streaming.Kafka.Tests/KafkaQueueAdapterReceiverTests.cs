using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.Streaming.Kafka.Providers;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>The receiver on its own, driven as the pulling agent drives it, against the local broker.</summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaQueueAdapterReceiverTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MessagesDelivered_WithGap_CommitsOnlyUpToTheGapThenAllOnShutdown()
    {
        var (options, sink) = await NewTopicAsync(messages: 6);
        var receiver = NewReceiver(options, sink);
        await receiver.Initialize(Deadline);
        var batches = await ReadAsync(receiver, 6);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (long)i), batches.Select(b => b.Offset));

        await receiver.MessagesDeliveredAsync([batches[0], batches[1], batches[3], batches[4]], CancellationToken.None);
        Assert.Equal(2, Committed(options));

        await receiver.MessagesDeliveredAsync([batches[2], batches[5]], CancellationToken.None);
        Assert.Equal(6, Committed(options));
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task ConsumerLag_IsWhatThePartitionHoldsBeyondWhatWasRead_AndStopsWithTheReceiver()
    {
        var (options, sink) = await NewTopicAsync(messages: 10);
        var receiver = NewReceiver(options, sink);
        await receiver.Initialize(Deadline);

        // Read only part of the partition: the pulling agent asks for at most maxCount messages.
        var read = new List<IBatchContainer>();
        await Eventually.UntilAsync(async () =>
        {
            read.AddRange(await receiver.GetQueueMessagesAsync(4 - read.Count, CancellationToken.None));
            return read.Count == 4;
        }, Deadline, "4 messages read");
        await Eventually.UntilAsync(() => LagOf(options.Topic) == 6, Deadline, "a lag of 6 (10 in the partition, 4 read)");

        await ReadAsync(receiver, 6);
        await Eventually.UntilAsync(() => LagOf(options.Topic) == 0, Deadline, "no lag once everything is read");

        await receiver.Shutdown(Deadline);
        Assert.Null(LagOf(options.Topic));
    }

    /// <summary>The lag gauge's measurement for partition 0 of a topic, through a real MeterListener; null when none is reported.</summary>
    private static long? LagOf(string topic)
    {
        long? lag = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KafkaStreamMetrics.MeterName && instrument.Name == "kafka_stream_consumer_lag") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var named = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (Equals(named.GetValueOrDefault("topic"), topic) && Equals(named.GetValueOrDefault("partition"), 0)) lag = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return lag;
    }

    [Fact]
    public async Task Shutdown_CommitsDeliveredPrefix_AndNextOwnerResumesThere()
    {
        var (options, sink) = await NewTopicAsync(messages: 5);
        var first = NewReceiver(options, sink);
        await first.Initialize(Deadline);
        var batches = await ReadAsync(first, 5);
        // Handled, but never committed (as when a commit failed): Shutdown flushes it for the next owner.
        first.Tracker.Done(batches[0].Offset);
        first.Tracker.Done(batches[1].Offset);
        await first.Shutdown(Deadline);
        Assert.Equal(2, Committed(options));

        var second = NewReceiver(options, sink);
        await second.Initialize(Deadline);
        var again = await ReadAsync(second, 3);
        Assert.Equal([2L, 3L, 4L], again.Select(b => b.Offset));
        await second.Shutdown(Deadline);
    }

    [Fact]
    public async Task GetQueueMessages_MalformedPayload_GoesToSinkAndCountsAsHandled()
    {
        var (options, sink) = await NewTopicAsync(messages: 1, malformedFirst: true);
        var receiver = NewReceiver(options, sink);
        await receiver.Initialize(Deadline);
        var batches = await ReadAsync(receiver, 1);
        var deadLetter = Assert.Single(sink.Snapshot());
        Assert.Equal((options.Topic, 0, 0L), (deadLetter.Topic, deadLetter.Partition, deadLetter.Offset));
        Assert.Equal(EventRejectionCode.InvalidJson, deadLetter.Rejection.Code);
        Assert.Equal("not json"u8.ToArray(), deadLetter.Payload.ToArray());

        var batch = Assert.Single(batches);
        Assert.Equal(1, batch.Offset);
        Assert.Equal(StreamId.Create(KafkaStreamNamespaces.UserEvents, batch.Event.UserId), batch.StreamId);
        var (item, token) = Assert.Single(batch.GetEvents<UserEvent>());
        Assert.Same(batch.Event, item);
        Assert.Equal(new KafkaSequenceToken(0, 1), token);

        await receiver.MessagesDeliveredAsync([batch], CancellationToken.None);
        Assert.Equal(2, Committed(options));
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task GetQueueMessages_CommittedDataExpiredInBroker_CountsTheGapAndCommitsPastIt()
    {
        var (options, sink) = await NewTopicAsync(messages: 1);
        using (var committer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = fixture.Cluster.BootstrapServers,
            GroupId = options.ConsumerGroup,
        }).Build())
        {
            committer.Commit([new TopicPartitionOffset(options.Topic, 0, 0)]);
        }

        // ~8 MB that does not compress, in the local broker that keeps ~5 MiB per partition: offset 0 expires.
        using (var producer = fixture.CreateProducer())
        {
            for (var i = 0; i < 100; i++)
            {
                producer.Produce(options.Topic, new Message<string, byte[]> { Key = "bulk", Value = System.Security.Cryptography.RandomNumberGenerator.GetBytes(80_000) });
            }

            producer.Flush(Deadline);
        }

        var provider = "gap-" + Guid.NewGuid().ToString("N");
        long missed = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == KafkaStreamMetrics.MeterName && instrument.Name == "kafka_stream_missed_offsets") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "provider" && (string?)tag.Value == provider) Interlocked.Add(ref missed, value);
            }
        });
        listener.Start();

        var receiver = new KafkaQueueAdapterReceiver(provider, options, 0, sink, TimeProvider.System, NullLogger<KafkaQueueAdapterReceiver>.Instance);
        await receiver.Initialize(Deadline);
        await Eventually.UntilAsync(
            async () =>
            {
                await receiver.GetQueueMessagesAsync(100, CancellationToken.None);
                return sink.Snapshot().Any(d => d.Offset == 100);
            },
            Deadline,
            "the last bulky message read");

        var firstRead = sink.Snapshot().Min(d => d.Offset);
        Assert.InRange(firstRead, 2, 99);
        Assert.Equal(firstRead, Interlocked.Read(ref missed));
        Assert.Equal(101 - firstRead, sink.Snapshot().Count);
        Assert.Equal(101, Committed(options)); // dead letters are handled once the sink has them; the gap is not waited for
        await receiver.Shutdown(Deadline);
    }

    private KafkaQueueAdapterReceiver NewReceiver(KafkaStreamOptions options, RecordingDeadLetterSink sink)
        => new("kafka", options, 0, sink, TimeProvider.System, NullLogger<KafkaQueueAdapterReceiver>.Instance);

    private static async Task<List<KafkaBatchContainer>> ReadAsync(KafkaQueueAdapterReceiver receiver, int count)
    {
        var batches = new List<KafkaBatchContainer>();
        await Eventually.UntilAsync(
            async () =>
            {
                batches.AddRange((await receiver.GetQueueMessagesAsync(100, CancellationToken.None)).Cast<KafkaBatchContainer>());
                return batches.Count >= count;
            },
            Deadline,
            $"{count} batches read");
        return batches;
    }

    private long Committed(KafkaStreamOptions options)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = fixture.Cluster.BootstrapServers,
            GroupId = options.ConsumerGroup,
        }).Build();
        var committed = consumer.Committed([new TopicPartition(options.Topic, 0)], TimeSpan.FromSeconds(10));
        return committed[0].Offset.Value;
    }

    private async Task<(KafkaStreamOptions Options, RecordingDeadLetterSink Sink)> NewTopicAsync(int messages, bool malformedFirst = false)
    {
        var topic = "receiver_" + Guid.NewGuid().ToString("N")[..12];
        fixture.Cluster.CreateTopic(topic, 1);
        using var producer = fixture.CreateProducer();
        if (malformedFirst)
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "bad", Value = Encoding.UTF8.GetBytes("not json") });
        }

        for (var i = 0; i < messages; i++)
        {
            var userEvent = new UserEvent
            {
                EventId = Guid.CreateVersion7(),
                UserId = $"user-{i % 2}",
                SessionId = "s",
                EventType = UserEventType.View,
                ProductId = "p",
                Category = "c",
                Price = 1m,
                EventTime = DateTimeOffset.UtcNow,
            };
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = userEvent.UserId, Value = UserEventJson.ToUtf8Bytes(userEvent) });
        }

        var options = new KafkaStreamOptions
        {
            BootstrapServers = fixture.Cluster.BootstrapServers,
            Topic = topic,
            ConsumerGroup = "receiver-tests-" + Guid.NewGuid().ToString("N"),
            Partitions = 1,
        };
        return (options, new RecordingDeadLetterSink());
    }
}
