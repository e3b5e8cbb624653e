using Orleans.Concurrency;

namespace Analytics.Grains.Interfaces.Funnel;

/// <summary>
/// The live feed of funnel windows (a single grain, key 0): silos publish the windows that changed, at most every
/// <c>Funnel:PublishInterval</c> each; subscribers — the web API's dashboard hub — get them pushed. A subscription
/// expires unless renewed (subscribe again at least every <see cref="SubscriptionLifetime"/>), so a subscriber that
/// vanished costs nothing for long.
/// </summary>
[Alias("Analytics.IFunnelFeedGrain")]
public interface IFunnelFeedGrain : IGrainWithIntegerKey
{
    /// <summary>How long a subscription lasts without being renewed.</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(2);

    /// <summary>Subscribes <paramref name="observer"/>, or renews its subscription.</summary>
    [Alias("Subscribe")]
    Task SubscribeAsync(IFunnelObserver observer);

    [Alias("Unsubscribe")]
    Task UnsubscribeAsync(IFunnelObserver observer);

    /// <summary>Pushes <paramref name="windows"/> (the latest snapshot of each window that changed) to every subscriber.</summary>
    [Alias("Publish")]
    Task PublishAsync(IReadOnlyList<FunnelWindowSnapshot> windows);
}

/// <summary>Receives funnel window changes (a grain observer, typically in an Orleans client).</summary>
[Alias("Analytics.IFunnelObserver")]
public interface IFunnelObserver : IGrainObserver
{
    [Alias("OnWindowsChanged")]
    [OneWay]
    Task OnWindowsChangedAsync(IReadOnlyList<FunnelWindowSnapshot> windows);
}
