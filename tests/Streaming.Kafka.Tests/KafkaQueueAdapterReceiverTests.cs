using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.Streaming.Kafka.Providers;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>
/// The receiver on its own against the local broker, driven as the pulling agent drives it: each pull is added to the
/// queue's cache, and cursors over the cache stand for subscriptions (moved on once a batch is delivered).
/// </summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaQueueAdapterReceiverTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
    private static readonly QueueId Queue = new KafkaQueueMapper("kafka", 1).GetQueue(0);

    [Fact]
    public async Task Commit_FollowsTheOldestMessageACursorStillHolds_AndReachesTheEndOnceEveryCursorMovedOn()
    {
        var (options, sink) = await NewTopicAsync(messages: 6); // user-0 at 0, 2, 4; user-1 at 1, 3, 5
        var (receiver, cache) = NewReceiver(options, sink);
        await receiver.Initialize(Deadline);
        var (batches, cursors) = await PullAsync(receiver, cache, 6);
        Assert.Equal([0L, 1, 2, 3, 4, 5], batches.Select(b => b.Offset));
        var user0 = cursors[batches[0].StreamId];
        var user1 = cursors[batches[1].StreamId];

        await CommitNowAsync(receiver);
        Assert.Null(Committed(options)); // nothing delivered yet

        Assert.Equal(0, MoveNext(user0));
        Assert.Equal(2, MoveNext(user0));
        Assert.Equal(4, MoveNext(user0));
        Assert.Null(MoveNext(user0));
        await CommitNowAsync(receiver);
        Assert.Equal(1, Committed(options)); // user-1's subscription has not had offset 1 yet

        Assert.Equal(1, MoveNext(user1));
        Assert.Equal(3, MoveNext(user1));
        await CommitNowAsync(receiver);
        Assert.Equal(3, Committed(options));

        Assert.Equal(5, MoveNext(user1));
        Assert.Null(MoveNext(user1));
        await CommitNowAsync(receiver);
        Assert.Equal(6, Committed(options));
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task GetQueueMessages_CacheTakesFewerThanAPull_StoresThePullOnceAndHandsItOverInSlices()
    {
        var (options, sink) = await NewTopicAsync(messages: 10);
        var receiver = NewReceiverWithoutCache(options, sink);
        await receiver.Initialize(Deadline);

        var slices = new List<int>();
        await Eventually.UntilAsync(async () =>
        {
            var slice = await receiver.GetQueueMessagesAsync(3, CancellationToken.None);
            if (slice.Count > 0) slices.Add(slice.Count);
            return slices.Sum() == 10;
        }, Deadline, "10 messages handed over");

        // However librdkafka's fetches split the ten, every slice is at most what the cache asked for, and a stored
        // pull is handed over without storing it again: fewer sink calls (transactions) than slices.
        Assert.All(slices, count => Assert.InRange(count, 1, 3));
        Assert.Equal(10, sink.Events().Count);
        Assert.True(sink.Batches().Count < slices.Count, $"{sink.Batches().Count} sink calls for {slices.Count} slices");
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task ConsumerLag_IsWhatThePartitionHoldsBeyondWhatWasRead_AndStopsWithTheReceiver()
    {
        var (options, sink) = await NewTopicAsync(messages: 10);
        options.PollBatchSize = 4; // one pull takes at most this many from Kafka
        var receiver = NewReceiverWithoutCache(options, sink);
        await receiver.Initialize(Deadline);

        // Read only part of the partition.
        var read = new List<IBatchContainer>();
        await Eventually.UntilAsync(async () =>
        {
            read.AddRange(await receiver.GetQueueMessagesAsync(100, CancellationToken.None));
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
    public async Task Shutdown_CommitsExactlyWhatWasDeliveredWhenTheAgentStopped_AndNextOwnerResumesThere()
    {
        var (options, sink) = await NewTopicAsync(messages: 5); // user-0 at 0, 2, 4; user-1 at 1, 3
        options.CommitInterval = TimeSpan.FromHours(1);
        var (first, cache) = NewReceiver(options, sink);
        await first.Initialize(Deadline);
        var (batches, cursors) = await PullAsync(first, cache, 5);
        var user0 = cursors[batches[0].StreamId];
        var user1 = cursors[batches[1].StreamId];
        Assert.Equal(0, MoveNext(user0));
        Assert.Equal(2, MoveNext(user0)); // 0 delivered, 2 being delivered
        Assert.Equal(1, MoveNext(user1));
        Assert.Equal(3, MoveNext(user1)); // 1 delivered, 3 being delivered
        await CommitNowAsync(first);
        Assert.Null(Committed(options)); // the interval has not passed: nothing committed before the handoff

        // The agent's shutdown: it reports its progress, disposes every cursor, then shuts the receiver down.
        cache.UpdateDeliveryProgress(null, DateTime.UtcNow);
        user0.Dispose();
        user1.Dispose();
        Assert.Equal(2, cache.DeliveredBelow()); // the disposed cursors were delivering 2 and 3: their holds stay
        await first.Shutdown(Deadline);
        Assert.Equal(2, Committed(options));

        var second = NewReceiverWithoutCache(options, sink);
        await second.Initialize(Deadline);
        var again = await ReadAsync(second, 3);
        Assert.Equal([2L, 3L, 4L], again.Select(b => b.Offset));
        await second.Shutdown(Deadline);
    }

    [Fact]
    public async Task Shutdown_AgentDidNotReportProgress_CommitsWhatTheCursorsSaidAtItsLastReadAttempt()
    {
        var (options, sink) = await NewTopicAsync(messages: 4, users: 1);
        options.CommitInterval = TimeSpan.FromHours(1);
        var (receiver, cache) = NewReceiver(options, sink);
        await receiver.Initialize(Deadline);
        var (_, cursors) = await PullAsync(receiver, cache, 4);
        var cursor = Assert.Single(cursors.Values);
        Assert.Equal(0, MoveNext(cursor));
        Assert.Equal(1, MoveNext(cursor)); // 0 delivered

        // The agent's read attempt (it asks the cache to purge first), then a stop that reports no progress (a stream
        // registration was pending) and disposes the cursors.
        cache.TryPurgeFromCache(out _);
        Assert.Equal(2, MoveNext(cursor)); // 1 delivered after the last read attempt: not known to the receiver
        cursor.Dispose();
        await receiver.Shutdown(Deadline);

        Assert.Equal(1, Committed(options));
    }

    [Fact]
    public async Task GetQueueMessages_MalformedPayload_IsStoredAsDeadLetterBeforeTheBatchIsHandedOverAndCommittedOnceStored()
    {
        var (options, sink) = await NewTopicAsync(messages: 1, malformedFirst: true);
        var (receiver, cache) = NewReceiver(options, sink);
        await receiver.Initialize(Deadline);
        var (batches, cursors) = await PullAsync(receiver, cache, 1);
        var stored = Assert.Single(sink.Batches(), b => b.DeadLetters.Count > 0);
        var deadLetter = Assert.Single(stored.DeadLetters);
        Assert.Equal((options.Topic, 0, 0L), (deadLetter.Topic, deadLetter.Partition, deadLetter.Offset));
        Assert.StartsWith("InvalidJson: ", deadLetter.Reason, StringComparison.Ordinal);
        Assert.Equal("not json"u8.ToArray(), deadLetter.Payload.ToArray());

        var batch = Assert.Single(batches);
        Assert.Equal(1, batch.Offset);
        Assert.Equal(StreamId.Create(KafkaStreamNamespaces.UserEvents, batch.Event!.UserId), batch.StreamId);
        var (item, token) = Assert.Single(batch.GetEvents<UserEvent>());
        Assert.Same(batch.Event, item);
        Assert.Equal(new KafkaSequenceToken(0, 1), token);
        // The event was stored with the dead letter, in the same call, before GetQueueMessagesAsync returned it.
        var storedEvent = Assert.Single(sink.Events());
        Assert.Equal((batch.Event.EventId, 0, 1L), (storedEvent.Event.EventId, storedEvent.Partition, storedEvent.Offset));

        var cursor = cursors[batch.StreamId];
        await CommitNowAsync(receiver);
        Assert.Equal(1, Committed(options)); // the dead letter is handled, the event not yet delivered

        Assert.Equal(1, MoveNext(cursor));
        Assert.Null(MoveNext(cursor));
        await CommitNowAsync(receiver);
        Assert.Equal(2, Committed(options));
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task GetQueueMessages_SinkFails_HandsOverAndCommitsNothingThenOffersTheSameBatchAfterTheRetryDelay()
    {
        var (options, sink) = await NewTopicAsync(messages: 3, malformedFirst: true);
        options.StoreRetryDelay = TimeSpan.FromSeconds(5);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (receiver, cache) = NewReceiver(options, sink, time);
        await receiver.Initialize(Deadline);
        sink.FailNext(2);

        var handedOver = new List<IBatchContainer>();
        await Eventually.UntilAsync(
            async () =>
            {
                handedOver.AddRange(await receiver.GetQueueMessagesAsync(100, CancellationToken.None));
                return sink.FailedCalls(0) == 1;
            },
            Deadline,
            "the first pull offered to the failing sink");
        var refused = Assert.Single(sink.RefusedBatches());

        // Within the retry delay the pull is not offered again, and nothing is handed over or committed.
        for (var i = 0; i < 3; i++) handedOver.AddRange(await receiver.GetQueueMessagesAsync(100, CancellationToken.None));
        Assert.Equal(1, sink.FailedCalls(0));
        time.Advance(options.StoreRetryDelay);
        handedOver.AddRange(await receiver.GetQueueMessagesAsync(100, CancellationToken.None));
        Assert.Equal(2, sink.FailedCalls(0));
        Assert.Empty(handedOver);
        Assert.Empty(sink.Batches());
        await CommitNowAsync(receiver);
        Assert.Null(Committed(options));

        time.Advance(options.StoreRetryDelay);
        var (batches, cursors) = await PullAsync(receiver, cache, 3);
        Assert.Equal([1L, 2L, 3L], batches.Select(b => b.Offset)); // each once
        var firstStored = sink.Batches()[0];
        Assert.Equal(Offsets(refused), Offsets(firstStored)); // the refused pull itself, not a new read
        Assert.Equal([0L], sink.DeadLetters().Select(d => d.Offset));
        Assert.Equal([1L, 2L, 3L], sink.Events().Select(e => e.Offset));

        await CommitNowAsync(receiver);
        Assert.Equal(1, Committed(options)); // the dead letter; the events wait for their subscribers
        DeliverAll(cursors.Values);
        await CommitNowAsync(receiver);
        Assert.Equal(4, Committed(options));
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task DeadLetterUndelivered_AfterMaxDeliveryTime_StoresTheEventAsJsonThenTheCommitPassesItOnceTheCursorMovesOn()
    {
        var (options, sink) = await NewTopicAsync(messages: 3, users: 1);
        options.MaxDeliveryTime = TimeSpan.FromSeconds(10);
        options.StoreRetryDelay = TimeSpan.FromSeconds(1);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (receiver, cache) = NewReceiver(options, sink, time);
        await receiver.Initialize(Deadline);
        var (batches, cursors) = await PullAsync(receiver, cache, 3);
        var cursor = Assert.Single(cursors.Values);
        Assert.Equal(0, MoveNext(cursor));
        Assert.Equal(1, MoveNext(cursor)); // every delivery of 1 fails ...
        time.Advance(options.MaxDeliveryTime); // ... until the agent gives up and calls the failure handler

        sink.FailNext(1); // the first attempt to store the dead letter fails too, and is retried after StoreRetryDelay
        var subscription = GuidId.GetNewGuidId();
        var handled = receiver.DeadLetterUndeliveredAsync(subscription, batches[1].StreamId, batches[1].Token);
        await Eventually.UntilAsync(() => sink.FailedCalls(0) == 1, Deadline, "the first attempt to store the dead letter");
        Assert.False(handled.IsCompleted);
        time.Advance(options.StoreRetryDelay);
        await handled.WaitAsync(Deadline);

        var deadLetter = Assert.Single(sink.DeadLetters());
        Assert.Equal((options.Topic, 0, 1L), (deadLetter.Topic, deadLetter.Partition, deadLetter.Offset));
        Assert.StartsWith($"{KafkaDeadLetter.DeliveryFailedCode}: subscription {subscription}", deadLetter.Reason, StringComparison.Ordinal);
        Assert.Equal(UserEventJson.ToUtf8Bytes(batches[1].Event!), deadLetter.Payload.ToArray());
        await CommitNowAsync(receiver);
        Assert.Equal(1, Committed(options)); // the cursor still holds 1 until the handler returns to the agent

        Assert.Equal(2, MoveNext(cursor));
        Assert.Null(MoveNext(cursor));
        await CommitNowAsync(receiver);
        Assert.Equal(3, Committed(options));
        await receiver.Shutdown(Deadline);
    }

    [Fact]
    public async Task DeadLetterUndelivered_GivenUpBeforeMaxDeliveryTime_IsNoDeadLetterAndTheNextOwnerReadsItAgain()
    {
        var (options, sink) = await NewTopicAsync(messages: 3, users: 1);
        options.MaxDeliveryTime = TimeSpan.FromSeconds(10);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (receiver, cache) = NewReceiver(options, sink, time);
        await receiver.Initialize(Deadline);
        var (batches, cursors) = await PullAsync(receiver, cache, 3);
        var cursor = Assert.Single(cursors.Values);
        Assert.Equal(0, MoveNext(cursor));
        Assert.Equal(1, MoveNext(cursor));
        time.Advance(TimeSpan.FromSeconds(2)); // the agent stops retrying early: the queue is being handed over

        await receiver.DeadLetterUndeliveredAsync(GuidId.GetNewGuidId(), batches[1].StreamId, batches[1].Token).WaitAsync(Deadline);
        Assert.Empty(sink.DeadLetters());

        cache.UpdateDeliveryProgress(null, DateTime.UtcNow);
        cursor.Dispose();
        await receiver.Shutdown(Deadline);
        Assert.Equal(1, Committed(options));
        var next = NewReceiverWithoutCache(options, sink);
        await next.Initialize(Deadline);
        Assert.Equal([1L, 2L], (await ReadAsync(next, 2)).Select(b => b.Offset));
        await next.Shutdown(Deadline);
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

        var receiver = new KafkaQueueAdapterReceiver(
            provider, options, Queue, 0, sink, caches: null, Serializer, TimeProvider.System, NullLogger<KafkaQueueAdapterReceiver>.Instance);
        await receiver.Initialize(Deadline);
        await Eventually.UntilAsync(
            async () =>
            {
                await receiver.GetQueueMessagesAsync(100, CancellationToken.None);
                return sink.DeadLetters().Any(d => d.Offset == 100);
            },
            Deadline,
            "the last bulky message read");

        var firstRead = sink.DeadLetters().Min(d => d.Offset);
        Assert.InRange(firstRead, 2, 99);
        Assert.Equal(firstRead, Interlocked.Read(ref missed));
        Assert.Equal(firstRead, sink.Batches()[0].MissedOffsets); // the sink is told, with the batch after the gap
        Assert.All(sink.Batches().Skip(1), b => Assert.Equal(0, b.MissedOffsets));
        Assert.Equal(101 - firstRead, sink.DeadLetters().Count);
        await CommitNowAsync(receiver);
        Assert.Equal(101, Committed(options)); // dead letters are handled once the sink has them; the gap is not waited for
        await receiver.Shutdown(Deadline);
    }

    private static (KafkaQueueAdapterReceiver Receiver, KafkaQueueCache Cache) NewReceiver(
        KafkaStreamOptions options, RecordingMessageSink sink, TimeProvider? time = null)
    {
        var caches = new KafkaQueueAdapterCache(new SimpleQueueCacheOptions { CacheSize = options.CacheSize }, "kafka", NullLoggerFactory.Instance, time);
        var cache = Assert.IsType<KafkaQueueCache>(caches.CreateQueueCache(Queue));
        var receiver = new KafkaQueueAdapterReceiver(
            "kafka", options, Queue, 0, sink, caches, Serializer, time ?? TimeProvider.System, NullLogger<KafkaQueueAdapterReceiver>.Instance);
        return (receiver, cache);
    }

    private static KafkaQueueAdapterReceiver NewReceiverWithoutCache(KafkaStreamOptions options, RecordingMessageSink sink)
        => new("kafka", options, Queue, 0, sink, caches: null, Serializer, TimeProvider.System, NullLogger<KafkaQueueAdapterReceiver>.Instance);

    /// <summary>
    /// Pulls until <paramref name="count"/> batches came, doing in the same turn what the pulling agent does with each
    /// pull: add it to the cache, then give each new stream its subscription's cursor at the stream's first message
    /// (refresh the cursor of a known stream). Returns the batches and the cursor of each stream.
    /// </summary>
    private static async Task<(List<KafkaBatchContainer> Batches, Dictionary<StreamId, IQueueCacheCursor> Cursors)> PullAsync(
        KafkaQueueAdapterReceiver receiver, KafkaQueueCache cache, int count)
    {
        var batches = new List<KafkaBatchContainer>();
        var cursors = new Dictionary<StreamId, IQueueCacheCursor>();
        await Eventually.UntilAsync(
            async () =>
            {
                var pulled = (await receiver.GetQueueMessagesAsync(100, CancellationToken.None)).Cast<KafkaBatchContainer>().ToList();
                if (pulled.Count > 0) cache.AddToCache([.. pulled]);
                foreach (var first in pulled.GroupBy(b => b.StreamId).Select(g => g.First()))
                {
                    if (cursors.TryGetValue(first.StreamId, out var cursor)) cursor.Refresh(first.Token);
                    else cursors[first.StreamId] = Cursor(cache, first);
                }

                batches.AddRange(pulled);
                return batches.Count >= count;
            },
            Deadline,
            $"{count} batches pulled");
        return (batches, cursors);
    }

    /// <summary>Every subscription delivers everything it has.</summary>
    private static void DeliverAll(IEnumerable<IQueueCacheCursor> cursors)
    {
        foreach (var cursor in cursors)
        {
            while (MoveNext(cursor) is not null)
            {
            }
        }
    }

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

    /// <summary>A subscription's cursor from <paramref name="first"/> on, as the agent makes when the stream registers.</summary>
    private static IQueueCacheCursor Cursor(KafkaQueueCache cache, KafkaBatchContainer first)
    {
        var result = cache.TryGetCacheCursor(first.StreamId, first.Token);
        Assert.Equal(QueueCacheCursorResultKind.Success, result.Kind);
        return result.Cursor!;
    }

    /// <summary>Moves a cursor on; the offset it now holds, or null once it has caught up.</summary>
    private static long? MoveNext(IQueueCacheCursor cursor)
    {
        var result = cursor.MoveNextWithResult();
        if (result.Kind == QueueCacheCursorMoveResultKind.NoData) return null;
        Assert.Equal(QueueCacheCursorMoveResultKind.Success, result.Kind);
        return ((KafkaBatchContainer)cursor.GetCurrent(out _)!).Offset;
    }

    /// <summary>The agent reports purged batches after each pull; the receiver commits what the cache says is delivered then.</summary>
    private static Task CommitNowAsync(KafkaQueueAdapterReceiver receiver) => receiver.MessagesDeliveredAsync([], CancellationToken.None);

    private static long[] Offsets(KafkaMessageBatch batch)
        => [.. batch.DeadLetters.Select(d => d.Offset).Concat(batch.Events.Select(e => e.Offset)).Order()];

    /// <summary>The group's committed offset of partition 0, or null when it has none.</summary>
    private long? Committed(KafkaStreamOptions options)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = fixture.Cluster.BootstrapServers,
            GroupId = options.ConsumerGroup,
        }).Build();
        var committed = consumer.Committed([new TopicPartition(options.Topic, 0)], TimeSpan.FromSeconds(10));
        return committed[0].Offset.IsSpecial ? null : committed[0].Offset.Value;
    }

    /// <summary>
    /// A one-partition topic holding <paramref name="messages"/> events (users taking turns), after an invalid payload
    /// if asked; options reading it with a new group that commit whenever asked (no interval).
    /// </summary>
    private async Task<(KafkaStreamOptions Options, RecordingMessageSink Sink)> NewTopicAsync(int messages, bool malformedFirst = false, int users = 2)
    {
        var topic = fixture.CreateTopic("receiver", 1);
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
                UserId = $"user-{i % users}",
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
            CommitInterval = TimeSpan.Zero,
        };
        return (options, new RecordingMessageSink());
    }
}
