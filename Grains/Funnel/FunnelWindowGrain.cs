using System.Diagnostics.Metrics;
using Analytics.Grains.Interfaces.Funnel;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Grains.Funnel;

/// <summary>
/// The funnel of one event-time window (<see cref="FunnelWindowState"/>), fed by the user grains, finalised by the
/// watermark: at once when the watermark grain tells it, and in any case by its reminder, which checks the watermark
/// every <see cref="FunnelOptions.FinalisationCheckPeriod"/> until the window is final — the counts when the watermark
/// reaches its end, the ordered funnel when it reaches the end plus <see cref="FunnelOptions.SessionTimeout"/> —
/// whatever happened to this activation or its silo in between.
/// </summary>
/// <remarks>
/// <para>
/// Storage is written a few times in a window's life, not per event: when it opens (so that a later activation knows
/// it was open), when its counts and then its ordered funnel become final, and when late events arrive after that
/// (they exist nowhere else). What is still open is not stored: an activation rebuilds it from <c>raw_events</c>,
/// where every event is stored before any grain receives it. Contributions counted already are then recognised by
/// the user's Kafka position (events) or version (sessions) and ignored.
/// </para>
/// <para>
/// Changes go to <see cref="IFunnelWindowSink"/> (<c>funnel_summary</c> and live consumers) at most once per
/// <see cref="FunnelOptions.PublishInterval"/>, and at once when the window becomes final. The open ordered funnel in
/// them is computed again at most once per <see cref="FunnelOptions.OrderedRefreshInterval"/>.
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
    private DateTimeOffset _orderedEnd;
    private IGrainTimer? _publishTimer;
    private bool _finalUnwritten;

    // The open ordered funnel as last computed. Computing it walks and sorts every session of the window, so a
    // snapshot reuses it and it is computed again, when sessions changed, at most once per OrderedRefreshInterval
    // (and always for a read, a finalisation or a deactivation).
    private OrderedFunnel? _ordered;
    private bool _orderedStale;
    private long _orderedAtMs;
    private bool _countsChanged;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _start = FunnelWindowKey.StartOf(this.GetPrimaryKeyLong());
        var windowing = new FunnelWindowing(_options.WindowSize);
        if (!windowing.IsWindowStart(_start))
        {
            throw new InvalidOperationException($"{_start:O} is not the start of a {_options.WindowSize} window (Funnel:WindowSize).");
        }

        _end = windowing.EndOf(_start);
        _orderedEnd = _end + _options.SessionTimeout;
        if (state.State.IsOrderedFinal) return;

        var watermark = await WatchAsync(state.State.IsFinal ? _orderedEnd : _end);
        if (!state.RecordExists)
        {
            // A new window. If the watermark passed its end before its first event, it is final and empty: that event
            // is late (and likewise for the ordered funnel and its sessions).
            if (watermark is { } passed && passed >= _end) state.State.MarkFinal();
            if (watermark is { } beyond && beyond >= _orderedEnd) state.State.MarkOrderedFinal(_end, _options.SessionTimeout);
            await state.WriteStateAsync(cancellationToken);
            FunnelWindowMetrics.Opened.Add(1);
        }
        else
        {
            await RebuildAsync(cancellationToken);
        }

        if (state.State.IsOrderedFinal) return;
        await this.RegisterOrUpdateReminder(ReminderName, _options.FinalisationCheckPeriod, _options.FinalisationCheckPeriod, cancellationToken);
        if (watermark is { } reached) await FinaliseWhatIsDueAsync(reached);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_publishTimer is not null) Publish(freshOrdered: true);
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

    public async Task<WindowApplyResult> ApplyAsync(IReadOnlyList<WindowContribution> contributions, IReadOnlyList<SessionProgress> sessions)
    {
        ArgumentNullException.ThrowIfNull(contributions);
        ArgumentNullException.ThrowIfNull(sessions);
        // All or nothing: a batch with a stranger in it (a silo with another Funnel:WindowSize) changes nothing.
        if (sessions.FirstOrDefault(s => s.FirstView < _start || s.FirstView >= _end) is { } strangerSession)
        {
            throw new ArgumentException($"A session first viewed at {strangerSession.FirstView:O} does not belong to window [{_start:O}, {_end:O}).", nameof(sessions));
        }

        if (contributions.FirstOrDefault(c => c.EventTime < _start || c.EventTime >= _end) is { } stranger)
        {
            throw new ArgumentException($"An event at {stranger.EventTime:O} does not belong to window [{_start:O}, {_end:O}).", nameof(contributions));
        }

        var sessionsChanged = false;
        foreach (var session in sessions) sessionsChanged |= state.State.ApplySession(session);
        _orderedStale |= sessionsChanged;

        int counted = 0, replayed = 0, late = 0;
        foreach (var contribution in contributions)
        {
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
            _finalUnwritten = true;
            LogLate(logger, _start, late, state.State.LateEvents);
        }

        // Late events exist only here (a final window's counts are never rebuilt): written before the user grains move
        // on. If the write fails, the call fails and is retried; the retry (its events now replays) writes again.
        if (_finalUnwritten && state.State.IsFinal) await WriteFinalAsync();

        _countsChanged |= counted + late > 0;
        if (counted + late > 0 || sessionsChanged) SchedulePublish();
        return new WindowApplyResult(counted, replayed, late);
    }

    public Task<FunnelWindowSnapshot> GetAsync() => Task.FromResult(Snapshot(freshOrdered: true));

    public Task OnWatermarkAsync(DateTimeOffset watermark) => FinaliseWhatIsDueAsync(watermark);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ReminderName) return;
        if (!state.State.IsOrderedFinal)
        {
            var watermark = (await GrainFactory.GetGrain<IWatermarkGrain>(0).GetAsync()).Watermark;
            if (watermark is { } reached) await FinaliseWhatIsDueAsync(reached);
        }
        else if (_finalUnwritten)
        {
            await WriteFinalAsync();
        }
    }

    /// <summary>The counts are final at the window's end, the ordered funnel at the end plus the session timeout.</summary>
    private async Task FinaliseWhatIsDueAsync(DateTimeOffset watermark)
    {
        var changed = false;
        if (!state.State.IsFinal && watermark >= _end)
        {
            state.State.MarkFinal();
            LogFinal(logger, _start, watermark, state.State.Total.Views, state.State.Total.AddToCarts, state.State.Total.Purchases);
            FunnelWindowMetrics.Finalised.Add(1);
            changed = true;
        }

        if (state.State.IsFinal && !state.State.IsOrderedFinal && watermark >= _orderedEnd)
        {
            state.State.MarkOrderedFinal(_end, _options.SessionTimeout);
            var ordered = state.State.FinalOrdered!;
            LogOrderedFinal(logger, _start, watermark, ordered.Sessions, ordered.Carted, ordered.Purchased);
            changed = true;
        }

        if (!changed) return;
        _finalUnwritten = true;
        Publish(freshOrdered: true);
        try
        {
            await WriteFinalAsync();
            if (state.State.IsOrderedFinal) await UnregisterReminderAsync();
            else await WatchAsync(_orderedEnd);
        }
        catch (Exception ex)
        {
            // Final in memory (later events are late); the reminder writes it, or a new activation finalises it again.
            LogWriteFailed(logger, _start, ex.GetType().Name, ex.Message);
        }
    }

    private Task<DateTimeOffset?> WatchAsync(DateTimeOffset until)
        => GrainFactory.GetGrain<IWatermarkGrain>(0).WatchWindowAsync(this.GetPrimaryKeyLong(), until);

    private FunnelWindowSnapshot Snapshot(bool freshOrdered)
    {
        if (OrderedRefreshDue(freshOrdered))
        {
            _ordered = state.State.Ordered(_end, _options.SessionTimeout);
            _orderedStale = false;
            _orderedAtMs = Environment.TickCount64;
        }

        return state.State.ToSnapshot(_start, _end, _ordered);
    }

    /// <summary>Whether a snapshot taken now must compute the open ordered funnel again.</summary>
    private bool OrderedRefreshDue(bool freshOrdered)
    {
        // A final ordered funnel is kept in the state, exact: nothing is stale any more.
        if (state.State.IsOrderedFinal) return _orderedStale = false;
        return _ordered is null
            || (_orderedStale && (freshOrdered || Environment.TickCount64 - _orderedAtMs >= _options.OrderedRefreshInterval.TotalMilliseconds));
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

    /// <summary>
    /// An open window's counts, and a window's open ordered funnel, are not stored: they are rebuilt from raw_events.
    /// A final window keeps its stored counts and late events.
    /// </summary>
    private async Task RebuildAsync(CancellationToken cancellationToken)
    {
        var events = 0;
        if (!state.State.IsFinal)
        {
            var rebuilt = new FunnelWindowState();
            await foreach (var contribution in history.ReadAsync(_start, _end, cancellationToken))
            {
                rebuilt.Apply(contribution);
                events++;
            }

            state.State = rebuilt;
        }

        var sessions = new Dictionary<(string UserId, string SessionId), OrderedSession>();
        await foreach (var session in history.ReadSessionsAsync(_start, _end, cancellationToken))
        {
            sessions[(session.UserId, session.SessionId)] = new OrderedSession
            {
                FirstViewTicks = session.FirstView.UtcTicks,
                CartTicks = session.Cart?.UtcTicks,
                PurchaseTicks = session.Purchase?.UtcTicks,
                Version = session.Version,
            };
        }

        state.State.ReplaceSessions(sessions);
        _ordered = null;
        LogRebuilt(logger, _start, events, state.State.Users.Count, sessions.Count);
    }

    private void SchedulePublish()
        => _publishTimer ??= this.RegisterGrainTimer(
            () =>
            {
                Publish();
                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions(_options.PublishInterval, Timeout.InfiniteTimeSpan));

    private void Publish(bool freshOrdered = false)
    {
        _publishTimer?.Dispose();
        _publishTimer = null;
        if (_countsChanged || OrderedRefreshDue(freshOrdered) || freshOrdered)
        {
            sink.Publish(Snapshot(freshOrdered));
            _countsChanged = false;
        }

        // Sessions that changed since the ordered funnel was computed go out once it is due again (the timer keeps
        // the publish interval's pace, so that new counts are never held back by it): the last snapshot of a window
        // that went quiet is exact.
        if (_orderedStale) SchedulePublish();
    }

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Funnel window {WindowStart:O} is final (watermark {Watermark:O}): {Views} views, {Carts} cart additions, {Purchases} purchases")]
    private static partial void LogFinal(ILogger logger, DateTimeOffset windowStart, DateTimeOffset watermark, long views, long carts, long purchases);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Information, Message = "Funnel window {WindowStart:O} was open: rebuilt from {Events} stored events of {Users} users, and {Sessions} sessions")]
    private static partial void LogRebuilt(ILogger logger, DateTimeOffset windowStart, int events, int users, int sessions);

    [LoggerMessage(EventId = 3405, Level = LogLevel.Information, Message = "Funnel window {WindowStart:O}: the ordered funnel is final (watermark {Watermark:O}): {Sessions} sessions, {Carted} carted, {Purchased} purchased")]
    private static partial void LogOrderedFinal(ILogger logger, DateTimeOffset windowStart, DateTimeOffset watermark, long sessions, long carted, long purchased);

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
