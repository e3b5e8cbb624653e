using Analytics.Grains;
using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Silo.Hosting;
using Analytics.Streaming.Kafka;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Funnel;

/// <summary>
/// Collects, per Kafka partition, the highest event time of what this silo's queues have delivered — every subscriber,
/// the user grains included, has processed it, so its window contributions are counted — and hands it to the watermark
/// grain every <see cref="FunnelOptions.ReportInterval"/>: one grain call per interval per silo, whatever the event
/// rate. A failed report is merged into the next one. Each report says how many partitions the topic has, so the
/// watermark waits for those no silo has read from yet.
/// </summary>
/// <remarks>
/// Delivered, not merely read or stored: an event read in the same pull as a much later one must not see its window
/// finalised while it is still on its way to the window, or a fast replay of history would count it late.
/// </remarks>
internal sealed partial class WatermarkReporter(
    IGrainFactory grains,
    IOptions<FunnelOptions> options,
    IOptionsMonitor<KafkaStreamOptions> kafka,
    TimeProvider timeProvider,
    ILogger<WatermarkReporter> logger) : BackgroundService, IKafkaDeliveryObserver
{
    private readonly LatestByKey<int, long> _pending = new(Math.Max);

    public void OnDelivered(KafkaDeliveryProgress progress)
    {
        if (progress.MaxEventTime is { } maxEventTime) Report(progress.Partition, maxEventTime);
    }

    /// <summary>Partition <paramref name="partition"/> delivered events up to <paramref name="maxEventTime"/>.</summary>
    public void Report(int partition, DateTimeOffset maxEventTime)
        => _pending.Publish(partition, maxEventTime.UtcTicks);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReportInterval, timeProvider);
        var partitionCount = kafka.Get(GrainConstants.StreamProviderName).Partitions;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var batch = _pending.TakeAll();
                if (batch.Count == 0) continue;
                try
                {
                    await grains.GetGrain<IWatermarkGrain>(0).ObserveAsync(
                        partitionCount,
                        [.. batch.OrderBy(p => p.Key).Select(p => new PartitionEventTime(p.Key, new DateTimeOffset(p.Value, TimeSpan.Zero)))]);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    foreach (var (partition, ticks) in batch) Report(partition, new DateTimeOffset(ticks, TimeSpan.Zero));
                    LogReportFailed(logger, batch.Count, ex.GetType().Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "Could not report the event times of {Partitions} partitions to the watermark ({ErrorType}: {Error}); they go with the next report")]
    private static partial void LogReportFailed(ILogger logger, int partitions, string errorType, string error);
}
