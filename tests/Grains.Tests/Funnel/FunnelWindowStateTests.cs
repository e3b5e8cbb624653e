using Analytics.Grains.Interfaces.Funnel;
using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Events;
using static Analytics.Grains.Tests.Funnel.FunnelTestSupport;

namespace Analytics.Grains.Tests.Funnel;

/// <summary><see cref="FunnelWindowState"/>: one window's funnel, replay-proof by Kafka position, late once final.</summary>
public sealed class FunnelWindowStateTests
{
    private const UserEventType View = UserEventType.View;
    private const UserEventType Cart = UserEventType.AddToCart;
    private const UserEventType Buy = UserEventType.Purchase;

    /// <summary>
    /// Twelve contributions of three users. Alice: partition 0, offsets 1–5; Bob: partition 1, offsets 1–4; Carol: no
    /// position. Views and carts carry prices too, which must not count as revenue.
    /// </summary>
    private static WindowContribution[] AliceEvents() =>
    [
        Contribution("alice", View, "books", "mobile", 99.99m, (0, 0, 1)),
        Contribution("alice", View, "books", "mobile", 99.99m, (0, 0, 2)),
        Contribution("alice", View, "toys", "desktop", 5.00m, (0, 0, 3)),
        Contribution("alice", Cart, "books", "mobile", 20.00m, (0, 0, 4)),
        Contribution("alice", Buy, "books", "mobile", 20.00m, (0, 0, 5)),
    ];

    private static WindowContribution[] BobEvents() =>
    [
        Contribution("bob", View, "books", null, 12.50m, (0, 1, 1)),
        Contribution("bob", Cart, "books", null, 12.50m, (0, 1, 2)),
        Contribution("bob", Buy, "books", null, 12.50m, (0, 1, 3)),
        Contribution("bob", Buy, "toys", "desktop", 7.25m, (0, 1, 4)),
    ];

    private static WindowContribution[] CarolEvents() =>
    [
        Contribution("carol", View, "toys", "desktop", 3.10m, null),
        Contribution("carol", View, "toys", "mobile", 3.10m, null),
        Contribution("carol", Cart, "toys", "mobile", 3.10m, null),
    ];

    /// <summary>The counts of the twelve contributions, worked out by hand.</summary>
    private static SortedDictionary<string, Counts> ExpectedFunnels() => new(StringComparer.Ordinal)
    {
        // Views: alice 3 + bob 1 + carol 2 = 6; carts: 1 + 1 + 1 = 3; purchases: alice 1 + bob 2 = 3;
        // revenue 20.00 + 12.50 + 7.25 = 39.75; every user viewed and carted, alice and bob bought.
        ["total"] = new(6, 3, 3, 39.75m, 3, 3, 2),
        // books: alice views 2, cart 1, buy 1 (20.00); bob view 1, cart 1, buy 1 (12.50) → 3, 2, 2, 32.50.
        ["category:books"] = new(3, 2, 2, 32.50m, 2, 2, 2),
        // toys: alice view 1, carol views 2 and cart 1, bob buy 1 (7.25); viewers alice, carol; carter carol; buyer bob.
        ["category:toys"] = new(3, 1, 1, 7.25m, 2, 1, 1),
        // desktop: alice view (toys), carol view, bob buy 7.25.
        ["device:desktop"] = new(2, 0, 1, 7.25m, 2, 0, 1),
        // mobile: alice views 2, cart, buy 20.00; carol view and cart → views 3 (2 viewers), carts 2 (2 carters), 1 buy.
        ["device:mobile"] = new(3, 2, 1, 20.00m, 2, 2, 1),
        // Bob's three events without a device: view, cart, buy 12.50.
        [$"device:{FunnelWindowState.UnknownDevice}"] = new(1, 1, 1, 12.50m, 1, 1, 1),
    };

    private static FunnelWindowState StateWithTwelveEvents()
    {
        var state = new FunnelWindowState();
        foreach (var contribution in AliceEvents().Concat(BobEvents()).Concat(CarolEvents()))
        {
            Assert.Equal(WindowApplyOutcome.Counted, state.Apply(contribution));
        }

        return state;
    }

