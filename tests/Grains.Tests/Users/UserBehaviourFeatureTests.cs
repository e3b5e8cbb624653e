using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;
using static Analytics.Grains.Interfaces.Events.UserEventType;

namespace Analytics.Grains.Tests.Users;

/// <summary>
/// <see cref="UserBehaviour"/> against values worked out by hand from the definitions in the doc comments of
/// <see cref="UserSummary"/> and <see cref="ChurnFeatures"/>.
/// </summary>
public sealed class UserBehaviourFeatureTests
{
    private static DateTimeOffset At(int day, int hour, int minute) => new(2026, 3, day, hour, minute, 0, TimeSpan.Zero);

    /// <summary>
    /// Twelve events in three sessions over 16 days. Every category has four events (a three-way tie that the
    /// first category seen, electronics, must not win); session s-2 puts something in the cart and buys nothing.
    /// </summary>
    private static readonly UserEvent[] Sample =
    [
        // s-1, Mon 2 March, 21:00 → 21:20 (1,200 s): two views, cart and purchase of p-2.
        TestEvents.Create(1, "s-1", View, "p-1", "electronics", 100.00m, At(2, 21, 0)),
        TestEvents.Create(2, "s-1", View, "p-2", "electronics", 249.99m, At(2, 21, 5)),
        TestEvents.Create(3, "s-1", AddToCart, "p-2", "electronics", 249.99m, At(2, 21, 10)),
        TestEvents.Create(4, "s-1", Purchase, "p-2", "electronics", 249.99m, At(2, 21, 20)),

        // s-2, Wed 11 March, 20:30 → 21:10 (2,400 s): a cart addition and no purchase, an abandoned cart.
        TestEvents.Create(5, "s-2", View, "p-3", "books", 19.50m, At(11, 20, 30)),
        TestEvents.Create(6, "s-2", View, "p-4", "garden", 35.00m, At(11, 20, 40)),
        TestEvents.Create(7, "s-2", AddToCart, "p-4", "garden", 35.00m, At(11, 21, 0)),
        TestEvents.Create(8, "s-2", View, "p-5", "books", 12.00m, At(11, 21, 10)),

        // s-3, Wed 18 March, 08:00 → 09:00 (3,600 s): cart and purchase of p-3.
        TestEvents.Create(9, "s-3", View, "p-4", "garden", 35.00m, At(18, 8, 0)),
        TestEvents.Create(10, "s-3", AddToCart, "p-3", "books", 19.50m, At(18, 8, 15)),
        TestEvents.Create(11, "s-3", View, "p-6", "garden", 8.25m, At(18, 8, 30)),
        TestEvents.Create(12, "s-3", Purchase, "p-3", "books", 19.50m, At(18, 9, 0)),
    ];

    private static UserBehaviour SampleBehaviour()
    {
        var behaviour = new UserBehaviour();
        foreach (var userEvent in Sample) behaviour.Apply(userEvent);
        return behaviour;
    }

    [Fact]
    public void Summarize_SampleUser_MatchesHandComputedSummary()
    {
        var expected = new UserSummary
        {
            UserId = TestEvents.UserId,
            TotalEvents = 12,                          // 7 + 3 + 2
            Views = 7,                                 // events 1, 2, 5, 6, 8, 9, 11
            AddToCarts = 3,                            // events 3, 7, 10
            Purchases = 2,                             // events 4, 12
            Sessions = 3,                              // s-1, s-2, s-3
            AvgSessionSeconds = 2_400,                 // (1,200 + 2,400 + 3,600) / 3
            AvgEventsPerSession = 4,                   // 12 / 3
            FirstEventTime = At(2, 21, 0),             // event 1
            LastEventTime = At(18, 9, 0),              // event 12
            TotalSpend = 269.49m,                      // 249.99 + 19.50 (purchases only)
            AvgOrderValue = 134.745m,                  // 269.49 / 2
            DistinctProducts = 6,                      // p-1 … p-6
            DistinctCategories = 3,                    // books, electronics, garden
            CartAbandonments = 1,                      // s-2: cart (7), no purchase; s-1 and s-3 bought
            FavouriteCategory = "books",               // 4 each; ordinal: "books" < "electronics" < "garden"
        };

        var summary = SampleBehaviour().Summarize(TestEvents.UserId);

        Assert.Equal(expected, summary);
        Assert.True(summary.IsKnown);
    }

