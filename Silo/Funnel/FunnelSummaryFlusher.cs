using System.Collections.Concurrent;
using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Storage;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Funnel;

/// <summary>
/// This silo's writer of <c>funnel_summary</c> and <c>funnel_breakdown</c>: window grains publish their funnels (at
/// most every <see cref="FunnelOptions.PublishInterval"/> each), it keeps the newest per window and writes them all in
/// one transaction every publish interval. The rows are derived data; a failed write is retried with whatever is
/// newest by then.
/// </summary>
internal sealed partial class FunnelSummaryFlusher(
    FunnelStore store,
    IOptions<FunnelOptions> options,
    TimeProvider timeProvider,
    ILogger<FunnelSummaryFlusher> logger) : BackgroundService, IFunnelWindowSink
{
    private ConcurrentDictionary<DateTimeOffset, FunnelWindowSnapshot> _pending = new();

    public void Publish(FunnelWindowSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        _pending.AddOrUpdate(snapshot.WindowStart, snapshot, (_, current) => Newer(current, snapshot));
    }

    /// <summary>Writes everything published so far; throws if PostgreSQL fails (the windows stay pending).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var batch = Interlocked.Exchange(ref _pending, new ConcurrentDictionary<DateTimeOffset, FunnelWindowSnapshot>());
        if (batch.IsEmpty) return;
        try
        {
            await store.UpsertAsync([.. batch.Values], cancellationToken);
        }
        catch
        {
            foreach (var snapshot in batch.Values) Publish(snapshot);
            throw;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PublishInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await FlushAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogFlushFailed(logger, _pending.Count, ex.GetType().Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        try
        {
            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await FlushAsync(last.Token);
        }
        catch (Exception ex)
        {
            LogFlushFailed(logger, _pending.Count, ex.GetType().Name, ex.Message);
        }
    }

    // Counts only grow and finality is forever: of two snapshots of one window, the one that says more wins.
    private static FunnelWindowSnapshot Newer(FunnelWindowSnapshot current, FunnelWindowSnapshot candidate)
        => (candidate.IsFinal, candidate.Total.Views + candidate.Total.AddToCarts + candidate.Total.Purchases, candidate.LateEvents)
            .CompareTo((current.IsFinal, current.Total.Views + current.Total.AddToCarts + current.Total.Purchases, current.LateEvents)) >= 0
            ? candidate
            : current;

    [LoggerMessage(EventId = 3411, Level = LogLevel.Warning, Message = "Could not write funnel_summary ({ErrorType}: {Error}); {Windows} windows are written with the next flush")]
    private static partial void LogFlushFailed(ILogger logger, int windows, string errorType, string error);
}
