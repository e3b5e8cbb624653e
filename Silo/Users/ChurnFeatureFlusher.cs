using System.Diagnostics.Metrics;
using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;
using Analytics.Silo.Hosting;
using Analytics.Storage;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Users;

/// <summary>
/// This silo's writer of <c>churn_features</c>: user grains hand it their features when they changed, it keeps
/// the latest per user and upserts them every <see cref="UserGrainOptions.FeatureFlushInterval"/> in batches. The table
/// is derived data (the grain state is the truth), so a failed write is retried with whatever is newest by then.
/// </summary>
internal sealed partial class ChurnFeatureFlusher(
    ChurnFeatureWriter writer,
    IOptions<UserGrainOptions> options,
    TimeProvider timeProvider,
    ILogger<ChurnFeatureFlusher> logger) : BackgroundService, IChurnFeatureSink, ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly Meter Meter = new("Analytics.Grains");
    private static readonly Counter<long> RowsWritten = Meter.CreateCounter<long>("analytics_churn_features_rows_written", "{row}", "Rows upserted into churn_features.");
    private static readonly Counter<long> Statements = Meter.CreateCounter<long>("analytics_churn_features_upserts", "{statement}", "Upsert statements run against churn_features.");

    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly LatestByKey<string, ChurnFeatures> _pending = new(Newer);

    public void Publish(ChurnFeatures features)
    {
        ArgumentNullException.ThrowIfNull(features);
        _pending.Publish(features.UserId, features);
    }

    /// <summary>Writes everything published so far; throws if PostgreSQL fails (the rows stay pending).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            var batch = _pending.TakeAll();
            if (batch.Count == 0) return;
            var rows = batch.Values.ToList();
            var done = 0;
            try
            {
                foreach (var chunk in rows.Chunk(options.Value.FeatureBatchSize))
                {
                    // Rows older than the stored ones (a second activation's) are skipped and not counted.
                    var written = await writer.UpsertAsync(chunk, cancellationToken);
                    done += chunk.Length;
                    Statements.Add(1);
                    RowsWritten.Add(written);
                }
            }
            catch
            {
                foreach (var row in rows.Skip(done)) Publish(row);
                throw;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await PeriodicWork.RunAsync(
            options.Value.FeatureFlushInterval, timeProvider, FlushAsync, ex => LogFlushFailed(logger, _pending.Count, ex.GetType().Name, ex.Message), stoppingToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushQuietlyAsync(cancellationToken);
    }

    /// <summary>
    /// Grains deactivating at shutdown persist and publish after the host may have stopped this service: flush once
    /// more when the silo stops its storage stage, which comes after every grain is gone.
    /// </summary>
    public void Participate(ISiloLifecycle lifecycle)
        => lifecycle.Subscribe(nameof(ChurnFeatureFlusher), ServiceLifecycleStage.RuntimeStorageServices, _ => Task.CompletedTask, FlushQuietlyAsync);

    private async Task FlushQuietlyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A hurried stop: the rows are derived from grain state, written again when those users next persist.
            if (_pending.Count > 0) LogFlushAbandoned(logger, _pending.Count);
        }
        catch (Exception ex)
        {
            LogFlushFailed(logger, _pending.Count, ex.GetType().Name, ex.Message);
        }
    }

    public override void Dispose()
    {
        _flushing.Dispose();
        base.Dispose();
    }

    private static ChurnFeatures Newer(ChurnFeatures a, ChurnFeatures b) => b.AsOf >= a.AsOf ? b : a;

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Shutdown did not wait for churn_features: {Pending} users' rows were not written (they are written when those users next persist)")]
    private static partial void LogFlushAbandoned(ILogger logger, int pending);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Could not upsert churn_features ({ErrorType}: {Error}); {Pending} users' rows are kept and written with the next flush")]
    private static partial void LogFlushFailed(ILogger logger, int pending, string errorType, string error);
}
