using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>Funnels computed directly from events, to compare windows with.</summary>
public static class FunnelReference
{
    /// <summary>Views + cart additions + purchases: the events a funnel counted.</summary>
    public static long Sum(FunnelStepCounts counts) => counts.Views + counts.AddToCarts + counts.Purchases;

    /// <summary>Asserts <paramref name="window"/> is the funnel of exactly <paramref name="events"/>, overall and per category and device.</summary>
    public static void AssertEqualsReference(IReadOnlyList<UserEvent> events, FunnelWindowSnapshot window)
    {
        Assert.Equal(Reference(events), window.Total);
        Assert.Equal(events.Select(e => e.UserId).Distinct().Count(), window.Users);
        var byCategory = events.GroupBy(e => e.Category).ToDictionary(g => g.Key, g => Reference([.. g]));
        Assert.Equal(byCategory.OrderBy(c => c.Key, StringComparer.Ordinal), window.ByCategory.OrderBy(c => c.Key, StringComparer.Ordinal));
        var byDevice = events.GroupBy(e => e.Device ?? "unknown").ToDictionary(g => g.Key, g => Reference([.. g]));
        Assert.Equal(byDevice.OrderBy(d => d.Key, StringComparer.Ordinal), window.ByDevice.OrderBy(d => d.Key, StringComparer.Ordinal));
    }

    public static FunnelStepCounts Reference(IReadOnlyList<UserEvent> events) => new()
    {
        Views = events.Count(e => e.EventType == UserEventType.View),
        AddToCarts = events.Count(e => e.EventType == UserEventType.AddToCart),
        Purchases = events.Count(e => e.EventType == UserEventType.Purchase),
        Revenue = events.Where(e => e.EventType == UserEventType.Purchase).Sum(e => e.Price),
        UniqueViewers = events.Where(e => e.EventType == UserEventType.View).Select(e => e.UserId).Distinct().Count(),
        UniqueCarters = events.Where(e => e.EventType == UserEventType.AddToCart).Select(e => e.UserId).Distinct().Count(),
        UniquePurchasers = events.Where(e => e.EventType == UserEventType.Purchase).Select(e => e.UserId).Distinct().Count(),
    };
}
