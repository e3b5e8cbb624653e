using Analytics.Grains.Interfaces.Events;
using Analytics.LocalBroker;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// What the cluster tests share: a local Kafka-protocol broker, a migrated throwaway database, test clusters wired
/// like the real silo, a producer that waits for every acknowledgement, and reads of the group's committed offsets.
/// </summary>
public sealed class KafkaClusterHarness : IDisposable
{
    public const int Partitions = 8;

    private readonly string _serviceId = "analytics-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly Dictionary<string, int> _partitions = [];

    private KafkaClusterHarness(MockKafkaCluster kafka, string database)
    {
        Kafka = kafka;
        Database = database;
    }

    public MockKafkaCluster Kafka { get; private set; }

    /// <summary>Connection string of the migrated database.</summary>
    public string Database { get; }

    public static async Task<KafkaClusterHarness> StartAsync(PostgresFixture postgres)
    {
        var kafka = MockKafkaCluster.Start(1);
        var database = await postgres.Server.CreateDatabaseAsync();
        var services = new ServiceCollection()
            .AddLogging()
            .AddAnalyticsStorage(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:ConnectionString"] = database })
                .Build())
            .BuildServiceProvider();
        await using (services)
        {
            await services.MigrateAnalyticsDatabaseAsync();
        }

        return new KafkaClusterHarness(kafka, database);
    }

    public void Dispose() => Kafka.Dispose();

    /// <summary>A new topic of <paramref name="partitions"/> partitions; clusters deployed on it read that many.</summary>
    public string NewTopic(int partitions = Partitions)
    {
        var topic = "events_" + Guid.NewGuid().ToString("N")[..10];
        Kafka.CreateTopic(topic, partitions);
        _partitions[topic] = partitions;
        return topic;
    }

    private int PartitionsOf(string topic) => _partitions.GetValueOrDefault(topic, Partitions);

    /// <summary>
    /// Replaces the broker with an empty one holding a new incarnation of <paramref name="topic"/> (what a restart of
    /// the development broker does): offsets start from 0 again and the committed ones are gone.
    /// </summary>
    public void RestartBroker(string topic)
    {
        Kafka.Dispose();
        Kafka = MockKafkaCluster.Start(1);
        Kafka.CreateTopic(topic, PartitionsOf(topic));
    }

    /// <summary>A cluster of <paramref name="silos"/> silos reading <paramref name="topic"/> (group <c>group-&lt;topic&gt;</c>).</summary>
    public async Task<TestCluster> DeployAsync(string topic, short silos = 2, IReadOnlyDictionary<string, string>? settings = null)
    {
        var builder = new TestClusterBuilder(silos);
        // Grain state is keyed by service id: clusters deployed one after the other are the same service, restarted.
        builder.Options.ServiceId = _serviceId;
        builder.Properties["Kafka:BootstrapServers"] = Kafka.BootstrapServers;
        builder.Properties["Kafka:Topic"] = topic;
        builder.Properties["Kafka:ConsumerGroup"] = "group-" + topic;
        builder.Properties["Kafka:Partitions"] = PartitionsOf(topic).ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Properties["Kafka:CommitInterval"] = "00:00:00.200";
        builder.Properties["Postgres:ConnectionString"] = Database;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<IngestionSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>
    /// <paramref name="count"/> events of <paramref name="users"/> users over about two hours of event time: sessions of
    /// up to 20 events per user, several categories, every event type.
    /// </summary>
    public static List<UserEvent> MakeEvents(int count, int users, int seed = 11)
    {
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        var prefix = Guid.NewGuid().ToString("N")[..6];
        var types = new[] { UserEventType.View, UserEventType.View, UserEventType.View, UserEventType.AddToCart, UserEventType.Purchase };
        var categories = new[] { "books", "toys", "home", "fashion", "grocery" };
        var random = new Random(seed);
        var perUser = new int[users];
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var user = random.Next(users);
            var n = perUser[user]++;
            return new UserEvent
            {
                EventId = Guid.CreateVersion7(start.AddMilliseconds(i)),
                UserId = $"user_{prefix}_{user}",
                SessionId = $"s-{user}-{n / 20}",
                EventType = types[random.Next(types.Length)],
                ProductId = $"p-{random.Next(500)}",
                Category = categories[random.Next(categories.Length)],
                Price = 10m + random.Next(9_000) / 100m,
                EventTime = DateTimeOffset.FromUnixTimeMilliseconds(start.AddMilliseconds(i * 20).ToUnixTimeMilliseconds()),
                Device = "mobile",
                Channel = "organic",
            };
        })];
    }

    public static (string? Key, byte[] Value) Keyed(UserEvent e) => (e.UserId, UserEventJson.ToUtf8Bytes(e));

    /// <summary>Produces and waits for every acknowledgement; returns where each event (by event id) landed last.</summary>
    public async Task<Dictionary<string, (int Partition, long Offset)>> ProduceAsync(string topic, IEnumerable<(string? Key, byte[] Value)> messages)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            EnableIdempotence = true,
            LingerMs = 5,
            CompressionType = CompressionType.Lz4,
        };
        var positions = new System.Collections.Concurrent.ConcurrentDictionary<string, (int, long)>();
        var failures = 0;
        using var producer = new ProducerBuilder<string?, byte[]>(config).Build();
        await Task.Run(() =>
        {
            foreach (var (key, value) in messages)
            {
                var id = UserEventJson.TryParse(value, DateTimeOffset.UtcNow, out var parsed, out _) ? parsed.EventId.ToString() : null;
                producer.Produce(topic, new Message<string?, byte[]> { Key = key, Value = value }, report =>
                {
                    if (report.Error.IsError) Interlocked.Increment(ref failures);
                    else if (id is not null) positions[id] = (report.Partition.Value, report.Offset.Value);
                });
            }

            producer.Flush(TimeSpan.FromSeconds(60));
        });
        Assert.Equal(0, failures);
        return new Dictionary<string, (int, long)>(positions);
    }

    public List<long> CommittedOffsets(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            GroupId = "group-" + topic,
            EnableAutoCommit = false,
        }).Build();
        return [.. consumer.Committed([.. Enumerable.Range(0, PartitionsOf(topic)).Select(p => new TopicPartition(topic, p))], TimeSpan.FromSeconds(10))
            .OrderBy(c => c.Partition.Value)
            .Select(c => c.Offset.IsSpecial ? -1L : c.Offset.Value)];
    }

    public List<long> EndOffsets(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            GroupId = "watermarks-" + Guid.NewGuid().ToString("N"),
        }).Build();
        return [.. Enumerable.Range(0, PartitionsOf(topic))
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value)];
    }

    public Task UntilCommittedToEndAsync(string topic, TimeSpan deadline, string what)
        => Eventually.UntilAsync(() => CommittedOffsets(topic).SequenceEqual(EndOffsets(topic)), deadline, what);

    public async Task<long> CountAsync(string table)
    {
        await using var data = NpgsqlDataSource.Create(Database);
        return await ScalarAsync<long>(data, $"select count(*) from {table}");
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource data, string sql)
    {
        await using var command = data.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
