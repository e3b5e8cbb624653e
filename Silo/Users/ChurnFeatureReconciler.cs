using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;
using Analytics.Storage;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Analytics.Silo.Users;

/// <summary>
/// Mends <c>churn_features</c> after a silo dies. The dead silo's writer may have held rows it never wrote; the events
/// behind them are safe in <c>raw_events</c> and in the user grains' snapshots, but a user with no later event gets
/// no new activation, so nothing would write the row again. <see cref="UserGrainOptions.ReconcileDelay"/> after a silo
/// is declared dead, and after start-up (the whole cluster may have stopped the same way), the oldest active silo
/// looks for users with events ingested shortly before that moment whose row counts fewer events than
/// <c>raw_events</c> holds and calls their grains: an activation catches up from storage and writes the row.
/// </summary>
internal sealed partial class ChurnFeatureReconciler(
    IClusterMembershipService membership,
    ILocalSiloDetails localSilo,
    IGrainFactory grains,
    ChurnFeatureAudit audit,
    IOptions<UserGrainOptions> options,
    TimeProvider timeProvider,
    ILogger<ChurnFeatureReconciler> logger) : BackgroundService
{
    // Grain calls in flight at once while re-activating: enough to overlap the activations' reads of storage.
    private const int Parallelism = 16;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = new List<Task> { ReconcileLaterAsync("start-up", timeProvider.GetUtcNow(), stoppingToken) };
        // Silos dead before this one started (the membership table keeps them, and the first snapshot may come only
        // once this silo joined): the start-up check covers them.
        var known = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => m.SiloAddress).ToHashSet();
        var first = true;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                // Silos declared dead together are mended by one check.
                var died = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && known.Add(m.SiloAddress)).Select(m => m.SiloAddress).ToList();
                if (died.Count > 0 && !first)
                {
                    pending.Add(ReconcileLaterAsync($"silo {string.Join(", ", died)} died", timeProvider.GetUtcNow(), stoppingToken));
                }

                first = false;
                pending.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(pending);
    }

    // Looks at events ingested before 'since' (the death was seen, or this silo started): those after it are in flight
    // to live grains, which write their own rows.
    private async Task ReconcileLaterAsync(string reason, DateTimeOffset since, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(options.Value.ReconcileDelay, timeProvider, stoppingToken);
            // One silo does it: the oldest active one (the lowest address, the same answer on every silo).
            var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
            if (active.Count > 0 && !active.Min()!.Equals(localSilo.SiloAddress)) return;
            var users = await audit.FindUsersBehindAsync(since, options.Value.ReconcileLookback, options.Value.ReconcileLimit, stoppingToken);
            if (users.Count == 0)
            {
                LogNothingBehind(logger, reason);
                return;
            }

            await Parallel.ForEachAsync(
                users,
                new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stoppingToken },
                async (user, _) => await grains.GetGrain<IUserGrain>(user).GetSummaryAsync());
            LogReactivated(logger, reason, users.Count, string.Join(", ", users.Take(5)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Derived data: the rows are written again with those users' next events.
            LogFailed(logger, reason, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 3211, Level = LogLevel.Information, Message = "churn_features after {Reason}: every recent user's row is up to date")]
    private static partial void LogNothingBehind(ILogger logger, string reason);

    [LoggerMessage(EventId = 3212, Level = LogLevel.Warning, Message = "churn_features after {Reason}: {Users} users' rows were behind their stored events (lost with a silo's unwritten batch); their grains were re-activated to write them again (e.g. {Examples})")]
    private static partial void LogReactivated(ILogger logger, string reason, int users, string examples);

    [LoggerMessage(EventId = 3213, Level = LogLevel.Warning, Message = "Could not check churn_features after {Reason} ({ErrorType}: {Error}); rows behind are written again with those users' next events")]
    private static partial void LogFailed(ILogger logger, string reason, string errorType, string error);
}
