using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Orleans.TestingHost;
using static Analytics.Silo.Tests.Cluster.KafkaClusterHarness;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// The watermark fed by a real silo's raw-events sink: events produced to chosen partitions with chosen event times
/// (lateness 5 minutes, idle timeout 10 seconds), and the watermark read from its grain. The topic has two partitions.
/// </summary>
[Collection(SiloProcessesCollection.Name)]
public sealed class WatermarkClusterTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);
    private static readonly DateTimeOffset T = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private KafkaClusterHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await KafkaClusterHarness.StartAsync(postgres);

    public Task DisposeAsync()
    {
        _harness.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task LaggingPartitionHoldsItBack_IdleOneStopsHolding_NeverBackwards_SurvivesRestart()
    {
        var topic = _harness.NewTopic(partitions: 2);
        var settings = new Dictionary<string, string> { ["Funnel:AllowedLateness"] = "00:05:00", ["Funnel:IdleTimeout"] = "00:00:10" };
        DateTimeOffset? final;
        int minuteReached;
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1, settings))
        {
            var watermark = cluster.Client.GetGrain<IWatermarkGrain>(0);

            // Partition 1 reaches T+3m: partition 0, never heard from, holds the watermark back until the idle timeout has
            // passed since the grain started; then the watermark is partition 1's highest event time minus the lateness.
            // Then partition 0 reaches T+10m while partition 1 is still active: the slowest active partition holds it.
            await ProduceAsync(topic, 1, T, T.AddMinutes(3));
            try
            {
                await Eventually.UntilAsync(async () => (await watermark.GetAsync()).Watermark == T.AddMinutes(3 - 5), Deadline, "the watermark at partition 1's T+3m − 5m");
            }
            catch (TimeoutException timeout)
            {
                var grain = await watermark.GetAsync();
                // Where delivery stands: the group's commits follow what the subscribers have processed, as the reports do.
                throw new TimeoutException(
                    $"{timeout.Message}; the grain has {grain.Watermark:O}, partitions {string.Join(", ", grain.Partitions.Select(p => $"{p.Partition}@{p.MaxEventTime:O}"))}; "
                    + $"committed offsets [{string.Join(", ", _harness.CommittedOffsets(topic))}] of [{string.Join(", ", _harness.EndOffsets(topic))}]",
                    timeout);
            }
            // Partition 1 speaks again (nothing newer than T+3m), so that it is surely active while partition 0 moves on:
            // the first wait lasted about an idle timeout.
            await ProduceAsync(topic, 1, T.AddMinutes(3), T.AddMinutes(3));
            await ProduceAsync(topic, 0, T, T.AddMinutes(10));
            WatermarkSnapshot both = null!;
            await Eventually.UntilAsync(async () => (both = await watermark.GetAsync()).Partitions.Any(p => p.Partition == 0 && p.MaxEventTime == T.AddMinutes(10)), Deadline, "partition 0 seen at T+10m");
            Assert.Contains(1, both.ActivePartitions);
            Assert.Equal(T.AddMinutes(3 - 5), both.Watermark);

            // Partition 0 keeps receiving, partition 1 goes quiet: after the idle timeout it no longer holds back.
            var seen = new List<DateTimeOffset?>();
            var minute = 11;
            await Eventually.UntilAsync(
                async () =>
                {
                    await ProduceAsync(topic, 0, T.AddMinutes(minute), T.AddMinutes(minute));
                    minute++;
                    var now = await watermark.GetAsync();
                    seen.Add(now.Watermark);
                    return now.Watermark >= T.AddMinutes(11 - 5) && !now.ActivePartitions.Contains(1);
                },
                Deadline,
                "partition 1 idle and the watermark following partition 0");
            Assert.Equal(seen.Order(), seen); // never backwards

            // Partition 1 speaks again with older events: it holds the watermark back again, which does not go back.
            var before = T.AddMinutes(minute - 1 - 5);
            await Eventually.UntilAsync(async () => (await watermark.GetAsync()).Watermark == before, Deadline, "the watermark at partition 0's last event − 5m");
            await ProduceAsync(topic, 1, T.AddMinutes(4), T.AddMinutes(4));
            await Eventually.UntilAsync(async () => (await watermark.GetAsync()).ActivePartitions.Contains(1), Deadline, "partition 1 active again");
            await ProduceAsync(topic, 0, T.AddMinutes(minute + 10), T.AddMinutes(minute + 10));
            await Task.Delay(TimeSpan.FromSeconds(1));
            final = (await watermark.GetAsync()).Watermark;
            minuteReached = minute;
            Assert.Equal(before, final); // partition 1 at T+4m holds it, and it does not move back to T+4m − 5m
        }

        // A restarted cluster (same service, same database) has the same watermark before any new event.
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1, settings))
        {
            var snapshot = await cluster.Client.GetGrain<IWatermarkGrain>(0).GetAsync();
            Assert.Equal(final, snapshot.Watermark);
            Assert.Equal([(0, T.AddMinutes(minuteReached + 10)), (1, T.AddMinutes(4))], snapshot.Partitions.Select(p => (p.Partition, p.MaxEventTime)));
        }
    }

    /// <summary>Produces one event per minute of event time in [from, to] to <paramref name="partition"/> and waits for the acknowledgements.</summary>
    private async Task ProduceAsync(string topic, int partition, DateTimeOffset from, DateTimeOffset to)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _harness.Kafka.BootstrapServers, LingerMs = 1 }).Build();
        for (var at = from; at <= to; at = at.AddMinutes(1))
        {
            var user = $"wm-user-{partition}";
            var e = new UserEvent
            {
                EventId = Guid.CreateVersion7(at),
                UserId = user,
                SessionId = "s",
                EventType = UserEventType.View,
                ProductId = "p",
                Category = "books",
                Price = 1m,
                EventTime = at,
            };
            await producer.ProduceAsync(new TopicPartition(topic, partition), new Message<string, byte[]> { Key = user, Value = UserEventJson.ToUtf8Bytes(e) });
        }
    }
}
