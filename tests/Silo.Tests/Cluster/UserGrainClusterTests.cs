using System.Diagnostics.Metrics;
using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;
using Analytics.TestInfrastructure;
using Npgsql;
using Orleans.TestingHost;
using Xunit.Abstractions;
using static Analytics.Silo.Tests.Cluster.KafkaClusterHarness;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// The user grains in test clusters wired like the real silo: events through the local Kafka-protocol broker, state in
/// ADO.NET grain storage on a throwaway PostgreSQL. Every user's numbers are checked against the produced events.
/// </summary>
[Collection(SiloProcessesCollection.Name)]
public sealed class UserGrainClusterTests(PostgresFixture postgres, ITestOutputHelper output) : IClassFixture<PostgresFixture>, IAsyncLifetime
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
    public async Task TwoSilos_EventsAndDuplicates_EveryUserEqualsGroundTruth_AndChurnFeaturesEqualGrainState()
    {
        var topic = _harness.NewTopic();
        var events = MakeEvents(40_000, users: 1_000);
        // The producer sends some events twice: same event id, at a later offset.
        var duplicates = events.Where((_, i) => i % 20 == 0).ToList();
        await using var cluster = await _harness.DeployAsync(topic);

        await _harness.ProduceAsync(topic, events.Select(Keyed));
        await _harness.ProduceAsync(topic, duplicates.Select(Keyed));
        await _harness.UntilCommittedToEndAsync(topic, Deadline, "offsets committed to the end of every partition");

        var summaries = await SummariesAsync(cluster, events);
        AssertEqualsGroundTruth(events, summaries);

        // Each silo upserts the features of the users it persisted; once flushed, every row is what the grain says
        // as of the row's as_of.
        var users = events.Select(e => e.UserId).Distinct().ToList();
        await Eventually.UntilAsync(async () => await _harness.CountAsync("churn_features") == users.Count, Deadline, $"{users.Count} rows in churn_features");
        await Eventually.UntilAsync(
            async () =>
            {
                var rows = await ReadChurnFeaturesAsync();
                foreach (var user in users)
                {
                    if (!rows.TryGetValue(user, out var row) || row != await cluster.Client.GetGrain<IUserGrain>(user).GetFeaturesAsync(row.AsOf)) return false;
                }

                return true;
            },
            TimeSpan.FromSeconds(30),
            "every churn_features row equal to its grain's features as of the row's as_of");

        var sample = (await ReadChurnFeaturesAsync())[users[0]];
        var mine = events.Where(e => e.UserId == users[0]).ToList();
        Assert.Equal(mine.Count(e => e.EventType == UserEventType.View), sample.TotalViews);
        Assert.Equal(mine.Where(e => e.EventType == UserEventType.Purchase).Sum(e => e.Price), sample.TotalSpend);
        Assert.Equal(mine.Max(e => e.EventTime), sample.LastEventTime);
    }

    /// <summary>
    /// A silo is killed while events flow. Its grains lose what they had not written; their next activations read it
    /// back from raw_events, and the partitions the dead silo read are read again from their last commits (replays the
    /// grains drop by offset). Every count ends exact: with snapshots written every few events (so the grains read back
    /// a snapshot plus a few events) and with the default, where no user reaches a snapshot before the kill.
    /// </summary>
    [Theory]
    [InlineData(5)]
    [InlineData(100)]
    public async Task TwoSilos_OneKilledMidStream_EveryUsersCountsEqualTheProducedEventsExactly(int snapshotEvents)
    {
        var topic = _harness.NewTopic();
        var events = MakeEvents(100_000, users: 3_000, seed: 23);
        using var metrics = new UserMetricsListener();
        await using var cluster = await _harness.DeployAsync(topic, settings: new Dictionary<string, string>
        {
            ["Users:SnapshotEvents"] = snapshotEvents.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        var firstHalf = events.Take(events.Count / 2).ToList();
        var positions = await _harness.ProduceAsync(topic, firstHalf.Select(Keyed));
        // Applied from the stream or, by a grain's first activation, from raw_events (storing runs ahead of delivery).
        await Eventually.UntilAsync(() => metrics.Applied + metrics.Recovered >= 20_000, Deadline, "the stream well under way");

        var killing = cluster.KillSiloAsync(cluster.SecondarySilos[0]);
        foreach (var (id, where) in await _harness.ProduceAsync(topic, events.Skip(firstHalf.Count).Select(Keyed))) positions[id] = where;
        await killing;

        await _harness.UntilCommittedToEndAsync(topic, Deadline, "offsets committed to the end of every partition by the remaining silo");
        var summaries = await SummariesAsync(cluster, events);
        output.WriteLine($"applied {metrics.Applied}, replays dropped {metrics.Replayed}, caught up from raw_events on activation {metrics.Recovered}, state writes {metrics.Writes}");
        AssertEqualsGroundTruth(events, summaries, positions);
        await AssertEveryEventInItsWindowOnceAsync(cluster, events);
        if (snapshotEvents == 5) Assert.True(metrics.Writes > 3_000, $"snapshots written while events flowed ({metrics.Writes})");
    }

    /// <summary>
    /// A silo killed while its writer still holds unwritten <c>churn_features</c> rows (flush interval 30 s), for users
    /// who get no later event, so no new activation writes them: the surviving (oldest) silo's check finds the users
    /// whose rows are missing and re-activates their grains, and every row equals the produced events.
    /// </summary>
    [Fact]
    public async Task SiloKilledWithUnwrittenChurnFeatures_UsersWithNoLaterEvent_RowsMendedByTheOldestSilo()
    {
        var topic = _harness.NewTopic();
        var events = MakeEvents(4_000, users: 400, seed: 31);
        var truth = events.GroupBy(e => e.UserId).ToDictionary(
            g => g.Key,
            g => (Views: g.LongCount(e => e.EventType == UserEventType.View), Carts: g.LongCount(e => e.EventType == UserEventType.AddToCart), Purchases: g.LongCount(e => e.EventType == UserEventType.Purchase)));
        await using var cluster = await _harness.DeployAsync(topic, settings: new Dictionary<string, string>
        {
            ["Users:FeatureFlushInterval"] = "00:00:30",
            ["Users:ReconcileDelay"] = "00:00:03",
        });
        await _harness.ProduceAsync(topic, events.Select(Keyed));
        await _harness.UntilCommittedToEndAsync(topic, Deadline, "every event delivered and its offset committed (nothing to replay)");
        var rowsAtTheKill = await _harness.CountAsync("churn_features");
        await cluster.KillSiloAsync(cluster.SecondarySilos[0]);
        output.WriteLine($"churn_features rows when the secondary silo was killed: {rowsAtTheKill} of {truth.Count}");
        Assert.True(rowsAtTheKill < truth.Count, $"the secondary's users' rows were not yet written when it was killed ({rowsAtTheKill} rows)");

        await using var data = NpgsqlDataSource.Create(_harness.Database);
        var rows = new Dictionary<string, (long Views, long Carts, long Purchases)>();
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    rows.Clear();
                    await using var command = data.CreateCommand("select user_id, total_views, total_add_to_carts, total_purchases from churn_features");
                    await using var reader = await command.ExecuteReaderAsync();
                    while (await reader.ReadAsync()) rows[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
                    return rows.Count == truth.Count && truth.All(t => rows.GetValueOrDefault(t.Key) == t.Value);
                },
                Deadline,
                "every user's churn_features row equal to the produced events");
        }
        catch (TimeoutException timeout)
        {
            throw new TimeoutException($"{timeout.Message}; {rows.Count} rows, e.g. missing or different: {string.Join(", ", truth.Where(t => rows.GetValueOrDefault(t.Key) != t.Value).Take(5).Select(t => t.Key))}", timeout);
        }
    }

    [Fact]
    public async Task StateSurvivesIdleDeactivationAndAClusterRestart_AndNothingIsCountedTwiceAfterwards()
    {
        var topic = _harness.NewTopic();
        var events = MakeEvents(6_000, users: 200, seed: 5);
        var before = events.Take(4_000).ToList();
        Dictionary<string, UserSummary> first;
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1))
        {
            await _harness.ProduceAsync(topic, before.Select(Keyed));
            await _harness.UntilCommittedToEndAsync(topic, Deadline, "the first 4,000 events committed");
            first = await SummariesAsync(cluster, before);
            AssertEqualsGroundTruth(before, first);

            // Idle grains go away and come back from storage with the same state.
            var management = cluster.Client.GetGrain<IManagementGrain>(0);
            await management.ForceActivationCollection(TimeSpan.Zero);
            Assert.Equal(0, await ActiveUserGrainsAsync(management));
            Assert.Equal(first, await SummariesAsync(cluster, before));
        }

        // A new cluster on the same database and consumer group: the state is read back, and the committed offsets
        // mean nothing is applied twice.
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1))
        {
            Assert.Equal(first, await SummariesAsync(cluster, before));
            await _harness.ProduceAsync(topic, events.Skip(before.Count).Select(Keyed));
            await _harness.UntilCommittedToEndAsync(topic, Deadline, "the remaining events committed");
            AssertEqualsGroundTruth(events, await SummariesAsync(cluster, events));
        }
    }

    /// <summary>
    /// The development broker forgets everything when it restarts, while PostgreSQL keeps the users' state: the new
    /// topic's offsets start from 0 again and must not be taken for replays of the old ones.
    /// </summary>
    [Fact]
    public async Task ANewIncarnationOfTheTopic_ItsEventsCount_TheirLowOffsetsAreNotTakenForReplays()
    {
        var topic = _harness.NewTopic();
        var events = MakeEvents(3_000, users: 100, seed: 9);
        var before = events.Take(2_000).ToList();
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1))
        {
            await _harness.ProduceAsync(topic, before.Select(Keyed));
            await _harness.UntilCommittedToEndAsync(topic, Deadline, "the first 2,000 events committed");
            AssertEqualsGroundTruth(before, await SummariesAsync(cluster, before));
        }

        _harness.RestartBroker(topic);
        await using (var cluster = await _harness.DeployAsync(topic, silos: 1))
        {
            await _harness.ProduceAsync(topic, events.Skip(before.Count).Select(Keyed));
            await _harness.UntilCommittedToEndAsync(topic, Deadline, "the last 1,000 events, at offsets the old topic had used, committed");
            AssertEqualsGroundTruth(events, await SummariesAsync(cluster, events));
        }
    }

    private static async Task<int> ActiveUserGrainsAsync(IManagementGrain management)
        => (await management.GetSimpleGrainStatistics())
            .Where(s => s.GrainType.Contains(nameof(UserGrain), StringComparison.Ordinal))
            .Sum(s => s.ActivationCount);

    private static async Task<Dictionary<string, UserSummary>> SummariesAsync(TestCluster cluster, IEnumerable<UserEvent> events)
    {
        var users = events.Select(e => e.UserId).Distinct().ToList();
        var summaries = await Task.WhenAll(users.Select(u => cluster.Client.GetGrain<IUserGrain>(u).GetSummaryAsync()));
        return summaries.ToDictionary(s => s.UserId);
    }

    /// <summary>Counts by hand for every user; the whole summary against the aggregate of the user's events in reverse order.</summary>
    /// <summary>
    /// Replays and re-applications after the kill reach the funnel windows too: each event is counted once in its
    /// window, or once among its late events if a partition the dead silo held fell behind the watermark meanwhile.
    /// </summary>
    private static async Task AssertEveryEventInItsWindowOnceAsync(TestCluster cluster, List<UserEvent> events)
    {
        foreach (var window in events.GroupBy(e => FunnelWindowKey.Of(new Grains.Funnel.FunnelWindowing(TimeSpan.FromMinutes(10)).StartOf(e.EventTime))))
        {
            var funnel = await cluster.Client.GetGrain<IFunnelWindowGrain>(window.Key).GetAsync();
            Assert.Equal(window.Count(), FunnelReference.Sum(funnel.Total) + funnel.LateEvents);
        }
    }

    private void AssertEqualsGroundTruth(List<UserEvent> events, Dictionary<string, UserSummary> summaries, Dictionary<string, (int Partition, long Offset)>? positions = null)
    {
        var wrong = new List<string>();
        foreach (var user in events.GroupBy(e => e.UserId))
        {
            var summary = summaries[user.Key];
            var truth = (
                Views: user.LongCount(e => e.EventType == UserEventType.View),
                Carts: user.LongCount(e => e.EventType == UserEventType.AddToCart),
                Purchases: user.LongCount(e => e.EventType == UserEventType.Purchase),
                Spend: user.Where(e => e.EventType == UserEventType.Purchase).Sum(e => e.Price),
                Sessions: (long)user.Select(e => e.SessionId).Distinct().Count());
            if ((summary.Views, summary.AddToCarts, summary.Purchases, summary.TotalSpend, summary.Sessions) != truth)
            {
                wrong.Add($"{user.Key}: got {(summary.Views, summary.AddToCarts, summary.Purchases, summary.TotalSpend, summary.Sessions)}, produced {truth}");
                if (positions is not null)
                {
                    // Where each of its events sat and how often the plain counting subscriber of the same stream got it.
                    var deliveries = DeliveryLog.CountsOf(user.Select(e => e.EventId));
                    output.WriteLine($"{user.Key}: " + string.Join(", ", user
                        .Select(e => (Where: positions[e.EventId.ToString()], e.EventType, Delivered: deliveries[e.EventId]))
                        .OrderBy(e => e.Where.Offset)
                        .Select(e => $"{e.Where.Partition}@{e.Where.Offset} {e.EventType} x{e.Delivered}")));
                }

                continue;
            }

            var expected = new UserBehaviour();
            foreach (var e in user.Reverse()) expected.Apply(e);
            if (expected.Summarize(user.Key) != summary) wrong.Add($"{user.Key}: {summary} != {expected.Summarize(user.Key)}");
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} users differ from the produced events, e.g.\n{string.Join("\n", wrong.Take(5))}");
    }

    private async Task<Dictionary<string, ChurnFeatures>> ReadChurnFeaturesAsync()
    {
        await using var data = NpgsqlDataSource.Create(_harness.Database);
        await using var command = data.CreateCommand("select * from churn_features");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, ChurnFeatures>();
        while (await reader.ReadAsync())
        {
            T? Get<T>(string column) => reader.IsDBNull(reader.GetOrdinal(column)) ? default : reader.GetFieldValue<T>(reader.GetOrdinal(column));
            DateTimeOffset? Time(string column) => reader.IsDBNull(reader.GetOrdinal(column)) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(reader.GetOrdinal(column)), TimeSpan.Zero);
            var row = new ChurnFeatures
            {
                UserId = Get<string>("user_id")!,
                AsOf = Time("as_of")!.Value,
                TotalViews = Get<long>("total_views"),
                TotalAddToCarts = Get<long>("total_add_to_carts"),
                TotalPurchases = Get<long>("total_purchases"),
                SessionCount = Get<long>("session_count"),
                AvgSessionSeconds = Get<double?>("avg_session_seconds"),
                AvgEventsPerSession = Get<double?>("avg_events_per_session"),
                FirstEventTime = Time("first_event_time"),
                LastEventTime = Time("last_event_time"),
                SecondsSinceLastEvent = Get<double?>("seconds_since_last_event"),
                TotalSpend = Get<decimal>("total_spend"),
                AvgOrderValue = Get<decimal?>("avg_order_value"),
                DistinctProducts = Get<long>("distinct_products"),
                DistinctCategories = Get<long>("distinct_categories"),
                CartAbandonments = Get<long>("cart_abandonments"),
                CartToPurchaseRatio = Get<double?>("cart_to_purchase_ratio"),
                FavouriteCategory = Get<string>("favourite_category"),
                EventsLast7Days = Get<long>("events_last_7d"),
                EventsPrevious7Days = Get<long>("events_prev_7d"),
                ActivityTrend = Get<double>("activity_trend"),
                RecencyDays = Get<double?>("recency_days"),
                FrequencyPerDay = Get<double>("frequency_per_day"),
                Monetary = Get<decimal>("monetary"),
            };
            rows[row.UserId] = row;
        }

        return rows;
    }

    /// <summary>Listens to the user grains' counters (the in-process silos share the meter).</summary>
    private sealed class UserMetricsListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _applied, _replayed, _recovered, _writes;

        public UserMetricsListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Analytics.Grains") listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                switch (instrument.Name)
                {
                    case "analytics_user_events_applied": Interlocked.Add(ref _applied, value); break;
                    case "analytics_user_events_replayed": Interlocked.Add(ref _replayed, value); break;
                    case "analytics_user_events_caught_up": Interlocked.Add(ref _recovered, value); break;
                    case "analytics_user_state_writes": Interlocked.Add(ref _writes, value); break;
                }
            });
            _listener.Start();
        }

        public long Applied => Interlocked.Read(ref _applied);

        public long Replayed => Interlocked.Read(ref _replayed);

        public long Recovered => Interlocked.Read(ref _recovered);

        public long Writes => Interlocked.Read(ref _writes);

        public void Dispose() => _listener.Dispose();
    }
}