    [Fact]
    public void Features_SampleUserAsOfTwelveHoursAfterLastEvent_MatchesHandComputedFeatures()
    {
        var asOf = At(18, 21, 0);
        var expected = new ChurnFeatures
        {
            UserId = TestEvents.UserId,
            AsOf = asOf,
            TotalViews = 7,
            TotalAddToCarts = 3,
            TotalPurchases = 2,
            SessionCount = 3,
            AvgSessionSeconds = 2_400,
            AvgEventsPerSession = 4,
            FirstEventTime = At(2, 21, 0),
            LastEventTime = At(18, 9, 0),
            SecondsSinceLastEvent = 43_200,            // 18 Mar 21:00 − 18 Mar 09:00 = 12 h = 12 × 3,600
            TotalSpend = 269.49m,
            AvgOrderValue = 134.745m,
            DistinctProducts = 6,
            DistinctCategories = 3,
            CartAbandonments = 1,
            CartToPurchaseRatio = 2.0 / 3.0,           // 2 purchases / 3 cart additions
            FavouriteCategory = "books",
            EventsLast7Days = 5,                       // (11 Mar 21:00, 18 Mar 21:00]: events 8, 9, 10, 11, 12
            EventsPrevious7Days = 3,                   // (4 Mar 21:00, 11 Mar 21:00]: events 5, 6 and 7 (at exactly asOf − 7 d)
            ActivityTrend = 0.25,                      // (5 − 3) / (5 + 3)
            RecencyDays = 0.5,                         // 43,200 / 86,400
            FrequencyPerDay = 0.75,                    // 12 events / 16 days (2 Mar 21:00 → 18 Mar 21:00)
            Monetary = 269.49m,
        };

        var features = SampleBehaviour().Features(TestEvents.UserId, asOf);

        Assert.Equal(expected, features);
    }

