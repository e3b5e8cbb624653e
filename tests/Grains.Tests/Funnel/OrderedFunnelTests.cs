using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Grains.Users;
using static Analytics.Grains.Tests.Funnel.FunnelTestSupport;

namespace Analytics.Grains.Tests.Funnel;

/// <summary>
/// The ordered funnel on hand-made sessions with the answer the README's definition gives: window [T, T+10m), session
/// timeout 30 minutes, sessions built by the user aggregate from events in the order they arrive.
/// </summary>
public sealed class OrderedFunnelTests
{
    private static readonly DateTimeOffset T = new(2026, 4, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset End = T.AddMinutes(10);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(30);

    /// <summary>(user, session, type, minutes after T), in arrival order.</summary>
    private static readonly (string User, string Session, UserEventType Type, double Minutes)[] Events =
    [
        // view 1', cart 3', purchase 6': carted after 2', bought after 5'.
        ("alice", "a1", UserEventType.View, 1), ("alice", "a1", UserEventType.AddToCart, 3), ("alice", "a1", UserEventType.Purchase, 6),
        // Out of order: purchase, cart, then the view: view 2', cart 4' (2'), purchase 9' (7').
        ("bob", "b1", UserEventType.Purchase, 9), ("bob", "b1", UserEventType.AddToCart, 4), ("bob", "b1", UserEventType.View, 2),
        // A purchase without a cart: the session entered the funnel and reached no further step.
        ("carol", "c1", UserEventType.View, 1), ("carol", "c1", UserEventType.Purchase, 2),
        // The cart came before the view: not a cart after a view, so the purchase does not count either.
        ("dave", "d1", UserEventType.AddToCart, 1), ("dave", "d1", UserEventType.View, 2), ("dave", "d1", UserEventType.Purchase, 3),
        // Two sessions of one user: each counts on its own (3' to cart in the first).
        ("erin", "e1", UserEventType.View, 5), ("erin", "e1", UserEventType.AddToCart, 8), ("erin", "e2", UserEventType.View, 7),
        // A cart 45' after T: past the window's end plus the session timeout, so not counted.
        ("frank", "f1", UserEventType.View, 9), ("frank", "f1", UserEventType.AddToCart, 45),
        // No view at all: not in the ordered funnel.
        ("gina", "g1", UserEventType.AddToCart, 1),
        // First seen at 3', then an earlier view at −1' moves the session to the previous window.
        ("hank", "h1", UserEventType.View, 3), ("hank", "h1", UserEventType.View, -1),
    ];

    [Fact]
    public void HandMadeSessions_GiveTheDocumentedAnswer()
    {
        var windows = Feed(Events);
        var window = windows[T].Ordered(End, Timeout);

        Assert.Equal(7, window.Sessions); // alice, bob, carol, dave, erin ×2, frank
        Assert.Equal(3, window.Carted); // alice, bob, erin's first
        Assert.Equal(2, window.Purchased); // alice, bob
        Assert.Equal(120, window.ViewToCartMedianSeconds); // 2', 2', 3': nearest rank ⌈0.5 × 3⌉ = 2nd
        Assert.Equal(180, window.ViewToCartP90Seconds); // ⌈0.9 × 3⌉ = 3rd
        Assert.Equal(300, window.ViewToPurchaseMedianSeconds); // 5', 7': ⌈0.5 × 2⌉ = 1st
        Assert.Equal(420, window.ViewToPurchaseP90Seconds);
        Assert.Equal(3.0 / 7, window.CartConversion);
        Assert.Equal(2.0 / 3, window.PurchaseConversion);
        Assert.Equal(2.0 / 7, window.OverallConversion);
        Assert.Equal(1 - 3.0 / 7, window.CartDropOff);

        // hank's session went to the window of its first view, and left this one.
        var previous = windows[T.AddMinutes(-10)].Ordered(T, Timeout);
        Assert.Equal(1, previous.Sessions);
        Assert.Equal(0, previous.Carted);
    }

    [Fact]
    public void SameSessionsInAnyArrivalOrder_SameAnswer()
    {
        var expected = Feed(Events)[T].Ordered(End, Timeout);
        var random = new Random(7);
        for (var round = 0; round < 20; round++)
        {
            var shuffled = Events.OrderBy(_ => random.Next()).ToArray();
            Assert.Equal(expected, Feed(shuffled)[T].Ordered(End, Timeout));
        }
    }

    [Fact]
    public void StaleProgress_DoesNotOverwriteNewer_AndAWithdrawalIsNotUndone()
    {
        var state = new FunnelWindowState();
        Assert.True(state.ApplySession(Progress("u", "s", 1, cart: 2, version: 2)));
        Assert.False(state.ApplySession(Progress("u", "s", 1, cart: null, version: 1))); // older: ignored
        Assert.False(state.ApplySession(Progress("u", "s", 1, cart: 2, version: 2))); // the same again: nothing changes
        Assert.Equal(1, state.Ordered(End, Timeout).Carted);

        Assert.True(state.ApplySession(Progress("u", "s", 1, cart: null, version: 3) with { Withdrawn = true }));
        Assert.False(state.ApplySession(Progress("u", "s", 1, cart: 2, version: 2)));
        Assert.Equal(0, state.Ordered(End, Timeout).Sessions);
    }

    [Fact]
    public void OrderedFinal_FreezesTheFunnel_LaterProgressIsLate_AndItSurvivesSerialization()
    {
        var state = new FunnelWindowState();
        state.ApplySession(Progress("u", "s", 1, cart: 2, version: 2));
        state.MarkOrderedFinal(End, Timeout);
        Assert.False(state.ApplySession(Progress("v", "s", 3, cart: 4, version: 2)));
        Assert.Equal(1, state.LateSessionUpdates);

        var copy = RoundTrip(state);
        var ordered = copy.Ordered(End, Timeout);
        Assert.True(ordered.IsFinal);
        Assert.Equal(1, ordered.Sessions);
        Assert.Equal(1, ordered.Carted);
        Assert.Empty(copy.Sessions);
    }

    /// <summary>
    /// Applies the events to per-user aggregates in arrival order, and after each one hands the windows what a user
    /// grain would: its session's new progress (to the window of its first view) and a withdrawal from the old one.
    /// </summary>
    private static Dictionary<DateTimeOffset, FunnelWindowState> Feed(IEnumerable<(string User, string Session, UserEventType Type, double Minutes)> events)
    {
        var windowing = new FunnelWindowing(TimeSpan.FromMinutes(10));
        var users = new Dictionary<string, UserBehaviour>();
        var windows = new Dictionary<DateTimeOffset, FunnelWindowState>();
        FunnelWindowState Window(long ticks)
        {
            var start = windowing.StartOf(new DateTimeOffset(ticks, TimeSpan.Zero));
            if (!windows.TryGetValue(start, out var state)) windows[start] = state = new FunnelWindowState();
            return state;
        }

        foreach (var (user, session, type, minutes) in events)
        {
            if (!users.TryGetValue(user, out var behaviour)) users[user] = behaviour = new UserBehaviour();
            var before = behaviour.Sessions.TryGetValue(session, out var stats) ? stats.OrderedSteps() : null;
            behaviour.Apply(new UserEvent
            {
                EventId = Guid.NewGuid(),
                UserId = user,
                SessionId = session,
                EventType = type,
                ProductId = "p",
                Category = "c",
                Price = 1m,
                EventTime = T.AddMinutes(minutes),
            });
            var after = behaviour.Sessions[session].OrderedSteps();
            foreach (var change in SessionChanges.Between(user, session, before, after, behaviour.Sessions[session].Events, windowing))
            {
                Window(change.FirstView.UtcTicks).ApplySession(change);
            }
        }

        return windows;
    }

    private static SessionProgress Progress(string user, string session, double viewMinutes, double? cart, int version) => new()
    {
        UserId = user,
        SessionId = session,
        FirstView = T.AddMinutes(viewMinutes),
        Cart = cart is { } c ? T.AddMinutes(c) : null,
        Version = version,
    };
}
