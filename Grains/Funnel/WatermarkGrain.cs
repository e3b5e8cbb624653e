using Analytics.Grains.Interfaces.Funnel;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Grains.Funnel;

/// <summary>
/// Holds the <see cref="WatermarkState"/> (see its rules) in grain storage <c>funnel</c>. The state is written when the
/// watermark moves, otherwise at most once a second, and on deactivation: a restart keeps the watermark, and each
/// partition's highest event time up to the last second at worst (a crash), which only delays the watermark. Reports
/// move the watermark; a timer moves it too when a partition stops holding it back while no report comes (the last
/// events of a replay, a partition that never had any).
/// </summary>
public sealed partial class WatermarkGrain(
    [PersistentState("watermark", GrainConstants.FunnelStorageName)] IPersistentState<WatermarkState> state,
    IOptions<FunnelOptions> options,
    TimeProvider timeProvider,
    ILogger<WatermarkGrain> logger) : Grain, IWatermarkGrain
{
    private static readonly TimeSpan WriteEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RecheckEvery = TimeSpan.FromSeconds(1);
    private readonly FunnelOptions _options = options.Value;
    // Open windows waiting for the watermark, by end (ticks): told as soon as it reaches them.
    private readonly SortedDictionary<long, HashSet<long>> _watchers = [];
    // Every partition holds the watermark back for an idle timeout after this, reported before or not: after a restart
    // (or a move to another silo) the first partition to report must not run ahead of those still starting.
    private readonly DateTimeOffset _heldSince = timeProvider.GetUtcNow();
    private DateTimeOffset _lastWrite;
    private bool _unwritten;

    public async Task<WatermarkSnapshot> ObserveAsync(int partitionCount, IReadOnlyList<PartitionEventTime> observations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partitionCount);
        ArgumentNullException.ThrowIfNull(observations);
        var now = timeProvider.GetUtcNow();
        if (partitionCount != state.State.PartitionCount) state.State.ExpectPartitions(partitionCount);
        foreach (var (partition, maxEventTime) in observations) state.State.Observe(partition, maxEventTime, now);
        _unwritten = true;
        await AdvanceAsync(now);
        return Snapshot(now);
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var period = _options.IdleTimeout < RecheckEvery ? _options.IdleTimeout : RecheckEvery;
        this.RegisterGrainTimer(() => AdvanceAsync(timeProvider.GetUtcNow()), new GrainTimerCreationOptions(period, period));
        return Task.CompletedTask;
    }

    private async Task AdvanceAsync(DateTimeOffset now)
    {
        var moved = state.State.Advance(now, _options.AllowedLateness, _options.IdleTimeout, _heldSince);
        if (moved)
        {
            LogMoved(logger, state.State.Watermark!.Value, string.Join(",", state.State.ActivePartitions(now, _options.IdleTimeout, _heldSince)));
            _unwritten = true;
        }

        if (_unwritten && (moved || now - _lastWrite >= WriteEvery)) await WriteAsync(now);
        if (moved) NotifyWindows(state.State.Watermark!.Value);
    }

    public Task<DateTimeOffset?> WatchWindowAsync(long windowKey, DateTimeOffset windowEnd)
    {
        var watermark = state.State.Watermark;
        if (watermark is not { } reached || reached < windowEnd)
        {
            if (!_watchers.TryGetValue(windowEnd.UtcTicks, out var keys)) _watchers[windowEnd.UtcTicks] = keys = [];
            keys.Add(windowKey);
        }

        return Task.FromResult(watermark);
    }

    // One-way calls: a window that misses one finalises on its reminder instead.
    private void NotifyWindows(DateTimeOffset watermark)
    {
        while (_watchers.Count > 0)
        {
            var (end, keys) = _watchers.First();
            if (end > watermark.UtcTicks) break;
            _watchers.Remove(end);
            foreach (var key in keys) _ = GrainFactory.GetGrain<IFunnelWindowGrain>(key).OnWatermarkAsync(watermark);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unwritten) await WriteAsync(timeProvider.GetUtcNow());
    }

    public Task<WatermarkSnapshot> GetAsync() => Task.FromResult(Snapshot(timeProvider.GetUtcNow()));

    private async Task WriteAsync(DateTimeOffset now)
    {
        await state.WriteStateAsync();
        _lastWrite = now;
        _unwritten = false;
    }

    private WatermarkSnapshot Snapshot(DateTimeOffset now) => new()
    {
        Watermark = state.State.Watermark,
        Partitions = [.. state.State.Partitions.OrderBy(p => p.Key).Select(p => new PartitionEventTime(p.Key, new DateTimeOffset(p.Value.MaxEventTicks, TimeSpan.Zero)))],
        ActivePartitions = [.. state.State.ActivePartitions(now, _options.IdleTimeout, _heldSince)],
    };

    [LoggerMessage(EventId = 3301, Level = LogLevel.Debug, Message = "Watermark moved to {Watermark:O} (active partitions {Active})")]
    private static partial void LogMoved(ILogger logger, DateTimeOffset watermark, string active);
}
