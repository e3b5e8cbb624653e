using Analytics.Grains.Interfaces.Events;
using Analytics.Producer.Simulation;

namespace Analytics.Producer.Tests;

/// <summary>The documented behaviour ranges over 100,000 events with default settings (see the README).</summary>
public sealed class FunnelTests
{
    [Fact]
    public void HundredThousandEvents_FunnelAndPopularityWithinDocumentedRanges()
    {
        var (messages, _) = TestStreams.Generate(new SimulationSettings { Start = TestStreams.Start, MaxEvents = 100_000 });
        var now = TestStreams.NowAfter(messages);
        var events = messages.Select(m => TestStreams.Parse(m, now)).ToList();
        Assert.Equal(100_000, events.Count);

        // Event-time order (no late events here).
        for (var i = 1; i < events.Count; i++) Assert.True(events[i - 1].EventTime <= events[i].EventTime, $"out of order at {i}");

        var views = events.Count(e => e.EventType == UserEventType.View);
        var carts = events.Count(e => e.EventType == UserEventType.AddToCart);
        var purchases = events.Count(e => e.EventType == UserEventType.Purchase);
        AssertRange("view→cart", (double)carts / views, 0.07, 0.13);
        AssertRange("cart→purchase", (double)purchases / carts, 0.35, 0.55);

        var sessions = events.GroupBy(e => e.SessionId).ToList();
        AssertRange("events per session", (double)events.Count / sessions.Count, 6.5, 11);

        // Zipf-skewed popularity: the top 10 % of the 500 products get most views.
        var viewsByProduct = events.Where(e => e.EventType == UserEventType.View).GroupBy(e => e.ProductId).Select(g => g.Count()).OrderDescending().ToList();
        AssertRange("top 10% products' share of views", (double)viewsByProduct.Take(50).Sum() / views, 0.55, 0.85);

        // Categories convert differently: grocery is carted far more often per view than electronics.
        double CartRate(string category) =>
            (double)events.Count(e => e.Category == category && e.EventType == UserEventType.AddToCart)
            / events.Count(e => e.Category == category && e.EventType == UserEventType.View);
        Assert.True(CartRate("grocery") > 1.5 * CartRate("electronics"), $"grocery {CartRate("grocery"):P1} vs electronics {CartRate("electronics"):P1}");

        // A purchase is always of a product carted earlier in the same session, at the same price, once per cart addition.
        // A session id is a UUID v7 of the session's first event time, and belongs to one user.
        foreach (var session in sessions)
        {
            var carted = new Dictionary<string, (int Count, decimal Price)>();
            var first = session.First();
            Assert.True(Guid.TryParseExact(session.Key, "D", out var sessionUuid) && sessionUuid.Version == 7, $"session id {session.Key} is not a UUID v7");
            Assert.Equal(first.EventTime.ToUnixTimeMilliseconds(), UuidV7.GetUnixTimeMilliseconds(sessionUuid));
            foreach (var e in session)
            {
                Assert.Equal(first.Device, e.Device);
                Assert.Equal(first.UserId, e.UserId);
                if (e.EventType == UserEventType.AddToCart)
                {
                    carted[e.ProductId] = (carted.GetValueOrDefault(e.ProductId).Count + 1, e.Price);
                }
                else if (e.EventType == UserEventType.Purchase)
                {
                    Assert.True(carted.TryGetValue(e.ProductId, out var c) && c.Count > 0, $"purchase of {e.ProductId} not carted before in {e.SessionId}");
                    Assert.Equal(c.Price, e.Price);
                    carted[e.ProductId] = (c.Count - 1, c.Price);
                }
            }
        }

        // Prices have two decimals and stay per product.
        foreach (var product in events.GroupBy(e => e.ProductId))
        {
            Assert.Single(product.Select(e => e.Price).Distinct());
            Assert.Equal(2, product.First().Price.Scale);
        }
    }

    private static void AssertRange(string what, double value, double min, double max)
        => Assert.True(value >= min && value <= max, $"{what} = {value:0.####}, expected {min}–{max}");
}