    [Fact]
    public void New_IsEmpty()
    {
        var state = new FunnelWindowState();

        Assert.Equal(new Counts(0, 0, 0, 0m, 0, 0, 0), Snapshot(state.Total));
        Assert.Empty(state.ByCategory);
        Assert.Empty(state.ByDevice);
        Assert.Empty(state.Users);
        Assert.Equal(0, state.LateEvents);
        Assert.False(state.IsFinal);
    }

    [Fact]
    public void Apply_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new FunnelWindowState().Apply(null!));
    }

    [Fact]
    public void Apply_KnownSequence_GivesHandComputedTotalCategoriesAndDevices()
    {
        var state = StateWithTwelveEvents();

        Assert.Equal(ExpectedFunnels(), Funnels(state));
        Assert.Equal(["books", "toys"], state.ByCategory.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["desktop", "mobile", "unknown"], state.ByDevice.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, state.LateEvents);
    }

    [Fact]
    public void Apply_NullDevice_IsCountedUnderUnknownDevice()
    {
        var state = new FunnelWindowState();

        state.Apply(Contribution("u", View, "books", null, 0m, null));
        state.Apply(Contribution("u", Buy, "books", null, 4.20m, null));
        state.Apply(Contribution("v", View, "books", null, 0m, null));

        Assert.Equal("unknown", FunnelWindowState.UnknownDevice);
        var unknown = Assert.Single(state.ByDevice);
        Assert.Equal(FunnelWindowState.UnknownDevice, unknown.Key);
        Assert.Equal(new Counts(2, 0, 1, 4.20m, 2, 0, 1), Snapshot(unknown.Value)); // views u, v; u bought 4.20
        Assert.Equal(Snapshot(state.Total), Snapshot(unknown.Value));
    }

    [Fact]
    public void Revenue_CountsPurchasesOnly_AsExactDecimals()
    {
        var state = new FunnelWindowState();

        state.Apply(Contribution("u", View, "c", "d", 1_000m, null));
        state.Apply(Contribution("u", Cart, "c", "d", 1_000m, null));
        state.Apply(Contribution("u", Buy, "c", "d", 0.10m, null));
        state.Apply(Contribution("u", Buy, "c", "d", 0.20m, null));
        state.Apply(Contribution("v", Buy, "c", "d", 19.99m, null));
        state.Apply(Contribution("v", Buy, "c", "d", 0.0000001m, null));

        // 0.10 + 0.20 + 19.99 + 0.0000001 = 20.2900001 exactly (no binary rounding; views and carts not counted).
        Assert.Equal(20.2900001m, state.Total.Revenue);
        Assert.Equal(20.2900001m, state.ByCategory["c"].Revenue);
        Assert.Equal(20.2900001m, state.ByDevice["d"].Revenue);
        Assert.Equal(4, state.Total.Purchases);
        Assert.Equal(2, state.Total.UniquePurchasers);
    }

    [Fact]
    public void UniqueUsers_AreCountedOncePerFunnel_OverallPerCategoryAndPerDevice()
    {
        var state = new FunnelWindowState();

        // One user views three times: two categories, two devices.
        state.Apply(Contribution("u", View, "books", "mobile", 0m, null));
        state.Apply(Contribution("u", View, "toys", "mobile", 0m, null));
        state.Apply(Contribution("u", View, "toys", "desktop", 0m, null));

        Assert.Equal(new Counts(3, 0, 0, 0m, 1, 0, 0), Snapshot(state.Total)); // three views, one viewer
        Assert.Equal(new Counts(1, 0, 0, 0m, 1, 0, 0), Snapshot(state.ByCategory["books"]));
        Assert.Equal(new Counts(2, 0, 0, 0m, 1, 0, 0), Snapshot(state.ByCategory["toys"])); // two views, one viewer
        Assert.Equal(new Counts(2, 0, 0, 0m, 1, 0, 0), Snapshot(state.ByDevice["mobile"]));
        Assert.Equal(new Counts(1, 0, 0, 0m, 1, 0, 0), Snapshot(state.ByDevice["desktop"]));

        // Each step is its own: a cart and a purchase make the user a carter and a buyer once each.
        state.Apply(Contribution("u", Cart, "toys", "mobile", 2m, null));
        state.Apply(Contribution("u", Cart, "toys", "mobile", 2m, null));
        state.Apply(Contribution("u", Buy, "books", "desktop", 3m, null));

        Assert.Equal(new Counts(3, 2, 1, 3m, 1, 1, 1), Snapshot(state.Total));
        Assert.Equal(new Counts(1, 0, 1, 3m, 1, 0, 1), Snapshot(state.ByCategory["books"]));
        Assert.Equal(new Counts(2, 2, 0, 0m, 1, 1, 0), Snapshot(state.ByCategory["toys"]));
        Assert.Equal(new Counts(2, 2, 0, 0m, 1, 1, 0), Snapshot(state.ByDevice["mobile"]));
        Assert.Equal(new Counts(1, 0, 1, 3m, 1, 0, 1), Snapshot(state.ByDevice["desktop"]));

        // A second user counts once more everywhere they appear.
        state.Apply(Contribution("w", View, "toys", "desktop", 0m, null));
        Assert.Equal(2, state.Total.UniqueViewers);
        Assert.Equal(1, state.ByCategory["books"].UniqueViewers);
        Assert.Equal(2, state.ByCategory["toys"].UniqueViewers);
        Assert.Equal(1, state.ByDevice["mobile"].UniqueViewers);
        Assert.Equal(2, state.ByDevice["desktop"].UniqueViewers);
    }

    [Fact]
    public void Users_RecordStepsAndLastCountedPosition()
    {
        var state = StateWithTwelveEvents();

        var users = UserSnapshots(state);

        // Steps are bits: view 1, cart 2, purchase 4.
        Assert.Equal(new UserSnapshot(7, "books=7,toys=1", "desktop=1,mobile=7", "0/0@5"), users["alice"]);
        Assert.Equal(new UserSnapshot(7, "books=7,toys=4", "desktop=4,unknown=7", "0/1@4"), users["bob"]);
        Assert.Equal(new UserSnapshot(3, "toys=3", "desktop=1,mobile=3", ""), users["carol"]);
        Assert.Equal(3, users.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)] // the last counted offset itself
    public void Apply_SameEpochAndPartitionAtOrBelowTheLastCountedOffset_IsReplayedAndChangesNothing(long offset)
    {
        var state = StateWithTwelveEvents();
        var usersBefore = UserSnapshots(state);

        // The original event at that offset, and something never counted (new category, device, a big purchase).
        var replay = AliceEvents()[offset - 1];
        var unseenAtOldOffset = Contribution("alice", Buy, "garden", "tv", 1_000m, (0, 0, offset));

        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(replay));
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(unseenAtOldOffset));

        Assert.Equal(ExpectedFunnels(), Funnels(state));
        Assert.Equal(usersBefore, UserSnapshots(state));
        Assert.Equal(0, state.LateEvents);
    }

    [Fact]
    public void Apply_ReplayOfAWholeUsersHistory_IsAllReplayed()
    {
        var state = StateWithTwelveEvents();

        foreach (var contribution in AliceEvents().Concat(BobEvents()))
        {
            Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(contribution));
        }

        Assert.Equal(ExpectedFunnels(), Funnels(state));
    }

    [Fact]
    public void Apply_NextOffset_IsCounted()
    {
        var state = StateWithTwelveEvents();

        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", Buy, "toys", "desktop", 1.25m, (0, 0, 6))));

        Assert.Equal(new Counts(6, 3, 4, 41.00m, 3, 3, 2), Snapshot(state.Total)); // 39.75 + 1.25; alice already a buyer
        Assert.Equal(new Counts(3, 1, 2, 8.50m, 2, 1, 2), Snapshot(state.ByCategory["toys"])); // 7.25 + 1.25; buyers bob, alice
        Assert.Equal(new Counts(2, 0, 2, 8.50m, 2, 0, 2), Snapshot(state.ByDevice["desktop"]));
        Assert.Equal(6L, state.Users["alice"].Offsets[(0, 0)]);

        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(Contribution("alice", Buy, "toys", "desktop", 1.25m, (0, 0, 6))));
        Assert.Equal(41.00m, state.Total.Revenue);
    }

    [Fact]
    public void Apply_NewEpochForTheSameUser_IsCountedEvenAtALowerOffset()
    {
        var state = StateWithTwelveEvents();

        // The topic was recreated: epoch 1 starts again at low offsets.
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", View, "books", "mobile", 0m, (1, 0, 1))));

        Assert.Equal(7, state.Total.Views); // 6 + 1
        Assert.Equal(4, state.ByCategory["books"].Views); // 3 + 1
        Assert.Equal(3, state.Total.UniqueViewers); // alice had viewed already
        Assert.Equal(1L, state.Users["alice"].Offsets[(1, 0)]);

        // From then on epoch 1 offsets are the ones deduplicated.
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(Contribution("alice", View, "books", "mobile", 0m, (1, 0, 1))));
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", View, "books", "mobile", 0m, (1, 0, 2))));
        Assert.Equal(8, state.Total.Views);
    }

    [Fact]
    public void Apply_AnotherPartitionForTheSameUser_IsCounted()
    {
        var state = StateWithTwelveEvents();

        // Bob's last is (0, 1, 4); partition 0 offset 2 is another position, even though Alice's offset 2 was counted.
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("bob", Cart, "toys", "desktop", 1m, (0, 0, 2))));

        Assert.Equal(new Counts(6, 4, 3, 39.75m, 3, 3, 2), Snapshot(state.Total)); // carts 3 + 1; bob already a carter
        Assert.Equal(new Counts(3, 2, 1, 7.25m, 2, 2, 1), Snapshot(state.ByCategory["toys"])); // carters carol, bob
        Assert.Equal(new Counts(2, 1, 1, 7.25m, 2, 1, 1), Snapshot(state.ByDevice["desktop"]));
        Assert.Equal(2L, state.Users["bob"].Offsets[(0, 0)]);
    }

    [Fact]
    public void Apply_PositionsAreKeptPerUser()
    {
        var state = StateWithTwelveEvents();

        // Alice counted (0, 0, 1..5); Dave's first event at (0, 0, 3) is his own and is counted.
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("dave", View, "books", "mobile", 0m, (0, 0, 3))));

        Assert.Equal(7, state.Total.Views);
        Assert.Equal(4, state.Total.UniqueViewers);
        Assert.Equal(5L, state.Users["alice"].Offsets[(0, 0)]);
    }

    [Fact]
    public void Apply_WithoutPosition_IsAlwaysCounted_AndKeepsTheUsersPosition()
    {
        var state = StateWithTwelveEvents();
        var carolView = CarolEvents()[0];

        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(carolView));
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(carolView));

        // Alice, with a position, also gets a contribution without one: counted, and her position stays (0, 0, 5).
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", Buy, "books", "mobile", 1m, null)));

        Assert.Equal(new Counts(8, 3, 4, 40.75m, 3, 3, 2), Snapshot(state.Total)); // views 6 + 2, buys 3 + 1, 39.75 + 1
        Assert.Equal(new Counts(5, 1, 1, 7.25m, 2, 1, 1), Snapshot(state.ByCategory["toys"])); // views 3 + 2
        Assert.Equal(new Counts(4, 0, 1, 7.25m, 2, 0, 1), Snapshot(state.ByDevice["desktop"])); // views 2 + 2
        Assert.Empty(state.Users["carol"].Offsets);
        Assert.Equal(5L, state.Users["alice"].Offsets[(0, 0)]);
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(AliceEvents()[4]));
    }

    [Fact]
    public void MarkFinal_ThenContributionsAreLate_CountsDoNotChange_AndALateReplayIsReplayed()
    {
        var state = StateWithTwelveEvents();
        state.MarkFinal();
        Assert.True(state.IsFinal);

        // A new event of Alice: late.
        var lateAlice = Contribution("alice", Buy, "books", "mobile", 50m, (0, 0, 6));
        Assert.Equal(WindowApplyOutcome.Late, state.Apply(lateAlice));
        Assert.Equal(1, state.LateEvents);

        // Its replay is a replay, not a second late event.
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(lateAlice));
        Assert.Equal(1, state.LateEvents);

        // A replay of a counted event stays a replay.
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(AliceEvents()[1]));
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(BobEvents()[3]));
        Assert.Equal(1, state.LateEvents);

        // A new user, a new category and device: late, not a funnel.
        Assert.Equal(WindowApplyOutcome.Late, state.Apply(Contribution("erin", View, "garden", "tv", 0m, (0, 2, 1))));
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(Contribution("erin", View, "garden", "tv", 0m, (0, 2, 1))));
        Assert.Equal(2, state.LateEvents);

        // Without a position there is nothing to recognise a replay by: late each time.
        Assert.Equal(WindowApplyOutcome.Late, state.Apply(CarolEvents()[0]));
        Assert.Equal(WindowApplyOutcome.Late, state.Apply(CarolEvents()[0]));
        Assert.Equal(4, state.LateEvents);

        // Alice's next offset is late too.
        Assert.Equal(WindowApplyOutcome.Late, state.Apply(Contribution("alice", View, "books", "mobile", 0m, (0, 0, 7))));
        Assert.Equal(5, state.LateEvents);

        Assert.Equal(ExpectedFunnels(), Funnels(state));
        Assert.DoesNotContain("garden", state.ByCategory.Keys);
        Assert.DoesNotContain("tv", state.ByDevice.Keys);
        Assert.True(state.IsFinal);
    }

    [Fact]
    public void MarkFinal_OnAnEmptyWindow_CountsOnlyLateEvents()
    {
        var state = new FunnelWindowState();
        state.MarkFinal();
        state.MarkFinal();

        Assert.Equal(WindowApplyOutcome.Late, state.Apply(Contribution("u", Buy, "c", "d", 9m, (0, 0, 1))));
        Assert.Equal(WindowApplyOutcome.Late, state.Apply(Contribution("u", Buy, "c", "d", 9m, (0, 0, 2))));

        Assert.Equal(2, state.LateEvents);
        Assert.Equal(new Counts(0, 0, 0, 0m, 0, 0, 0), Snapshot(state.Total));
        Assert.Empty(state.ByCategory);
        Assert.Empty(state.ByDevice);
    }

    [Fact]
    public void Apply_AnyOrderKeepingEachUsersOffsetsIncreasing_GivesTheSameCounts()
    {
        var expected = ExpectedFunnels();
        List<WindowContribution[]> orders =
        [
            [.. AliceEvents(), .. BobEvents(), .. CarolEvents()],
            [.. CarolEvents().Reverse(), .. BobEvents(), .. AliceEvents()],
            [.. BobEvents(), .. CarolEvents(), .. AliceEvents()],
        ];
        for (var seed = 0; seed < 50; seed++)
        {
            orders.Add(Interleave(new Random(seed)));
        }

        foreach (var order in orders)
        {
            var state = new FunnelWindowState();
            foreach (var contribution in order)
            {
                Assert.Equal(WindowApplyOutcome.Counted, state.Apply(contribution));
            }

            Assert.Equal(expected, Funnels(state));
            Assert.Equal(12, order.Length);
        }
    }

    /// <summary>A random merge of the three users' events: Alice's and Bob's in offset order, Carol's (no position) shuffled.</summary>
    private static WindowContribution[] Interleave(Random random)
    {
        var carol = CarolEvents();
        random.Shuffle(carol);
        var queues = new List<Queue<WindowContribution>> { new(AliceEvents()), new(BobEvents()), new(carol) };
        var merged = new List<WindowContribution>();
        while (queues.Count > 0)
        {
            var queue = queues[random.Next(queues.Count)];
            merged.Add(queue.Dequeue());
            if (queue.Count == 0) queues.Remove(queue);
        }

        return [.. merged];
    }

    [Fact]
    public void SerializationRoundTrip_KeepsCountsUsersAndPositions_AndContinuesIdentically()
    {
        var original = StateWithTwelveEvents();

        var copy = RoundTrip(original);

        Assert.Equal(ExpectedFunnels(), Funnels(copy));
        Assert.Equal(UserSnapshots(original), UserSnapshots(copy));
        Assert.Equal(0, copy.LateEvents);
        Assert.False(copy.IsFinal);

        // The same contributions on both: replays recognised, new events counted, the same way.
        var next = new[]
        {
            (AliceEvents()[4], WindowApplyOutcome.Replayed),
            (BobEvents()[0], WindowApplyOutcome.Replayed),
            (Contribution("alice", Buy, "toys", "tv", 2.50m, (0, 0, 6)), WindowApplyOutcome.Counted),
            (Contribution("frank", View, "toys", null, 0m, (0, 3, 9)), WindowApplyOutcome.Counted),
            (CarolEvents()[2], WindowApplyOutcome.Counted),
        };
        foreach (var state in new[] { original, copy })
        {
            foreach (var (contribution, outcome) in next)
            {
                Assert.Equal(outcome, state.Apply(contribution));
            }
        }

        // Views 6 + 1, carts 3 + 1, purchases 3 + 1, revenue 39.75 + 2.50; frank is a new viewer.
        Assert.Equal(new Counts(7, 4, 4, 42.25m, 4, 3, 2), Snapshot(copy.Total));
        Assert.Equal(Funnels(original), Funnels(copy));
        Assert.Equal(UserSnapshots(original), UserSnapshots(copy));
    }

    [Fact]
    public void SerializationRoundTrip_OfAFinalWindow_KeepsLateEventsAndStaysFinal()
    {
        var original = StateWithTwelveEvents();
        original.MarkFinal();
        var late = Contribution("alice", View, "books", "mobile", 0m, (0, 0, 6));
        Assert.Equal(WindowApplyOutcome.Late, original.Apply(late));

        var copy = RoundTrip(original);

        Assert.True(copy.IsFinal);
        Assert.Equal(1, copy.LateEvents);
        Assert.Equal(ExpectedFunnels(), Funnels(copy));
        Assert.Equal(WindowApplyOutcome.Replayed, copy.Apply(late));
        Assert.Equal(WindowApplyOutcome.Late, copy.Apply(late with { Position = (0, 0, 7) }));
        Assert.Equal(2, copy.LateEvents);
        Assert.Equal(ExpectedFunnels(), Funnels(copy));
    }

    [Fact]
    public void SerializationRoundTrip_OfAContribution_KeepsEveryField()
    {
        var withPosition = Contribution("alice", Buy, "books", "mobile", 19.99m, (2, 5, 1_234_567_890_123));
        var withoutPositionOrDevice = Contribution("carol", View, "toys", null, 0m, null);

        Assert.Equal(withPosition, RoundTrip(withPosition));
        Assert.Equal(withoutPositionOrDevice, RoundTrip(withoutPositionOrDevice));
    }

    [Fact]
    public void Apply_ReplayOfAnEarlierEpochOrPartition_AfterAnotherWasCounted_IsStillAReplay()
    {
        // Positions are kept per topic epoch and partition: a user's events are in order within each, not across them.
        var state = new FunnelWindowState();
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", UserEventType.Purchase, "books", "mobile", 10m, (0, 0, 5))));
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", UserEventType.Purchase, "books", "mobile", 10m, (1, 0, 1))));
        Assert.Equal(WindowApplyOutcome.Counted, state.Apply(Contribution("alice", UserEventType.Purchase, "books", "mobile", 10m, (0, 1, 1))));
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(Contribution("alice", UserEventType.Purchase, "books", "mobile", 10m, (0, 0, 5))));
        Assert.Equal(WindowApplyOutcome.Replayed, state.Apply(Contribution("alice", UserEventType.Purchase, "books", "mobile", 10m, (1, 0, 1))));
        Assert.Equal(3, state.Total.Purchases);
    }
}
