using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.LocalBroker;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// Two-silo Orleans test clusters wired like the real silo, reading the local Kafka-protocol broker through the stream
/// provider and storing into a throwaway PostgreSQL: the acceptance tests for the provider and raw events.
/// </summary>
[Collection(SiloProcessesCollection.Name)]
public sealed class KafkaIngestionClusterTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private const int Partitions = 8;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    private MockKafkaCluster _kafka = null!;
    private string _database = null!;

    public async Task InitializeAsync()
    {
        _kafka = MockKafkaCluster.Start(1);
        _database = await postgres.Server.CreateDatabaseAsync();
        var services = new ServiceCollection()
            .AddLogging()
            .AddAnalyticsStorage(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:ConnectionString"] = _database })
                .Build())
            .BuildServiceProvider();
        await using (services)
        {
            await services.MigrateAnalyticsDatabaseAsync();
        }
    }

    public Task DisposeAsync()
    {
        _kafka.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TwoSilos_100kEventsOverEightPartitionsWithMalformedOnes_EveryEventDeliveredAndStoredOnce_BadOnesDeadLettered()
    {
        var topic = NewTopic();
        var events = MakeEvents(100_000, users: 2_000);
        var malformed = MakeMalformed(500);
        await using var cluster = await DeployAsync(topic);

        // Produced while the cluster reads, so that nothing sits in the broker long enough to expire.
        var offsets = await ProduceAsync(topic, events.Select(Keyed).Concat(malformed.Select(m => ((string?)m.Key, m.Value))).Shuffle(seed: 7));
        Assert.Equal(Partitions, offsets.Values.Select(o => o.Partition).Distinct().Count());

        await Eventually.UntilAsync(
            () => DeliveryLog.CountsOf(events.Select(e => e.EventId)).Values.All(n => n > 0),
            Deadline,
            $"all {events.Count} events delivered to their users' grains");

        // No failure, so no replay: every event exactly once, and each user's grain got exactly that user's events.
        var counts = DeliveryLog.CountsOf(events.Select(e => e.EventId));
        Assert.All(counts.Values, n => Assert.Equal(1, n));
        foreach (var sample in events.Where((_, i) => i % 997 == 0))
        {
            var (grainKey, token) = DeliveryLog.FirstDelivery(sample.EventId);
            Assert.Equal(sample.UserId, grainKey);
            Assert.NotNull(token);
            Assert.Equal(offsets[sample.EventId.ToString()], (token.Partition, token.Offset));
        }

        await Eventually.UntilAsync(async () => await CountAsync("dead_letters") == malformed.Count, Deadline, $"{malformed.Count} dead letters stored");
        await using var data = NpgsqlDataSource.Create(_database);
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(*) from raw_events"));
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(distinct event_id) from raw_events"));
        foreach (var kind in malformed.GroupBy(m => m.ReasonPrefix))
        {
            Assert.Equal(kind.Count(), await ScalarAsync<long>(data, $"select count(*) from dead_letters where reason like '{kind.Key}%'"));
        }

        await Eventually.UntilAsync(() => CommittedOffsets(topic).SequenceEqual(EndOffsets(topic)), Deadline, "offsets committed to the end of every partition");
    }

    /// <summary>
    /// A silo leaves mid-stream while events keep coming. Stopped: its queues are handed over after a final commit.
    /// Killed: no goodbye, no final commit; the other silo takes the queues once the cluster declares it dead and
    /// reads them from their last periodic commits. Either way nothing is lost and raw_events holds each event once.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoSilos_OneLeavesMidStream_EveryEventDeliveredAndRawEventsHoldEachOnce(bool killed)
    {
        var topic = NewTopic();
        var events = MakeEvents(100_000, users: 5_000);
        await using var cluster = await DeployAsync(topic);
        var ids = events.Select(e => e.EventId).ToList();

        var firstHalf = events.Take(events.Count / 2).ToList();
        var positions = await ProduceAsync(topic, firstHalf.Select(Keyed));
        await Eventually.UntilAsync(
            () => DeliveryLog.CountsOf(firstHalf.Take(20_000).Select(e => e.EventId)).Values.Count(n => n > 0) >= 10_000,
            Deadline,
            "the stream well under way");

        var leaving = killed ? cluster.KillSiloAsync(cluster.SecondarySilos[0]) : cluster.StopSiloAsync(cluster.SecondarySilos[0]);
        foreach (var (id, where) in await ProduceAsync(topic, events.Skip(firstHalf.Count).Select(Keyed))) positions[id] = where;
        await leaving;

        var how = killed ? "was killed" : "stopped";
        await UntilAllDeliveredAsync(ids, positions, $"all {events.Count} events delivered after the silo {how}");
        var counts = DeliveryLog.CountsOf(ids);
        output.WriteLine($"delivered twice or more (replayed from the commits) after the silo {how}: {counts.Values.Count(n => n > 1)} of {events.Count}");

        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == events.Count, Deadline, $"{events.Count} rows in raw_events");
        await using var data = NpgsqlDataSource.Create(_database);
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(distinct event_id) from raw_events"));
        await Eventually.UntilAsync(() => CommittedOffsets(topic).SequenceEqual(EndOffsets(topic)), Deadline, "offsets committed to the end of every partition by the remaining silo");
    }

    /// <summary>Waits for every event; on time-out, says per partition what is missing before failing.</summary>
    private async Task UntilAllDeliveredAsync(List<Guid> ids, Dictionary<string, (int Partition, long Offset)> positions, string what)
    {
        try
        {
            await Eventually.UntilAsync(() => DeliveryLog.CountsOf(ids).Values.All(n => n > 0), Deadline, what);
        }
        catch (TimeoutException)
        {
            foreach (var partition in DeliveryLog.CountsOf(ids).Where(c => c.Value == 0)
                .Select(c => positions[c.Key.ToString()])
                .GroupBy(p => p.Partition)
                .OrderBy(g => g.Key))
            {
                output.WriteLine($"partition {partition.Key}: {partition.Count()} undelivered, offsets {partition.Min(p => p.Offset)}..{partition.Max(p => p.Offset)}");
            }

            await using var data = NpgsqlDataSource.Create(_database);
            await using var command = data.CreateCommand("select left(reason, 120), count(*) from dead_letters group by 1");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) output.WriteLine($"dead letters: {reader.GetInt64(1)} x {reader.GetString(0)}");

            throw;
        }
    }

    private string NewTopic()
    {
        var topic = "events_" + Guid.NewGuid().ToString("N")[..10];
        _kafka.CreateTopic(topic, Partitions);
        return topic;
    }

    private async Task<TestCluster> DeployAsync(string topic)
    {
        var builder = new TestClusterBuilder(initialSilosCount: 2);
        builder.Properties["Kafka:BootstrapServers"] = _kafka.BootstrapServers;
        builder.Properties["Kafka:Topic"] = topic;
        builder.Properties["Kafka:ConsumerGroup"] = "group-" + topic;
        builder.Properties["Kafka:Partitions"] = Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Properties["Kafka:CommitInterval"] = "00:00:00.200";
        builder.Properties["Postgres:ConnectionString"] = _database;
        builder.AddSiloBuilderConfigurator<IngestionSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private static List<UserEvent> MakeEvents(int count, int users)
    {
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        var prefix = Guid.NewGuid().ToString("N")[..6];
        var types = new[] { UserEventType.View, UserEventType.View, UserEventType.View, UserEventType.AddToCart, UserEventType.Purchase };
        var random = new Random(11);
        return [.. Enumerable.Range(0, count).Select(i => new UserEvent
        {
            EventId = Guid.CreateVersion7(start.AddMilliseconds(i)),
            UserId = $"user_{prefix}_{random.Next(users)}",
            SessionId = $"s-{i / 50}",
            EventType = types[i % types.Length],
            ProductId = $"p-{i % 500}",
            Category = "books",
            Price = 10m + (i % 90),
            EventTime = DateTimeOffset.FromUnixTimeMilliseconds(start.AddMilliseconds(i * 20).ToUnixTimeMilliseconds()),
            Device = "mobile",
            Channel = "organic",
        })];
    }

    private sealed record Malformed(string Key, byte[] Value, string ReasonPrefix);

    private static List<Malformed> MakeMalformed(int count)
    {
        var kinds = new (Func<int, string> Json, string Prefix)[]
        {
            (i => "{not json " + i, "InvalidJson:"),
            (i => $$"""{"event_id":"{{Guid.NewGuid()}}","user_id":"bad_{{i}}","session_id":"s","event_type":"click","product_id":"p","category":"c","price":1,"event_time":"2026-01-01T00:00:00Z"}""", "UnknownEventType:"),
            (i => $$"""{"event_id":"{{Guid.NewGuid()}}","session_id":"s","event_type":"view","product_id":"p","category":"c","price":1,"event_time":"2026-01-01T00:00:00Z"}""", "MissingField:"),
            (i => $$"""{"event_id":"{{Guid.NewGuid()}}","user_id":"bad_{{i}}","session_id":"s","event_type":"view","product_id":"p","category":"c","price":-5,"event_time":"2026-01-01T00:00:00Z"}""", "NegativePrice:"),
            (i => $$"""{"event_id":"{{Guid.NewGuid()}}","user_id":"bad_{{i}}","session_id":"s","event_type":"view","product_id":"p","category":"c","price":1,"event_time":"1970-01-01T00:00:00Z"}""", "AbsurdTimestamp:"),
        };
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var (json, prefix) = kinds[i % kinds.Length];
            return new Malformed("bad_" + i, Encoding.UTF8.GetBytes(json(i)), prefix);
        })];
    }

    private static (string? Key, byte[] Value) Keyed(UserEvent e) => (e.UserId, UserEventJson.ToUtf8Bytes(e));

    /// <summary>Produces and waits for every acknowledgement; returns where each event (by event id) landed.</summary>
    private async Task<Dictionary<string, (int Partition, long Offset)>> ProduceAsync(string topic, IEnumerable<(string? Key, byte[] Value)> messages)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
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

    private List<long> CommittedOffsets(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
            GroupId = "group-" + topic,
            EnableAutoCommit = false,
        }).Build();
        return [.. consumer.Committed([.. Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p))], TimeSpan.FromSeconds(10))
            .OrderBy(c => c.Partition.Value)
            .Select(c => c.Offset.IsSpecial ? -1L : c.Offset.Value)];
    }

    private List<long> EndOffsets(string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = _kafka.BootstrapServers,
            GroupId = "watermarks-" + Guid.NewGuid().ToString("N"),
        }).Build();
        return [.. Enumerable.Range(0, Partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value)];
    }

    private async Task<long> CountAsync(string table)
    {
        await using var data = NpgsqlDataSource.Create(_database);
        return await ScalarAsync<long>(data, $"select count(*) from {table}");
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource data, string sql)
    {
        await using var command = data.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

internal static class ShuffleExtensions
{
    public static List<T> Shuffle<T>(this IEnumerable<T> items, int seed)
    {
        var list = items.ToList();
        new Random(seed).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }
}
