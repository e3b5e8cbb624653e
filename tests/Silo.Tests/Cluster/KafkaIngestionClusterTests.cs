using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Npgsql;
using Xunit.Abstractions;
using static Analytics.Silo.Tests.Cluster.KafkaClusterHarness;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// Two-silo Orleans test clusters wired like the real silo, reading the local Kafka-protocol broker through the stream
/// provider and storing into a throwaway PostgreSQL: the acceptance tests for the provider and raw events.
/// </summary>
[Collection(SiloProcessesCollection.Name)]
public sealed class KafkaIngestionClusterTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    private KafkaClusterHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await KafkaClusterHarness.StartAsync(postgres);

    public Task DisposeAsync()
    {
        _harness.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task TwoSilos_100kEventsOverEightPartitionsWithMalformedOnes_EveryEventDeliveredAndStoredOnce_BadOnesDeadLettered()
    {
        var topic = _harness.NewTopic();
        var events = MakeEvents(100_000, users: 2_000);
        var malformed = MakeMalformed(500);
        await using var cluster = await _harness.DeployAsync(topic);

        // Produced while the cluster reads, so that nothing sits in the broker long enough to expire.
        var offsets = await _harness.ProduceAsync(topic, events.Select(Keyed).Concat(malformed.Select(m => ((string?)m.Key, m.Value))).Shuffle(seed: 7));
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

        await Eventually.UntilAsync(async () => await _harness.CountAsync("dead_letters") == malformed.Count, Deadline, $"{malformed.Count} dead letters stored");
        await using var data = NpgsqlDataSource.Create(_harness.Database);
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(*) from raw_events"));
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(distinct event_id) from raw_events"));
        foreach (var kind in malformed.GroupBy(m => m.ReasonPrefix))
        {
            Assert.Equal(kind.Count(), await ScalarAsync<long>(data, $"select count(*) from dead_letters where reason like '{kind.Key}%'"));
        }

        await Eventually.UntilAsync(() => _harness.CommittedOffsets(topic).SequenceEqual(_harness.EndOffsets(topic)), Deadline, "offsets committed to the end of every partition");
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
        var topic = _harness.NewTopic();
        var events = MakeEvents(100_000, users: 5_000);
        await using var cluster = await _harness.DeployAsync(topic);
        var ids = events.Select(e => e.EventId).ToList();

        var firstHalf = events.Take(events.Count / 2).ToList();
        var positions = await _harness.ProduceAsync(topic, firstHalf.Select(Keyed));
        await Eventually.UntilAsync(
            () => DeliveryLog.CountsOf(firstHalf.Take(20_000).Select(e => e.EventId)).Values.Count(n => n > 0) >= 10_000,
            Deadline,
            "the stream well under way");

        var leaving = killed ? cluster.KillSiloAsync(cluster.SecondarySilos[0]) : cluster.StopSiloAsync(cluster.SecondarySilos[0]);
        foreach (var (id, where) in await _harness.ProduceAsync(topic, events.Skip(firstHalf.Count).Select(Keyed))) positions[id] = where;
        await leaving;

        var how = killed ? "was killed" : "stopped";
        await UntilAllDeliveredAsync(ids, positions, $"all {events.Count} events delivered after the silo {how}");
        var counts = DeliveryLog.CountsOf(ids);
        output.WriteLine($"delivered twice or more (replayed from the commits) after the silo {how}: {counts.Values.Count(n => n > 1)} of {events.Count}");

        await Eventually.UntilAsync(async () => await _harness.CountAsync("raw_events") == events.Count, Deadline, $"{events.Count} rows in raw_events");
        await using var data = NpgsqlDataSource.Create(_harness.Database);
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(distinct event_id) from raw_events"));
        await Eventually.UntilAsync(() => _harness.CommittedOffsets(topic).SequenceEqual(_harness.EndOffsets(topic)), Deadline, "offsets committed to the end of every partition by the remaining silo");
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

            await using var data = NpgsqlDataSource.Create(_harness.Database);
            await using var command = data.CreateCommand("select left(reason, 120), count(*) from dead_letters group by 1");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) output.WriteLine($"dead letters: {reader.GetInt64(1)} x {reader.GetString(0)}");

            throw;
        }
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