    [Theory]
    // asOf = the last event (18 Mar 09:00): event 12 sits at the inclusive upper end of the last window;
    // (11 Mar 09:00, 18 Mar 09:00] holds events 5–12 and (4 Mar 09:00, 11 Mar 09:00] none; (8 − 0) / 8 = 1.
    [InlineData("2026-03-18T09:00:00Z", 8, 0, 1.0)]
    // asOf − 7 d = 11 Mar 21:00, exactly event 7: it belongs to the previous window, not the last (see above).
    [InlineData("2026-03-18T21:00:00Z", 5, 3, 0.25)]
    // One tick later asOf − 7 d is just after event 7, which stays in the previous window.
    [InlineData("2026-03-18T21:00:00.0000001Z", 5, 3, 0.25)]
    // One tick earlier asOf − 7 d is just before event 7, so it moves into the last window: (6 − 2) / 8 = 0.5.
    [InlineData("2026-03-18T20:59:59.9999999Z", 6, 2, 0.5)]
    // asOf − 14 d = 11 Mar 20:40, exactly event 6: the previous window's lower end is exclusive, so only
    // events 7–12 are in (11 Mar 20:40, 18 Mar 20:40] and nothing in (18 Mar 20:40, 25 Mar 20:40]; (0 − 6) / 6 = −1.
    [InlineData("2026-03-25T20:40:00Z", 0, 6, -1.0)]
    // Both windows empty: (2 Apr, 9 Apr] and (26 Mar, 2 Apr]; trend 0 by definition.
    [InlineData("2026-04-09T00:00:00Z", 0, 0, 0.0)]
    public void Features_WindowBoundaries_CountEventsInHalfOpenWindows(string asOf, long last7, long previous7, double trend)
    {
        var features = SampleBehaviour().Features(TestEvents.UserId, DateTimeOffset.Parse(asOf, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(last7, features.EventsLast7Days);
        Assert.Equal(previous7, features.EventsPrevious7Days);
        Assert.Equal(trend, features.ActivityTrend);
    }

    [Fact]
    public void Features_AsOfBeforeLastEvent_IsMovedUpToLastEventTime()
    {
        var behaviour = SampleBehaviour();
        var lastEvent = At(18, 9, 0);

        var early = behaviour.Features(TestEvents.UserId, At(10, 0, 0));

        Assert.Equal(lastEvent, early.AsOf);
        Assert.Equal(0, early.SecondsSinceLastEvent);
        Assert.Equal(0, early.RecencyDays);
        Assert.Equal(8, early.EventsLast7Days);         // (11 Mar 09:00, 18 Mar 09:00]: events 5–12
        Assert.Equal(0, early.EventsPrevious7Days);     // (4 Mar 09:00, 11 Mar 09:00]: none
        Assert.Equal(1.0, early.ActivityTrend);         // (8 − 0) / (8 + 0)
        Assert.Equal(12 / 15.5, early.FrequencyPerDay); // 2 Mar 21:00 → 18 Mar 09:00 = 15.5 days
        Assert.Equal(behaviour.Features(TestEvents.UserId, lastEvent), early);
        Assert.Equal(early, behaviour.Features(TestEvents.UserId, DateTimeOffset.MinValue));
    }

    [Fact]
    public void Features_AsOfInAnotherOffset_IsTheSameInstant()
    {
        var behaviour = SampleBehaviour();
        var utc = At(18, 21, 0);

        var features = behaviour.Features(TestEvents.UserId, utc.ToOffset(TimeSpan.FromHours(2)));

        Assert.Equal(behaviour.Features(TestEvents.UserId, utc), features);
        Assert.Equal(TimeSpan.Zero, features.AsOf.Offset);
    }

    [Fact]
    public void Features_EventsWithinOneDay_FrequencyUsesAtLeastOneDay()
    {
        var behaviour = new UserBehaviour();
        behaviour.Apply(TestEvents.View(1, At(5, 10, 0)));
        behaviour.Apply(TestEvents.View(2, At(5, 11, 0)));
        behaviour.Apply(TestEvents.View(3, At(5, 12, 0)));

        // As of the last event the span is 2 h, counted as one day: 3 / 1; two days later, 3 / (2 d 2 h) = 3 / (50 / 24).
        Assert.Equal(3, behaviour.Features(TestEvents.UserId, At(5, 12, 0)).FrequencyPerDay);
        Assert.Equal(3 / (50 / 24.0), behaviour.Features(TestEvents.UserId, At(7, 12, 0)).FrequencyPerDay, 12);
    }

    [Fact]
    public void Summarize_UserWithoutEvents_IsZerosAndNulls()
    {
        var expected = new UserSummary
        {
            UserId = "nobody",
            TotalEvents = 0,
            Views = 0,
            AddToCarts = 0,
            Purchases = 0,
            Sessions = 0,
            AvgSessionSeconds = null,
            AvgEventsPerSession = null,
            FirstEventTime = null,
            LastEventTime = null,
            TotalSpend = 0,
            AvgOrderValue = null,
            DistinctProducts = 0,
            DistinctCategories = 0,
            CartAbandonments = 0,
            FavouriteCategory = null,
        };

        var summary = new UserBehaviour().Summarize("nobody");

        Assert.Equal(expected, summary);
        Assert.False(summary.IsKnown);
    }

    [Fact]
    public void Features_UserWithoutEvents_IsZerosAndNullsAsOfTheGivenTime()
    {
        var asOf = At(20, 12, 0);
        var expected = new ChurnFeatures
        {
            UserId = "nobody",
            AsOf = asOf,
            TotalViews = 0,
            TotalAddToCarts = 0,
            TotalPurchases = 0,
            SessionCount = 0,
            AvgSessionSeconds = null,
            AvgEventsPerSession = null,
            FirstEventTime = null,
            LastEventTime = null,
            SecondsSinceLastEvent = null,
            TotalSpend = 0,
            AvgOrderValue = null,
            DistinctProducts = 0,
            DistinctCategories = 0,
            CartAbandonments = 0,
            CartToPurchaseRatio = null,
            FavouriteCategory = null,
            EventsLast7Days = 0,
            EventsPrevious7Days = 0,
            ActivityTrend = 0,
            RecencyDays = null,
            FrequencyPerDay = 0,
            Monetary = 0,
        };

        Assert.Equal(expected, new UserBehaviour().Features("nobody", asOf));
    }

    [Fact]
    public void Summarize_CategoryWithMoreEvents_WinsOverOrdinallyEarlierName()
    {
        var behaviour = new UserBehaviour();
        behaviour.Apply(TestEvents.Create(1, "s-1", View, "p-1", "Zebra", 1m, At(3, 10, 0)));
        behaviour.Apply(TestEvents.Create(2, "s-1", View, "p-1", "Zebra", 1m, At(3, 10, 1)));
        behaviour.Apply(TestEvents.Create(3, "s-1", View, "p-2", "apple", 1m, At(3, 10, 2)));
        behaviour.Apply(TestEvents.Create(4, "s-1", View, "p-3", "Apple", 1m, At(3, 10, 3)));

        Assert.Equal("Zebra", behaviour.Summarize(TestEvents.UserId).FavouriteCategory);

        // Now "apple" and "Zebra" tie at 2: ordinal order puts upper case first ('Z' = 0x5A < 'a' = 0x61).
        behaviour.Apply(TestEvents.Create(5, "s-1", View, "p-2", "apple", 1m, At(3, 10, 4)));
        Assert.Equal("Zebra", behaviour.Summarize(TestEvents.UserId).FavouriteCategory);

        // Three-way tie at 2 with "Apple": 'A' (0x41) comes first.
        behaviour.Apply(TestEvents.Create(6, "s-1", View, "p-3", "Apple", 1m, At(3, 10, 5)));
        Assert.Equal("Apple", behaviour.Summarize(TestEvents.UserId).FavouriteCategory);
    }
}
