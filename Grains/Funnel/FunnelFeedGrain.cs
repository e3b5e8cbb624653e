using Analytics.Grains.Interfaces.Funnel;
using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace Analytics.Grains.Funnel;

/// <summary>
/// Fans window changes out to the subscribed observers with one-way calls: a slow or vanished subscriber never holds a
/// silo's publisher up. Nothing is stored: a subscriber that (re)subscribes reads the current windows from the API.
/// </summary>
public sealed class FunnelFeedGrain(ILogger<FunnelFeedGrain> logger) : Grain, IFunnelFeedGrain
{
    private readonly ObserverManager<IFunnelObserver> _observers = new(IFunnelFeedGrain.SubscriptionLifetime, logger);

    public Task SubscribeAsync(IFunnelObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IFunnelObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    public Task PublishAsync(IReadOnlyList<FunnelWindowSnapshot> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        // One-way calls: this returns as soon as they are sent. Subscribers that expired are dropped here.
        return windows.Count == 0 ? Task.CompletedTask : _observers.Notify(observer => observer.OnWindowsChangedAsync(windows));
    }
}
