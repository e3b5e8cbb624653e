using System.Diagnostics.Metrics;
using Analytics.Grains.Interfaces.Funnel;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Grains.Funnel;

/// <summary>
/// The funnel of one event-time window (<see cref="FunnelWindowState"/>), fed by the user grains, finalised by the
/// watermark: at once when the watermark grain tells it, and in any case by its reminder, which checks the watermark
/// every <see cref="FunnelOptions.FinalisationCheckPeriod"/> until the window is final, whatever happened to this
/// activation or its silo in between.
/// </summary>
/// <remarks>
/// <para>
/// Storage is written three times in a window's life, not per event: when it opens (so that a later activation knows
/// it was open), when it becomes final, and when late events arrive after that (they exist nowhere else). An open
/// window's counts are not stored: an activation that finds the window open rebuilds them from <c>raw_events</c>,
/// where every event is stored before any grain receives it. Contributions counted already are then recognised by
/// the user's Kafka position and ignored.
/// </para>
/// <para>
/// Changes go to <see cref="IFunnelWindowSink"/> (<c>funnel_summary</c> and live consumers) at most once per
/// <see cref="FunnelOptions.PublishInterval"/>, and at once when the window becomes final.
/// </para>
/// </remarks>
public sealed partial class FunnelWindowGrain(
    [PersistentState("window", GrainConstants.FunnelStorageName)] IPersistentState<FunnelWindowState> state,
    IFunnelWindowHistory history,
    IFunnelWindowSink sink,
    IOptions<FunnelOptions> options,
    ILogger<FunnelWindowGrain> logger) : Grain, IFunnelWindowGrain, IRemindable
{
    private const string ReminderName = "finalise";
    private readonly FunnelOptions _options = options.Value;
    private DateTimeOffset _start;
    private DateTimeOffset _end;
    private IGrainTimer? _publishTimer;
    private bool _finalUnwritten;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _start = FunnelWindowKey.StartOf(this.GetPrimaryKeyLong());
        var windowing = new FunnelWindowing(_options.WindowSize);
        if (!windowing.IsWindowStart(_start))
        {
            throw new InvalidOperationException($"{_start:O} is not the start of a {_options.WindowSize} window (Funnel:WindowSize).");
        }

        _end = windowing.EndOf(_start);
        if (state.State.IsFinal) return;

        var watermark = await GrainFactory.GetGrain<IWatermarkGrain>(0).WatchWindowAsync(this.GetPrimaryKeyLong(), _end);
        if (!state.RecordExists)
        {
            // A new window. If the watermark passed its end before its first event, it is final and empty: that event is late.
            if (watermark is { } passed && passed >= _end) state.State.MarkFinal();
            await state.WriteStateAsync(cancellationToken);
            FunnelWindowMetrics.Opened.Add(1);
        }
        else
        {
            await RebuildAsync(cancellationToken);
        }

        if (state.State.IsFinal) return;
        await this.RegisterOrUpdateReminder(ReminderName, _options.FinalisationCheckPeriod, _options.FinalisationCheckPeriod, cancellationToken);
        if (watermark is { } reached && reached >= _end) await FinaliseAsync(reached);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_publishTimer is not null) Publish();
        if (!_finalUnwritten) return;
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            LogWriteFailed(logger, _start, ex.GetType().Name, ex.Message);
        }
    }

    public async Task<WindowApplyResult> ApplyAsync(IReadOnlyList<WindowContribution> contributions)
    {
        ArgumentNullException.ThrowIfNull(contributions);
        int counted = 0, replayed = 0, late = 0;
        foreach (var contribution in contributions)
        {
            if (contribution.EventTime < _start || contribution.EventTime >= _end)
            {
                throw new ArgumentException($"An event at {contribution.EventTime:O} does not belong to window [{_start:O}, {_end:O}).", nameof(contributions));
            }

            switch (state.State.Apply(contribution))
            {
                case WindowApplyOutcome.Counted: counted++; break;
                case WindowApplyOutcome.Replayed: replayed++; break;
                case WindowApplyOutcome.Late: late++; break;
            }
        }

        FunnelWindowMetrics.Record(counted, replayed, late);
        if (late > 0)
        {
            // Late events exist only here (a final window is never rebuilt): written before the user grains move on.
            _finalUnwritten = true;
            await WriteFinalAsync();
            LogLate(logger, _start, late, state.State.LateEvents);
        }

        if (counted + late > 0) SchedulePublish();
        return new WindowApplyResult(counted, replayed, late);
    }

    public Task<FunnelWindowSnapshot> GetAsync() => Task.FromResult(state.State.ToSnapshot(_start, _end));

    public async Task OnWatermarkAsync(DateTimeOffset watermark)
    {
        if (!state.State.IsFinal && watermark >= _end) await FinaliseAsync(watermark);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName) return;
        if (!state.State.IsFinal)
        {
            var watermark = (await GrainFactory.GetGrain<IWatermarkGrain>(0).GetAsync()).Watermark;
            if (watermark is not { } reached || reached < _end) return;
            await FinaliseAsync(reached);
        }
        else if (_finalUnwritten)
        {
            await WriteFinalAsync();
        }

        if (state.State.IsFinal && !_finalUnwritten) await UnregisterReminderAsync();
    }

    private async Task FinaliseAsync(DateTimeOffset watermark)
    {
        state.State.MarkFinal();
        _finalUnwritten = true;
        LogFinal(logger, _start, watermark, state.State.Total.Views, state.State.Total.AddToCarts, state.State.Total.Purchases);
        FunnelWindowMetrics.Finalised.Add(1);
        Publish();
        try
        {
            await WriteFinalAsync();
            await UnregisterReminderAsync();
        }
        catch (Exception ex)
        {
            // Final in memory (later events are late); the reminder writes it, or a new activation finalises it again.
            LogWriteFailed(logger, _start, ex.GetType().Name, ex.Message);
        }
    }

    private async Task WriteFinalAsync()
    {
        await state.WriteStateAsync();
        _finalUnwritten = false;
    }

    private async Task UnregisterReminderAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private async Task RebuildAsync(CancellationToken cancellationToken)
    {
        var rebuilt = new FunnelWindowState();
        var events = 0;
        await foreach (var contribution in history.ReadAsync(_start, _end, cancellationToken))
        {
            rebuilt.Apply(contribution);
            events++;
        }

        state.State = rebuilt;
        LogRebuilt(logger, _start, events, rebuilt.Users.Count);
    }

    private void SchedulePublish()
        => _publishTimer ??= this.RegisterGrainTimer(
            () =>
            {
                Publish();
                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions(_options.PublishInterval, Timeout.InfiniteTimeSpan));

    private void Publish()
    {
        _publishTimer?.Dispose();
        _publishTimer = null;
        sink.Publish(state.State.ToSnapshot(_start, _end));
    }

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Funnel window {WindowStart:O} is final (watermark {Watermark:O}): {Views} views, {Carts} cart additions, {Purchases} purchases")]
    private static partial void LogFinal(ILogger logger, DateTimeOffset windowStart, DateTimeOffset watermark, long views, long carts, long purchases);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Information, Message = "Funnel window {WindowStart:O} was open: rebuilt from {Events} stored events of {Users} users")]
    private static partial void LogRebuilt(ILogger logger, DateTimeOffset windowStart, int events, int users);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Information, Message = "Funnel window {WindowStart:O} is final: {Late} late events not counted ({Total} so far)")]
    private static partial void LogLate(ILogger logger, DateTimeOffset windowStart, int late, long total);

    [LoggerMessage(EventId = 3404, Level = LogLevel.Warning, Message = "Funnel window {WindowStart:O}: could not write its final state ({ErrorType}: {Error}); it is tried again")]
    private static partial void LogWriteFailed(ILogger logger, DateTimeOffset windowStart, string errorType, string error);
}

