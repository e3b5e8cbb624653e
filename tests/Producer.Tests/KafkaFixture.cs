using Analytics.LocalBroker;
using Confluent.Kafka;

namespace Analytics.Producer.Tests;

/// <summary>
/// A Kafka-protocol broker for the tests: the project's local broker (librdkafka's mock cluster) on 127.0.0.1, so the
/// producer under test connects to it as to a real cluster. Each test makes its own topic.
/// </summary>
public sealed class KafkaFixture : IDisposable
{
    private readonly MockKafkaCluster _cluster = MockKafkaCluster.Start(brokerCount: 1);

    public string BootstrapServers => _cluster.BootstrapServers;

    public MockKafkaCluster Cluster => _cluster;

    /// <summary>A new topic with a unique name and several partitions (so that keying matters).</summary>
    public string CreateTopic(string prefix, int partitions = 4)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}";
        _cluster.CreateTopic(name, partitions);
        return name;
    }

    /// <summary>Reads a topic from the beginning until <paramref name="expected"/> messages have come, then checks
    /// through the watermarks that there are no more. Returns them per partition, in offset order.</summary>
    public Dictionary<int, List<(string? Key, byte[] Value)>> ConsumeAll(string topic, int expected, TimeSpan timeout)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => p.PartitionId).ToList();
        Assert.NotEmpty(partitions);

        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "producer-tests-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

        var result = partitions.ToDictionary(p => p, _ => new List<(string?, byte[])>());
        var count = 0;
        var deadline = DateTime.UtcNow + timeout;
        while (count < expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeout.TotalSeconds} s waiting for {expected} messages on '{topic}' (got {count})");
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r?.Message is null) continue;
            result[r.Partition.Value].Add((r.Message.Key is null ? null : System.Text.Encoding.UTF8.GetString(r.Message.Key), r.Message.Value));
            count++;
        }

        var total = partitions.Sum(p =>
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(5));
            return w.High.Value - w.Low.Value;
        });
        Assert.Equal(expected, total);
        return result;
    }

    /// <summary>Messages on a topic so far (0 while it does not exist).</summary>
    public long CountMessages(string topic)
    {
        try
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
            var t = admin.GetMetadata(topic, TimeSpan.FromSeconds(5)).Topics.Single();
            if (t.Error.IsError) return 0;
            using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig { BootstrapServers = BootstrapServers, GroupId = "count" }).Build();
            return t.Partitions.Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(5)).High.Value);
        }
        catch (KafkaException)
        {
            return 0;
        }
    }

    public void Dispose() => _cluster.Dispose();
}

[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "kafka";
}
