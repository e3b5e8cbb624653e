using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Npgsql;
using Orleans.TestingHost;
using Xunit.Abstractions;
using static Analytics.Silo.Tests.Cluster.FunnelReference;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// Funnel windows fed by real silos from the local broker: hand-made events with chosen event times on chosen
/// partitions (lateness 5 minutes), and the windows read from their grains and from <c>funnel_summary</c>. The topics
/// have the two partitions the events go to: a partition never heard from holds the watermark back.
/// </summary>
[Collection(SiloProcessesCollection.Name)]
public sealed class FunnelClusterTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);
    private static readonly DateTimeOffset T = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Funnel:AllowedLateness"] = "00:05:00",
        ["Funnel:IdleTimeout"] = "00:10:00", // nothing goes idle during a test: the watermark moves only with events
        ["Funnel:FinalisationCheckPeriod"] = "00:00:02",
    };

    private KafkaClusterHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await KafkaClusterHarness.StartAsync(postgres);

    public Task DisposeAsync()
    {
        _harness.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Window [T, T+10m): on-time events on two partitions, a duplicate, an event late but within the allowed lateness
    /// (counted), then events that move the watermark past the window's end (final), then late events (not counted,
    /// in late_events, stored in raw_events). The final counts equal a reference computed from the events.
    /// </summary>
    [Fact]
    public async Task Window_OnTimeAndSlightlyLateCounted_DuplicatesOnce_AfterFinalLateOnly_EqualsReference()
    {
        var topic = _harness.NewTopic(partitions: 2);
        await using var cluster = await _harness.DeployAsync(topic, silos: 1, Settings);
        var window = cluster.Client.GetGrain<IFunnelWindowGrain>(FunnelWindowKey.Of(T));

        var onTime = new List<(int Partition, UserEvent Event)>
        {
            (0, Event("alice", UserEventType.View, T.AddMinutes(1), "books", device: "mobile")),
            (0, Event("alice", UserEventType.AddToCart, T.AddMinutes(2), "books", device: "mobile")),
            (0, Event("alice", UserEventType.Purchase, T.AddMinutes(3), "books", 12.50m, device: "mobile")),
            (1, Event("bob", UserEventType.View, T.AddMinutes(1), "toys", device: "desktop")),
            (1, Event("bob", UserEventType.View, T.AddMinutes(2), "books")),
            (1, Event("bob", UserEventType.AddToCart, T.AddMinutes(4), "toys", device: "desktop")),
            (0, Event("carol", UserEventType.Purchase, T.AddMinutes(5), "home", 40m, device: "mobile")),
            (0, Event("alice", UserEventType.View, T.AddMinutes(12), "books", device: "mobile")), // next window
        };
        var duplicate = onTime[0];
        var slightlyLate = (Partition: 1, Event: Event("bob", UserEventType.Purchase, T.AddMinutes(9), "toys", 7.25m, device: "desktop"));
        await ProduceAsync(topic, [.. onTime, duplicate, (1, Event("bob", UserEventType.View, T.AddMinutes(12), "toys")), slightlyLate]);

        // The watermark is at most T+12m − 5m: the window is open, and the event at T+9m, behind T+12m on its partition, counts.
        var counted = onTime.Where(e => e.Event.EventTime < T.AddMinutes(10)).Select(e => e.Event).Append(slightlyLate.Event).ToList();
        await Eventually.UntilAsync(async () => Sum((await window.GetAsync()).Total) == counted.Count, Deadline, $"{counted.Count} events counted in the window");
        var open = await window.GetAsync();
        Assert.False(open.IsFinal);
        AssertEqualsReference(counted, open);

        // Partition 0 passes T+15m alone: partition 1, lagging at T+12m, holds the watermark (T+7m) and the window open.
        await ProduceAsync(topic, [(0, Event("alice", UserEventType.View, T.AddMinutes(16), "books"))]);
        var watermark = cluster.Client.GetGrain<IWatermarkGrain>(0);
        await Eventually.UntilAsync(async () => (await watermark.GetAsync()).Partitions.Any(p => p.Partition == 0 && p.MaxEventTime == T.AddMinutes(16)), Deadline, "partition 0 delivered up to T+16m");
        Assert.Equal(T.AddMinutes(12 - 5), (await watermark.GetAsync()).Watermark);
        Assert.False((await window.GetAsync()).IsFinal);

        // Partition 1 passes T+15m too: the watermark reaches T+11m and the window is final.
        await ProduceAsync(topic, [(1, Event("bob", UserEventType.View, T.AddMinutes(16), "toys"))]);
        await Eventually.UntilAsync(async () => (await window.GetAsync()).IsFinal, Deadline, "the window final once the watermark passed its end");

        // Late: not counted, but in late_events and in raw_events.
        var late = new List<(int Partition, UserEvent Event)>
        {
            (0, Event("alice", UserEventType.Purchase, T.AddMinutes(8), "books", 99m)),
            (1, Event("dave", UserEventType.View, T.AddMinutes(6), "toys")),
        };
        await ProduceAsync(topic, late);
        await Eventually.UntilAsync(async () => (await window.GetAsync()).LateEvents == late.Count, Deadline, $"{late.Count} late events");
        var final = await window.GetAsync();
        Assert.True(final.IsFinal);
        AssertEqualsReference(counted, final);

        await using var data = NpgsqlDataSource.Create(_harness.Database);
        foreach (var (_, e) in late)
        {
            Assert.Equal(1L, await KafkaClusterHarness.ScalarAsync<long>(data, $"select count(*) from raw_events where event_id = '{e.EventId}'"));
        }

        // funnel_summary and funnel_breakdown say the same, and the row is final.
        var store = new FunnelStore(data);
        FunnelWindowSnapshot? row = null;
        await Eventually.UntilAsync(
            async () => (row = (await store.ReadRecentAsync(T, CancellationToken.None)).FirstOrDefault(w => w.WindowStart == T)) is { IsFinal: true, LateEvents: 2 },
            Deadline,
            "funnel_summary's row final with its late events");
        AssertEqualsReference(counted, row!);
        Assert.Equal(T.AddMinutes(10), row!.WindowEnd);
    }

    /// <summary>
    /// A window left open when the cluster stops: the next cluster (same service, same database) has no activation of
    /// it and no notice from the watermark; its reminder finalises it once the watermark passes, and the counts, rebuilt
    /// from raw_events, are those of its events.
    /// </summary>
    [Fact]
    public async Task OpenWindow_ClusterRestarts_ReminderFinalisesItWithoutFurtherEvents_CountsSurvive()
    {
        var topic = _harness.NewTopic(partitions: 2);
        var start = T.AddHours(1);
        var events = new List<(int Partition, UserEvent Event)>
        {
            (0, Event("erin", UserEventType.View, start.AddMinutes(1), "books")),
            (0, Event("erin", UserEventType.AddToCart, start.AddMinutes(2), "books")),
            (1, Event("frank", UserEventType.View, start.AddMinutes(3), "home", device: "tablet")),
            (1, Event("frank", UserEventType.Purchase, start.AddMinutes(4), "home", 20m, device: "tablet")),
        };
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1, Settings))
        {
            await ProduceAsync(topic, events);
            var window = cluster.Client.GetGrain<IFunnelWindowGrain>(FunnelWindowKey.Of(start));
            await Eventually.UntilAsync(async () => Sum((await window.GetAsync()).Total) == events.Count, Deadline, "the window's events counted");
            Assert.False((await window.GetAsync()).IsFinal);
        }

        await using (var cluster = await _harness.DeployAsync(topic, silos: 1, Settings))
        {
            // Events of a later window only: they move the watermark past the first window's end.
            await ProduceAsync(topic, [(0, Event("erin", UserEventType.View, start.AddMinutes(20), "books")), (1, Event("frank", UserEventType.View, start.AddMinutes(20), "home"))]);
            await using var data = NpgsqlDataSource.Create(_harness.Database);
            var store = new FunnelStore(data);
            FunnelWindowSnapshot? row = null;
            await Eventually.UntilAsync(
                async () => (row = (await store.ReadRecentAsync(start, CancellationToken.None)).FirstOrDefault(w => w.WindowStart == start)) is { IsFinal: true },
                Deadline,
                "the first window final in funnel_summary");
            AssertEqualsReference([.. events.Select(e => e.Event)], row!);
            Assert.Equal(0, row!.LateEvents);

            // The sessions were rebuilt from raw_events too: erin viewed then carted (1'), frank bought without a cart.
            Assert.Equal((2L, 1L, 0L), (row.Ordered.Sessions, row.Ordered.Carted, row.Ordered.Purchased));
            Assert.Equal(60.0, row.Ordered.ViewToCartMedianSeconds);
            Assert.False(row.Ordered.IsFinal); // the session timeout (30') has not passed
        }
    }

    /// <summary>
    /// The ordered funnel end to end (session timeout 5 minutes): sessions in and out of order across two partitions,
    /// final in funnel_summary once the watermark passes the window's end plus the timeout, as the README defines it.
    /// </summary>
    [Fact]
    public async Task OrderedFunnel_SessionsOutOfOrder_FinalAfterEndPlusTimeout_AsDocumented()
    {
        var topic = _harness.NewTopic(partitions: 2);
        var start = T.AddHours(2);
        await using var cluster = await _harness.DeployAsync(topic, silos: 1, new Dictionary<string, string>(Settings) { ["Funnel:SessionTimeout"] = "00:05:00" });
        var window = cluster.Client.GetGrain<IFunnelWindowGrain>(FunnelWindowKey.Of(start));

        // A live subscriber, as the dashboard's hub will be: window changes are pushed to it.
        var observer = new RecordingFunnelObserver();
        await cluster.Client.GetGrain<IFunnelFeedGrain>(0).SubscribeAsync(cluster.Client.CreateObjectReference<IFunnelObserver>(observer));
        await ProduceAsync(topic,
        [
            (0, Event("alice", UserEventType.View, start.AddMinutes(1), "books")),
            (0, Event("alice", UserEventType.AddToCart, start.AddMinutes(3), "books")),
            (0, Event("alice", UserEventType.Purchase, start.AddMinutes(6), "books")),
            (1, Event("bob", UserEventType.Purchase, start.AddMinutes(9), "toys")), // out of order: purchase, cart, view
            (1, Event("bob", UserEventType.AddToCart, start.AddMinutes(4), "toys")),
            (1, Event("bob", UserEventType.View, start.AddMinutes(2), "toys")),
            (0, Event("carol", UserEventType.View, start.AddMinutes(1), "home")), // a purchase without a cart
            (0, Event("carol", UserEventType.Purchase, start.AddMinutes(2), "home")),
        ]);
        await Eventually.UntilAsync(async () => (await window.GetAsync()).Ordered.Sessions == 3, Deadline, "three sessions in the window's ordered funnel");

        // Past the end (counts final), then past the end plus the timeout (ordered funnel final).
        await ProduceAsync(topic, [(0, Event("tick0", UserEventType.View, start.AddMinutes(16), "books")), (1, Event("tick1", UserEventType.View, start.AddMinutes(16), "toys"))]);
        await Eventually.UntilAsync(async () => (await window.GetAsync()).IsFinal, Deadline, "the counts final");
        Assert.False((await window.GetAsync()).Ordered.IsFinal);
        await ProduceAsync(topic, [(0, Event("tick0", UserEventType.View, start.AddMinutes(21), "books")), (1, Event("tick1", UserEventType.View, start.AddMinutes(21), "toys"))]);

        await using var data = NpgsqlDataSource.Create(_harness.Database);
        var store = new FunnelStore(data);
        FunnelWindowSnapshot? row = null;
        await Eventually.UntilAsync(
            async () => (row = (await store.ReadRecentAsync(start, CancellationToken.None)).FirstOrDefault(w => w.WindowStart == start)) is { Ordered.IsFinal: true },
            Deadline,
            "the ordered funnel final in funnel_summary");
        var ordered = row!.Ordered;
        Assert.Equal((3L, 2L, 2L), (ordered.Sessions, ordered.Carted, ordered.Purchased)); // carol reached no step after the view
        Assert.Equal((120.0, 120.0), (ordered.ViewToCartMedianSeconds, ordered.ViewToCartP90Seconds)); // 2', 2'
        Assert.Equal((300.0, 420.0), (ordered.ViewToPurchaseMedianSeconds, ordered.ViewToPurchaseP90Seconds)); // 5', 7'
        Assert.Equal(ordered, (await window.GetAsync()).Ordered);

        // The subscriber saw the window change, and at most once per Funnel:PublishInterval (plus the finalisations).
        await Eventually.UntilAsync(() => observer.Received.Any(r => r.Window.WindowStart == start && r.Window.Ordered.IsFinal), Deadline, "the final window pushed to the live subscriber");
        var pushes = observer.Received.Where(r => r.Window.WindowStart == start).ToList();
        Assert.Equal(ordered, pushes.Last().Window.Ordered);
        var busiestSecond = pushes.GroupBy(r => r.At.ToUnixTimeSeconds()).Max(g => g.Count());
        var mostPerSecond = (int)(TimeSpan.FromSeconds(1) / new Analytics.Grains.Funnel.FunnelOptions().PublishInterval) + 2;
        Assert.True(busiestSecond <= mostPerSecond, $"{busiestSecond} pushes of one window in one second (at most {mostPerSecond})");
        output.WriteLine($"{pushes.Count} pushes of the window, at most {busiestSecond} in one second");

        // Final and quiet, the window publishes nothing more (longer than Funnel:OrderedRefreshInterval, 1 s).
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(pushes.Count, observer.Received.Count(r => r.Window.WindowStart == start));
        GC.KeepAlive(observer);
    }

    private sealed class RecordingFunnelObserver : IFunnelObserver
    {
        public System.Collections.Concurrent.ConcurrentQueue<(DateTimeOffset At, FunnelWindowSnapshot Window)> Received { get; } = new();

        public Task OnWindowsChangedAsync(IReadOnlyList<FunnelWindowSnapshot> windows)
        {
            foreach (var window in windows) Received.Enqueue((DateTimeOffset.UtcNow, window));
            return Task.CompletedTask;
        }
    }

    private UserEvent Event(string user, UserEventType type, DateTimeOffset at, string category, decimal price = 5m, string? device = null) => new()
    {
        EventId = Guid.NewGuid(),
        UserId = user,
        SessionId = $"{user}-s1",
        EventType = type,
        ProductId = "p-1",
        Category = category,
        Price = price,
        EventTime = at,
        Device = device,
    };

    /// <summary>Produces each event to its partition, in order, keyed by its user, and waits for the acknowledgements.</summary>
    private async Task ProduceAsync(string topic, IEnumerable<(int Partition, UserEvent Event)> events)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _harness.Kafka.BootstrapServers, LingerMs = 1 }).Build();
        foreach (var (partition, e) in events)
        {
            await producer.ProduceAsync(new TopicPartition(topic, partition), new Message<string, byte[]> { Key = e.UserId, Value = UserEventJson.ToUtf8Bytes(e) });
        }

        output.WriteLine($"produced {events.Count()} events to {topic}");
    }
}
