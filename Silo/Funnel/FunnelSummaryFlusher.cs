using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Silo.Hosting;
using Analytics.Storage;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Funnel;

/// <summary>
/// This silo's publisher of window changes: window grains publish their funnels (at most every
/// <see cref="FunnelOptions.PublishInterval"/> each), it keeps the newest per window, pushes them to the live feed
/// (<see cref="IFunnelFeedGrain"/>) as soon as they arrive — one call at a time, carrying whatever arrived while the
/// previous one was under way — and every publish interval writes them to <c>funnel_summary</c> and
/// <c>funnel_breakdown</c> (one transaction). The rows are derived data; a failed write is retried with whatever is
/// newest by then. A failed push is not retried: the next change of the window is pushed anyway.
/// </summary>
/// <remarks>
/// Why the push does not wait for the write interval: a dashboard's number trails the events by every interval it
/// waits for on the way; pushing at once takes one of them (up to a publish interval) off its latency.
/// </remarks>
internal sealed partial class FunnelSummaryFlusher(
    FunnelStore store,
    IGrainFactory grains,
    IOptions<FunnelOptions> options,
    TimeProvider timeProvider,
    ILogger<FunnelSummaryFlusher> logger) : BackgroundService, IFunnelWindowSink
{
    private readonly LatestByKey<DateTimeOffset, FunnelWindowSnapshot> _pending = new(Newer);
    private readonly LatestByKey<DateTimeOffset, FunnelWindowSnapshot> _unpushed = new(Newer);

    // Released when a window published: the push loop sends at once (a second release while it is full changes nothing).
    private readonly SemaphoreSlim _published = new(0, 1);

    public void Publish(FunnelWindowSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _pending.Publish(snapshot.WindowStart, snapshot);
        _unpushed.Publish(snapshot.WindowStart, snapshot);
        try
        {
            _published.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the next push takes this one too.
        }
    }

    public override void Dispose()
    {
        _published.Dispose();
        base.Dispose();
    }

    /// <summary>Pushes to the live feed what was published since the last push.</summary>
    public async Task PushAsync(CancellationToken cancellationToken)
    {
        var batch = _unpushed.TakeAll();
        if (batch.Count == 0) return;
        List<FunnelWindowSnapshot> windows = [.. batch.Values.OrderBy(w => w.WindowStart)];
        try
        {
            await grains.GetGrain<IFunnelFeedGrain>(0).PublishAsync(windows);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogPushFailed(logger, windows.Count, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Writes everything published so far; throws if PostgreSQL fails (the windows stay pending).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = _pending.TakeAll();
        if (batch.Count == 0) return;
        List<FunnelWindowSnapshot> windows = [.. batch.Values.OrderBy(w => w.WindowStart)];
        try
        {
            await store.UpsertAsync(windows, cancellationToken);
        }
        catch
        {
            foreach (var snapshot in batch.Values) Publish(snapshot);
            throw;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pushing = PushLoopAsync(stoppingToken);
        await PeriodicWork.RunAsync(
            options.Value.PublishInterval, timeProvider, FlushAsync, ex => LogFlushFailed(logger, _pending.Count, ex.GetType().Name, ex.Message), stoppingToken);
        await pushing;

        try
        {
            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await PushAsync(last.Token);
            await FlushAsync(last.Token);
        }
        catch (Exception ex)
        {
            LogFlushFailed(logger, _pending.Count, ex.GetType().Name, ex.Message);
        }
    }

    private async Task PushLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _published.WaitAsync(stoppingToken);
                await PushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    // Counts only grow and finality is forever: of two snapshots of one window, the one that says more wins.
    private static FunnelWindowSnapshot Newer(FunnelWindowSnapshot current, FunnelWindowSnapshot candidate)
        => (candidate.IsFinal, candidate.Total.Views + candidate.Total.AddToCarts + candidate.Total.Purchases, candidate.LateEvents)
            .CompareTo((current.IsFinal, current.Total.Views + current.Total.AddToCarts + current.Total.Purchases, current.LateEvents)) >= 0
            ? candidate
            : current;

    [LoggerMessage(EventId = 3412, Level = LogLevel.Warning, Message = "Could not push {Windows} changed funnel windows to the live feed ({ErrorType}: {Error})")]
    private static partial void LogPushFailed(ILogger logger, int windows, string errorType, string error);

    [LoggerMessage(EventId = 3411, Level = LogLevel.Warning, Message = "Could not write funnel_summary ({ErrorType}: {Error}); {Windows} windows are written with the next flush")]
    private static partial void LogFlushFailed(ILogger logger, int windows, string errorType, string error);
}
