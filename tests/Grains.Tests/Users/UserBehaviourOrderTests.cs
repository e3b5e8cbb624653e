using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;

namespace Analytics.Grains.Tests.Users;

/// <summary>The aggregate is order-independent: any arrival order of the same events gives the same outputs.</summary>
public sealed class UserBehaviourOrderTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Categories = ["books", "electronics", "garden", "Home", "toys"];

    /// <summary>
    /// About 70 events in 12 sessions over 40 days (so most are older than 14 days before the latest and leave the
    /// trend's memory), plus events exactly at the latest − 7 days and − 14 days, one tick inside − 14 days, and two
    /// events sharing a time.
    /// </summary>
    private static readonly UserEvent[] History = BuildHistory();

    private static readonly DateTimeOffset Latest = History.Max(e => e.EventTime);

    /// <summary>The latest event, an hour and three days after it, and exactly 7 days after it (so it is in the previous window).</summary>
    private static readonly DateTimeOffset[] AsOfs =
        [Latest, Latest.AddHours(1), Latest.AddDays(3), Latest.AddDays(7), Latest.AddDays(10)];

    private static UserEvent[] BuildHistory()
    {
        var random = new Random(20260105);
        var events = new List<UserEvent>();
        var id = 0;
        for (var session = 0; session < 12; session++)
        {
            var time = Start.AddDays(session * 3.3).AddMinutes(random.Next(0, 600));
            var length = random.Next(3, 8);
            for (var i = 0; i < length; i++)
            {
                var roll = random.Next(10);
                var type = roll < 6 ? UserEventType.View : roll < 8 ? UserEventType.AddToCart : UserEventType.Purchase;
                events.Add(TestEvents.Create(
                    ++id,
                    $"s-{session}",
                    type,
                    $"p-{random.Next(15)}",
                    Categories[random.Next(Categories.Length)],
                    random.Next(100, 20_000) / 100m,
                    time));
                time = time.AddSeconds(random.Next(1, 900));
            }
        }

        var latest = events.Max(e => e.EventTime);
        events.Add(TestEvents.View(++id, latest.AddDays(-7), "s-edge"));
        events.Add(TestEvents.View(++id, latest.AddDays(-14), "s-edge"));
        events.Add(TestEvents.View(++id, latest.AddDays(-14).AddTicks(1), "s-edge"));
        events.Add(TestEvents.View(++id, latest.AddDays(-3), "s-edge"));
        events.Add(TestEvents.View(++id, latest.AddDays(-3), "s-edge"));
        return [.. events];
    }

    private static UserBehaviour ApplyAll(IEnumerable<UserEvent> events)
    {
        var behaviour = new UserBehaviour();
        foreach (var userEvent in events) behaviour.Apply(userEvent);
        return behaviour;
    }

    private static long CountIn(DateTimeOffset fromExclusive, DateTimeOffset toInclusive)
        => History.LongCount(e => e.EventTime > fromExclusive && e.EventTime <= toInclusive);

    [Fact]
    public void History_ExercisesTrendPruning()
    {
        // Guards the premise of the permutation tests: most events fall out of the 14-day memory.
        var recent = History.Count(e => e.EventTime > Latest.AddDays(-14));
        Assert.InRange(recent, 5, History.Length / 2);
    }

    [Fact]
    public void Features_SortedOrder_TrendCountsMatchBruteForce()
    {
        var features = AsOfs.Select(asOf => ApplyAll(History.OrderBy(e => e.EventTime)).Features(TestEvents.UserId, asOf));

        Assert.All(features, f =>
        {
            var asOf = f.AsOf;
            var window = ChurnFeatures.TrendWindow;
            Assert.Equal(CountIn(asOf - window, asOf), f.EventsLast7Days);
            Assert.Equal(CountIn(asOf - (2 * window), asOf - window), f.EventsPrevious7Days);
        });

        // As of latest + 7 d, the latest event is at exactly asOf − 7 d: previous window, not last.
        var weekLater = ApplyAll(History).Features(TestEvents.UserId, Latest.AddDays(7));
        Assert.Equal(0, weekLater.EventsLast7Days);
        Assert.Equal(CountIn(Latest.AddDays(-7), Latest), weekLater.EventsPrevious7Days);
        Assert.Equal(-1.0, weekLater.ActivityTrend);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ApplyInRandomOrder_GivesEqualSummaryAndFeatures(int seed)
    {
        var reference = ApplyAll(History);
        var expectedSummary = reference.Summarize(TestEvents.UserId);
        var expectedFeatures = AsOfs.Select(asOf => reference.Features(TestEvents.UserId, asOf)).ToArray();
        var expectedRecent = History.Select(e => e.EventTime.UtcTicks).Where(t => t > Latest.AddDays(-14).UtcTicks).Order().ToList();
        var random = new Random(seed);

        for (var permutation = 0; permutation < 40; permutation++)
        {
            var shuffled = History.ToArray();
            random.Shuffle(shuffled);

            var behaviour = ApplyAll(shuffled);

            Assert.Equal(expectedSummary, behaviour.Summarize(TestEvents.UserId));
            Assert.Equal(expectedFeatures, AsOfs.Select(asOf => behaviour.Features(TestEvents.UserId, asOf)));
            Assert.Equal(expectedRecent, behaviour.RecentEventTicks);
        }

        // The trend counts themselves, not only their agreement across orders.
        Assert.All(expectedFeatures, f =>
        {
            Assert.Equal(CountIn(f.AsOf - ChurnFeatures.TrendWindow, f.AsOf), f.EventsLast7Days);
            Assert.Equal(CountIn(f.AsOf - (2 * ChurnFeatures.TrendWindow), f.AsOf - ChurnFeatures.TrendWindow), f.EventsPrevious7Days);
        });
        Assert.Equal(History.Length, expectedSummary.TotalEvents);
        Assert.Equal(History.Min(e => e.EventTime), expectedSummary.FirstEventTime);
        Assert.Equal(Latest, expectedSummary.LastEventTime);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void UserState_ShuffledWithDuplicates_GivesSameSummaryAsEachEventOnce(int seed)
    {
        var window = new DuplicateWindow(TimeSpan.FromDays(60), 10_000);
        var expected = ApplyAll(History);
        var random = new Random(seed);

        for (var permutation = 0; permutation < 20; permutation++)
        {
            // Every third event sent twice, at different positions in the stream and without a Kafka position.
            var stream = History.Concat(History.Where((_, i) => i % 3 == 0)).ToArray();
            random.Shuffle(stream);
            var state = new UserState();

            var outcomes = stream.Select(e => state.Apply(e, null, window)).ToList();

            Assert.Equal(History.Length, outcomes.Count(o => o == ApplyOutcome.Applied));
            Assert.Equal(stream.Length - History.Length, outcomes.Count(o => o == ApplyOutcome.Duplicate));
            Assert.Equal(expected.Summarize(TestEvents.UserId), state.Behaviour.Summarize(TestEvents.UserId));
            Assert.Equal(expected.Features(TestEvents.UserId, Latest), state.Behaviour.Features(TestEvents.UserId, Latest));
        }
    }
}
