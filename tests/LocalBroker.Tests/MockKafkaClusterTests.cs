using System.Text.Json;
using Analytics.TestInfrastructure;
using Confluent.Kafka;

namespace Analytics.LocalBroker.Tests;

/// <summary>The mock cluster hosted in the test process, used through real Confluent.Kafka clients.</summary>
public sealed class MockKafkaClusterTests : IDisposable
{
    private const string UserEvents = "user_events";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly MockKafkaCluster _cluster = MockKafkaCluster.Start();

    public MockKafkaClusterTests() =>
        // A group's first rebalance otherwise waits 3 s for more members; these tests have one.
        _cluster.SetGroupInitialRebalanceDelay(TimeSpan.Zero);

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public void Start_OneBroker_ReportsLoopbackBootstrapAndBrokerUp()
    {
        Assert.Matches(@"^127\.0\.0\.1:\d+$", _cluster.BootstrapServers);
        Assert.Equal(1, _cluster.BrokerCount);
        Assert.Equal([new MockBrokerState(1, IsUp: true)], _cluster.GetBrokerStates());
    }

    [Fact]
    public void Native_Library_IsTheOneConfluentKafkaLoaded()
    {
        // Confluent.Kafka loads its copy on first use; the mock must run in that same file.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _cluster.BootstrapServers }).Build();

        Assert.Equal(Library.VersionString, MockKafkaCluster.LibrdkafkaVersion);
        Assert.NotNull(MockKafkaCluster.LibrdkafkaPath);
        Assert.True(File.Exists(MockKafkaCluster.LibrdkafkaPath), MockKafkaCluster.LibrdkafkaPath);
        var mapped = File.ReadAllLines("/proc/self/maps").Where(line => line.Contains("librdkafka", StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf('/', StringComparison.Ordinal))..]).Distinct().ToList();
        Assert.Equal([MockKafkaCluster.LibrdkafkaPath], mapped);
    }

    [Fact]
    public void Cluster_TopicWithEightPartitions_MetadataShowsEightPartitions()
    {
        _cluster.CreateTopic(UserEvents, partitions: 8);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata(UserEvents, TimeSpan.FromSeconds(10));

        var topic = Assert.Single(metadata.Topics);
        Assert.Equal(ErrorCode.NoError, topic.Error.Code);
        Assert.Equal(Enumerable.Range(0, 8), topic.Partitions.Select(p => p.PartitionId).Order());
        Assert.All(topic.Partitions, p => Assert.Equal(1, p.Leader));
        Assert.Equal([UserEvents], _cluster.CreatedTopics);
    }

    [Fact]
    public async Task Cluster_TopicWithEightPartitions_SpreadsKeys()
    {
        _cluster.CreateTopic(UserEvents, partitions: 8);
        var sent = Enumerable.Range(0, 2_000).Select(i => (Key: $"user-{i % 64}", Value: $"event-{i}")).ToList();

        using var producer = new ProducerBuilder<string, string>(KafkaTestClients.IdempotentLz4Producer(_cluster.BootstrapServers)).Build();
        var deliveries = await Task.WhenAll(sent.Select(m =>
            producer.ProduceAsync(UserEvents, new Message<string, string> { Key = m.Key, Value = m.Value })));

        Assert.All(deliveries, d => Assert.Equal(PersistenceStatus.Persisted, d.Status));
        var producedPartitionsByKey = deliveries.GroupBy(d => d.Message.Key)
            .ToDictionary(g => g.Key, g => g.Select(d => d.Partition.Value).Distinct().ToList());
        Assert.All(producedPartitionsByKey, pair => Assert.Single(pair.Value));

        using var consumer = new ConsumerBuilder<string, string>(KafkaTestClients.GroupConsumer(_cluster.BootstrapServers)).Build();
        consumer.Subscribe(UserEvents);
        var received = KafkaTestClients.ConsumeUntil(
            consumer, r => r.Count >= sent.Count, Deadline, $"all {sent.Count} messages back through a consumer group");
        consumer.Close();

        Assert.Equal(sent.Select(m => m.Value).Order(), received.Select(r => r.Message.Value).Order());
        var consumedPartitionsByKey = received.GroupBy(r => r.Message.Key)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Partition.Value).Distinct().ToList());
        Assert.All(consumedPartitionsByKey, pair => Assert.Equal(producedPartitionsByKey[pair.Key], pair.Value));
        Assert.True(
            consumedPartitionsByKey.Values.Select(p => p[0]).Distinct().Count() > 1,
            "64 keys should land on more than one of the 8 partitions");
    }

    [Fact]
    public async Task PushRequestErrors_NonRetriableProduceError_FailsOnlyThatDelivery()
    {
        _cluster.CreateTopic("injected", partitions: 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = _cluster.BootstrapServers }).Build();
        await producer.ProduceAsync("injected", new Message<Null, string> { Value = "warm-up" }).WaitAsync(Deadline);

        _cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.MsgSizeTooLarge);
        var failure = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync("injected", new Message<Null, string> { Value = "rejected" }).WaitAsync(Deadline));
        var next = await producer.ProduceAsync("injected", new Message<Null, string> { Value = "accepted" }).WaitAsync(Deadline);

        Assert.Equal(ErrorCode.MsgSizeTooLarge, failure.Error.Code);
        Assert.Equal(PersistenceStatus.Persisted, next.Status);
    }

    [Fact]
    public async Task PushRequestErrors_RetriableProduceErrors_AreRetriedUntilDelivered()
    {
        _cluster.CreateTopic("retried", partitions: 1);
        var config = new ProducerConfig
        {
            BootstrapServers = _cluster.BootstrapServers,
            RetryBackoffMs = 10,
            RetryBackoffMaxMs = 50,
            StatisticsIntervalMs = 100,
        };
        var transmissions = 0L;
        using var producer = new ProducerBuilder<Null, string>(config)
            .SetStatisticsHandler((_, json) => Interlocked.Exchange(ref transmissions, MessagesTransmitted(json)))
            .Build();
        await producer.ProduceAsync("retried", new Message<Null, string> { Value = "warm-up" }).WaitAsync(Deadline);

        _cluster.PushRequestErrors(
            KafkaApiKey.Produce, ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicas);
        var delivered = await producer.ProduceAsync("retried", new Message<Null, string> { Value = "eventually" }).WaitAsync(Deadline);

        Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        Assert.Equal(1, delivered.Offset.Value);

        // Two messages stored, but the second one sent four times: three rejected attempts, then the accepted one.
        await Eventually.UntilAsync(
            () => Interlocked.Read(ref transmissions) == 5, TimeSpan.FromSeconds(10), "the producer's statistics to count 5 transmissions");
    }

    private static long MessagesTransmitted(string statistics)
    {
        using var json = JsonDocument.Parse(statistics);
        return json.RootElement.GetProperty("txmsgs").GetInt64();
    }

    [Fact]
    public void CreateTopic_Twice_ThrowsTopicAlreadyExists()
    {
        _cluster.CreateTopic("twice", partitions: 2);

        var error = Assert.Throws<MockKafkaException>(() => _cluster.CreateTopic("twice", partitions: 2));

        Assert.Equal(ErrorCode.TopicAlreadyExists, error.Error);
        Assert.Contains("twice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("bad name", 1)]
    [InlineData("ok", 0)]
    [InlineData("ok", MockKafkaCluster.MaxPartitions + 1)]
    public void CreateTopic_InvalidArguments_Throws(string name, int partitions) =>
        Assert.ThrowsAny<ArgumentException>(() => _cluster.CreateTopic(name, partitions));

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void SetBrokerDown_UnknownBroker_Throws(int brokerId) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _cluster.SetBrokerDown(brokerId));

    [Fact]
    public void SetBrokerDown_ThenUp_TracksState()
    {
        _cluster.SetBrokerDown(1);
        Assert.False(_cluster.GetBrokerStates()[0].IsUp);

        _cluster.SetBrokerUp(1);
        Assert.True(_cluster.GetBrokerStates()[0].IsUp);
    }

    [Fact]
    public void Cluster_ConcurrentCalls_AllTakeEffect()
    {
        using var cluster = MockKafkaCluster.Start(brokerCount: 2);

        Parallel.For(0, 64, i =>
        {
            cluster.CreateTopic($"parallel-{i}", partitions: 1 + (i % 4));
            cluster.SetBrokerDown(1 + (i % 2));
            cluster.SetBrokerUp(1 + (i % 2));
        });

        Assert.Equal(64, cluster.CreatedTopics.Count);
        Assert.All(cluster.GetBrokerStates(), broker => Assert.True(broker.IsUp));
    }

    [Fact]
    public void Dispose_Twice_IsHarmlessAndLaterCallsThrow()
    {
        var cluster = MockKafkaCluster.Start(brokerCount: 3);
        Assert.Equal(3, cluster.BootstrapServers.Split(',').Length);

        cluster.Dispose();
        cluster.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late", 1));
        Assert.Throws<ObjectDisposedException>(() => cluster.SetBrokerDown(1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(MockKafkaCluster.MaxBrokerCount + 1)]
    public void Start_InvalidBrokerCount_Throws(int brokerCount) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MockKafkaCluster.Start(brokerCount));
}
