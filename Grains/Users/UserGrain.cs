using System.Diagnostics.Metrics;
using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Grains.Interfaces.Users;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Analytics.Grains.Users;

/// <summary>
/// One user's behaviour and churn features, fed with the user's events by <see cref="PartitionEventsGrain"/> (so every
/// user with an event gets a grain). Events are applied in memory, exactly once (<see cref="UserState"/>).
/// </summary>
/// <remarks>
/// <para>
/// Durability is event-sourced: every event is in <c>raw_events</c> (stored before any grain receives it, and before
/// its Kafka offset can be committed), and the grain's stored state is a snapshot that says which events it holds
/// (the highest offset applied per topic epoch and partition). On activation the grain reads the snapshot, then the
/// user's events stored beyond it (<see cref="IUserEventHistory"/>), so it always starts from every event stored so
/// far; deliveries at or below what it applied are replays and are dropped. Whatever happened before — a silo killed
/// with unwritten state, a partition replayed from its last commit, an idle deactivation — the result is the same as if
/// nothing had: the snapshot plus the stored events plus the replay from the committed offset.
/// </para>
/// <para>
/// So PostgreSQL is not written per event: the snapshot is written every <see cref="UserGrainOptions.SnapshotEvents"/>
/// events and on deactivation (ADO.NET grain storage), and the features go to <c>churn_features</c> through the
/// silo's batching writer, which upserts the latest per user every <see cref="UserGrainOptions.FeatureFlushInterval"/>.
/// </para>
/// <para>
/// Every event applied here, and only those (so never a duplicate or a replay), goes on to its funnel window
/// (<see cref="IFunnelContributions"/>), and delivery returns only once the window has it: what Kafka commits and what
/// the watermark counts as seen is always in the windows. If a window cannot be reached, this activation stops
/// writing snapshots and deactivates; the next one re-applies, from raw_events, everything after the last snapshot —
/// which the windows take again, ignoring what they counted already.
/// </para>
/// </remarks>
public sealed partial class UserGrain(
    [PersistentState("user", GrainConstants.UserStorageName)] IPersistentState<UserState> state,
    IUserEventHistory history,
    IChurnFeatureSink featureSink,
    IFunnelContributions funnel,
    TimeProvider timeProvider,
    IOptions<UserGrainOptions> options,
    IOptions<FunnelOptions> funnelOptions,
    ILogger<UserGrain> logger) : Grain, IUserGrain
{
    private readonly UserGrainOptions _options = options.Value;
    private readonly DuplicateWindow _window = new(options.Value.DuplicateWindow, options.Value.DuplicateCapacity);
    private readonly FunnelWindowing _windowing = new(funnelOptions.Value.WindowSize);
    private string? _userId;
    private int _unpersisted;
    private int _nextSnapshotAt = options.Value.SnapshotEvents;

    // Orleans keeps the key as UTF-8 bytes: GetPrimaryKeyString decodes a new string on every call, and the id is wanted
    // for every event.
    private string UserId => _userId ??= this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken) => CatchUpAsync(cancellationToken);

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unpersisted == 0 || _nextSnapshotAt == int.MaxValue) return;
        try
        {
            await WriteAsync();
        }
        catch (Exception ex)
        {
            // Nothing is lost: the events are in raw_events, and the next activation reads them back.
            LogDeactivationWriteFailed(logger, UserId, _unpersisted, reason.ReasonCode.ToString(), ex);
        }
    }

    public async Task ApplyAsync(UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var contributions = new List<WindowContribution>();
        var sessions = new List<SessionProgress>();
        int replayed = 0, duplicates = 0;
        foreach (var (item, epoch, partition, offset) in batch.Events)
        {
            switch (Apply(item, epoch, partition, offset, contributions, sessions))
            {
                case ApplyOutcome.Replayed: replayed++; break;
                case ApplyOutcome.Duplicate: duplicates++; break;
            }
        }

        var applied = contributions.Count;
        UserGrainMetrics.Record(applied, replayed, duplicates);
        if (applied + duplicates == 0) return;
        if (applied > 0)
        {
            try
            {
                await funnel.ContributeAsync(contributions, sessions);
            }
            catch (Exception ex)
            {
                // Applied here but maybe not in their windows: no snapshot may claim them, so this activation goes away
                // and the next one applies them again from raw_events, and hands them on again.
                LogWindowUnreachable(logger, UserId, ex.GetType().Name, ex.Message);
                _nextSnapshotAt = int.MaxValue;
                this.DeactivateOnIdle();
                return;
            }
        }

        _unpersisted += applied + duplicates;
        if (applied > 0) Publish();
        if (_unpersisted >= _nextSnapshotAt) await TrySnapshotAsync();
    }

    public Task<UserSummary> GetSummaryAsync()
    {
        var summary = state.State.Behaviour.Summarize(UserId);
        if (summary.FirstEventTime is null) DeactivateOnIdle();
        return Task.FromResult(summary);
    }

    public Task<ChurnFeatures> GetFeaturesAsync(DateTimeOffset? asOf = null)
    {
        var features = state.State.Behaviour.Features(UserId, asOf ?? Now());
        // A lookup of a user never seen (an unknown id at /predict) leaves no activation behind for the idle timeout.
        if (features.FirstEventTime is null) DeactivateOnIdle();
        return Task.FromResult(features);
    }

    /// <summary>Applies the user's stored events that the snapshot does not hold (written since, or lost with a dead activation).</summary>
    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        var missed = await history.ReadUnappliedAsync(UserId, state.State.AppliedOffsets, cancellationToken);
        if (missed.Count == 0)
        {
            // The snapshot can hold events whose features never reached churn_features: a silo that dies takes its
            // writer's unflushed batch with it. Publishing once per activation closes that gap (found by the cluster
            // fault test: a user's row stayed 2 events short after a silo was killed).
            if (state.State.Behaviour.TotalEvents > 0) Publish();
            return;
        }
        var contributions = new List<WindowContribution>();
        var sessions = new List<SessionProgress>();
        foreach (var (userEvent, epoch, partition, offset) in missed) Apply(userEvent, epoch, partition, offset, contributions, sessions);

        // If the windows cannot take them, the activation fails before any snapshot could claim these events.
        await funnel.ContributeAsync(contributions, sessions, cancellationToken);
        var applied = contributions.Count;

        _unpersisted += missed.Count;
        UserGrainMetrics.CaughtUp.Add(applied);
        LogCaughtUp(logger, UserId, applied, missed.Count);
        Publish();
    }

    /// <summary>
    /// Applies one event at its Kafka position; if it is new, adds its window contribution and what its session's
    /// progress changed to what the windows must be handed.
    /// </summary>
    private ApplyOutcome Apply(
        UserEvent userEvent, int epoch, int partition, long offset, List<WindowContribution> contributions, List<SessionProgress> sessions)
    {
        var stepsBefore = OrderedSteps(userEvent.SessionId);
        var outcome = state.State.Apply(userEvent, (partition, offset), _window, epoch);
        if (outcome == ApplyOutcome.Applied)
        {
            contributions.Add(Contribution(userEvent, (epoch, partition, offset)));
            sessions.AddRange(SessionChanges(userEvent.SessionId, stepsBefore));
        }

        return outcome;
    }

    /// <summary>
    /// Writes a snapshot, never failing the delivery: the events are durable in raw_events, so a snapshot that cannot
    /// be written now is only tried again later (after another <see cref="UserGrainOptions.SnapshotEvents"/>).
    /// </summary>
    private async Task TrySnapshotAsync()
    {
        try
        {
            await WriteAsync();
        }
        catch (InconsistentStateException ex)
        {
            // Another activation of this user wrote since this one read (two can coexist briefly when a silo dies):
            // this one steps aside; the next reads the newer snapshot and the stored events, which include ours.
            LogSnapshotConflict(logger, UserId, ex.Message);
            this.DeactivateOnIdle();
            _nextSnapshotAt = int.MaxValue;
        }
        catch (Exception ex)
        {
            LogSnapshotFailed(logger, UserId, _unpersisted, ex.GetType().Name, ex.Message);
            _nextSnapshotAt = _unpersisted + _options.SnapshotEvents;
        }
    }

    private async Task WriteAsync()
    {
        await state.WriteStateAsync();
        UserGrainMetrics.StateWrites.Add(1);
        _unpersisted = 0;
        _nextSnapshotAt = _options.SnapshotEvents;
    }

    // The features change with every event. They go to the silo's writer with every delivery that changed them (it
    // keeps the latest per user for its next upsert): computing them costs less than the grain timer that used to
    // defer them — a timer per user, registered, fired as a turn of its own and disposed, was 5 % of the silo at
    // 10,000 events/s, where a user sees an event every 2 s.
    private void Publish() => featureSink.Publish(state.State.Behaviour.Features(UserId, Now()));

    private (long FirstView, long? Cart, long? Purchase)? OrderedSteps(string sessionId)
        => state.State.Behaviour.Sessions.TryGetValue(sessionId, out var session) ? session.OrderedSteps() : null;

    /// <summary>What the windows must hear after an event of <paramref name="sessionId"/> (<see cref="Funnel.SessionChanges"/>).</summary>
    private List<SessionProgress> SessionChanges(string sessionId, (long FirstView, long? Cart, long? Purchase)? before)
        => Funnel.SessionChanges.Between(
            UserId, sessionId, before, OrderedSteps(sessionId), state.State.Behaviour.Sessions[sessionId].Events, _windowing);

    private WindowContribution Contribution(UserEvent userEvent, (int Epoch, int Partition, long Offset)? position) => new()
    {
        UserId = UserId,
        EventType = userEvent.EventType,
        Category = userEvent.Category,
        Device = userEvent.Device,
        Price = userEvent.Price,
        EventTime = userEvent.EventTime,
        Position = position,
    };

    // Whole milliseconds: as_of goes through PostgreSQL (microseconds) and must give the same features back.
    private DateTimeOffset Now()
    {
        var ticks = timeProvider.GetUtcNow().UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "User {UserId}: could not write the state of {Unpersisted} events on deactivation ({Reason}); nothing is lost, the next activation reads them back from raw_events")]
    private static partial void LogDeactivationWriteFailed(ILogger logger, string userId, int unpersisted, string reason, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "User {UserId}: could not write a snapshot after {Unpersisted} events ({ErrorType}: {Error}); nothing is lost (the events are in raw_events), it is tried again later")]
    private static partial void LogSnapshotFailed(ILogger logger, string userId, int unpersisted, string errorType, string error);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "User {UserId}: another activation wrote this user's state ({Error}); this one deactivates and the next reads the newer state and the stored events")]
    private static partial void LogSnapshotConflict(ILogger logger, string userId, string error);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "User {UserId}: its funnel window did not take an event ({ErrorType}: {Error}); this activation deactivates without a snapshot and the next one hands the events on again from raw_events")]
    private static partial void LogWindowUnreachable(ILogger logger, string userId, string errorType, string error);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "User {UserId}: applied {Applied} of {Stored} stored events beyond the state it read")]
    private static partial void LogCaughtUp(ILogger logger, string userId, int applied, int stored);
}

/// <summary>Counters of the user grains (meter <c>Analytics.Grains</c>).</summary>
internal static class UserGrainMetrics
{
    public static readonly Meter Meter = new("Analytics.Grains");
    public static readonly Counter<long> Applied = Meter.CreateCounter<long>("analytics_user_events_applied", "{event}", "Events applied to user grains from their streams.");
    public static readonly Counter<long> Replayed = Meter.CreateCounter<long>("analytics_user_events_replayed", "{event}", "Events ignored as replays (offset already applied).");
    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("analytics_user_events_duplicates", "{event}", "Events ignored as duplicates (event id seen recently).");
    public static readonly Counter<long> CaughtUp = Meter.CreateCounter<long>("analytics_user_events_caught_up", "{event}", "Events applied on activation from raw_events, beyond the stored state.");
    public static readonly Counter<long> StateWrites = Meter.CreateCounter<long>("analytics_user_state_writes", "{write}", "User grain states written to storage.");

    public static void Record(int applied, int replayed, int duplicates)
    {
        if (applied > 0) Applied.Add(applied);
        if (replayed > 0) Replayed.Add(replayed);
        if (duplicates > 0) Duplicates.Add(duplicates);
    }
}
