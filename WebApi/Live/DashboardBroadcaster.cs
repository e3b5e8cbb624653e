using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Storage;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Live;

/// <summary>
/// Feeds the dashboards: subscribes to the cluster's funnel feed (renewed well within its lifetime), keeps the picture
/// in <see cref="DashboardState"/>, and pushes what changed to every connected dashboard — changed windows as soon as
/// they arrive, then at most once per <see cref="DashboardOptions.PushInterval"/>, KPIs every <see cref="DashboardOptions.KpiInterval"/>, churn totals
/// and health when they changed. Pushes are paced by these intervals, never by the event rate, and nothing in the
/// pipeline waits for them: the feed calls this observer one way, and a slow browser slows only this loop.
/// </summary>
public sealed partial class DashboardBroadcaster(
    IClusterClient cluster,
    IHubContext<DashboardHub> hub,
    DashboardState state,
    FunnelStore funnel,
    HealthCheckService health,
    IServiceProvider services,
    TimeProvider time,
    IOptions<DashboardOptions> options,
    ILogger<DashboardBroadcaster> logger) : BackgroundService, IFunnelObserver
{
    private readonly DashboardOptions _options = options.Value;
    private IFunnelObserver? _reference;

    // Released when windows changed: the push loop sends at once, then rests for PushInterval (that is the coalescing).
    private readonly SemaphoreSlim _windowsChanged = new(0, 1);

    public Task OnWindowsChangedAsync(IReadOnlyList<FunnelWindowSnapshot> windows)
    {
        state.ApplyWindows(windows, time.GetUtcNow() - _options.WindowSpan);
        Signal();
        return Task.CompletedTask;
    }

    public override void Dispose()
    {
        _windowsChanged.Dispose();
        base.Dispose();
    }

    private void Signal()
    {
        try
        {
            _windowsChanged.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the next push takes these too.
        }
    }

    private async Task PushWindowsAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _windowsChanged.WaitAsync(stoppingToken);
                var changed = state.TakeChangedWindows();
                if (changed.Count > 0) await Try("windows push", () => hub.Clients.All.SendAsync(DashboardHubContract.Windows, changed, stoppingToken));
                await Task.Delay(_options.PushInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _reference = cluster.CreateObjectReference<IFunnelObserver>(this);
        var kpis = services.GetService<IKpiSource>();
        var nextSubscription = DateTimeOffset.MinValue;
        var nextKpis = DateTimeOffset.MinValue;
        var nextStatus = DateTimeOffset.MinValue;
        var loaded = false;
        var pushing = PushWindowsAsync(stoppingToken);
        using var timer = new PeriodicTimer(_options.PushInterval, time);
        try
        {
            do
            {
                var now = time.GetUtcNow();
                await Try("funnel feed subscription", async () =>
                {
                    if (now < nextSubscription) return;
                    await cluster.GetGrain<IFunnelFeedGrain>(0).SubscribeAsync(_reference);
                    nextSubscription = now + IFunnelFeedGrain.SubscriptionLifetime / 4;
                    // The stored windows once subscribed, so that nothing published between the read and the
                    // subscription is missed; later pushes overwrite what the read brought.
                    if (!loaded)
                    {
                        state.ApplyWindows(await funnel.ReadRecentAsync(now - _options.WindowSpan, stoppingToken), now - _options.WindowSpan);
                        loaded = true;
                        Signal();
                    }
                });

                if (kpis is not null && now >= nextKpis)
                {
                    nextKpis = now + _options.KpiInterval;
                    await Try("KPIs", async () =>
                    {
                        var snapshot = await kpis.ReadAsync(stoppingToken);
                        state.SetKpis(snapshot);
                        await hub.Clients.All.SendAsync(DashboardHubContract.Kpis, snapshot, stoppingToken);
                    });
                }

                if (now >= nextStatus)
                {
                    nextStatus = now + _options.StatusInterval;
                    await Try("churn totals", async () =>
                    {
                        var totals = await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).GetTotalsAsync().WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
                        if (state.SetChurn(totals)) await hub.Clients.All.SendAsync(DashboardHubContract.Churn, totals, stoppingToken);
                    });
                    await Try("health", async () =>
                    {
                        var report = await health.CheckHealthAsync(check => check.Tags.Contains("ready"), stoppingToken);
                        var view = new HealthView(
                            report.Status.ToString(),
                            report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString(), StringComparer.Ordinal),
                            now);
                        if (state.SetHealth(view)) await hub.Clients.All.SendAsync(DashboardHubContract.Health, view, stoppingToken);
                    });
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await pushing;
            try
            {
                await cluster.GetGrain<IFunnelFeedGrain>(0).UnsubscribeAsync(_reference).WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The subscription expires by itself.
            }

            cluster.DeleteObjectReference<IFunnelObserver>(_reference);
        }
    }

    // One failing source (the cluster restarting, PostgreSQL away) must not stop the others or the loop.
    private async Task Try(string what, Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, what, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning, Message = "Dashboard {What} failed ({ErrorType}: {Error}); trying again")]
    private static partial void LogFailed(ILogger logger, string what, string errorType, string error);
}