/// <summary>Counters of the funnel windows (meter <c>Analytics.Grains</c>).</summary>
internal static class FunnelWindowMetrics
{
    public static readonly Counter<long> Counted = Users.UserGrainMetrics.Meter.CreateCounter<long>("analytics_funnel_events_counted", "{event}", "Events counted in funnel windows.");
    public static readonly Counter<long> Replayed = Users.UserGrainMetrics.Meter.CreateCounter<long>("analytics_funnel_events_replayed", "{event}", "Contributions ignored by funnel windows as counted already.");
    public static readonly Counter<long> Late = Users.UserGrainMetrics.Meter.CreateCounter<long>("analytics_funnel_events_late", "{event}", "Events that reached a final window: in its late events, not its counts.");
    public static readonly Counter<long> Opened = Users.UserGrainMetrics.Meter.CreateCounter<long>("analytics_funnel_windows_opened", "{window}", "Funnel windows opened.");
    public static readonly Counter<long> Finalised = Users.UserGrainMetrics.Meter.CreateCounter<long>("analytics_funnel_windows_finalised", "{window}", "Funnel windows made final by the watermark.");

    public static void Record(int counted, int replayed, int late)
    {
        if (counted > 0) Counted.Add(counted);
        if (replayed > 0) Replayed.Add(replayed);
        if (late > 0) Late.Add(late);
    }
}
