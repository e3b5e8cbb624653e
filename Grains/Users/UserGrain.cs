using System.Diagnostics.Metrics;
using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Users;
using Analytics.Streaming.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;

namespace Analytics.Grains.Users;

/// <summary>
/// One user's behaviour and churn features, fed by the user's event stream (an implicit subscription, so every user
/// with an event gets a grain). Events are applied in memory and the state is written behind: when the Kafka stream
/// provider is about to commit offsets of this user's events it calls <see cref="PersistAsync"/> first (see
/// <c>UserStateCommitGate</c>), so a committed offset always has its effects in storage, and PostgreSQL is written at
/// most once per user per commit interval, not once per event. State is written on deactivation too.
/// </summary>
/// <remarks>
/// An activation can die with events it has not written (its silo is killed while the partition's reader lives on
/// elsewhere). The next activation tells: per partition it knows the offset its state was read at and the first
/// offset delivered to it since, and any of the user's deliveries in between went to the dead one. It then answers
/// <see cref="PersistAsync"/> with false, and the gate hands it those events again (<see cref="RecoverAsync"/>)
/// before anything is committed.
/// </remarks>
[ImplicitStreamSubscription(GrainConstants.UserEventsNamespace)]
public sealed partial class UserGrain(
    [PersistentState("user", GrainConstants.UserStorageName)] IPersistentState<UserState> state,
    IChurnFeatureSink featureSink,
    TimeProvider timeProvider,
    IOptions<UserGrainOptions> options,
    ILogger<UserGrain> logger) : Grain, IUserGrain, IAsyncObserver<UserEvent>
{
    private readonly DuplicateWindow _window = new(options.Value.DuplicateWindow, options.Value.DuplicateCapacity);
    // Per partition: the epoch and offset applied when this activation read its state (or last recovered), and the
    // epoch and first offset delivered to it.
    private readonly Dictionary<int, (int Epoch, long Offset)> _loaded = [];
    private readonly Dictionary<int, (int Epoch, long Offset)> _firstDelivered = [];
    private int _unpersisted;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var (partition, offset) in state.State.AppliedOffsets) _loaded[partition] = (state.State.PartitionEpochs.GetValueOrDefault(partition), offset);
        var stream = this.GetStreamProvider(GrainConstants.StreamProviderName)
            .GetStream<UserEvent>(StreamId.Create(GrainConstants.UserEventsNamespace, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(this);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unpersisted == 0) return;
        try
        {
            await WriteAsync();
        }
        catch (Exception ex)
        {
            // The offsets of these events were not committed (the commit waits for PersistAsync), so a restart
            // replays them; until then this user's state lacks them.
            LogDeactivationWriteFailed(logger, this.GetPrimaryKeyString(), _unpersisted, reason.ReasonCode.ToString(), ex);
        }
    }

    public Task OnNextAsync(UserEvent item, StreamSequenceToken? token = null)
    {
        var kafka = token as KafkaSequenceToken;
        var position = kafka is null ? ((int, long)?)null : (kafka.Partition, kafka.Offset);
        if (kafka is not null && (!_firstDelivered.TryGetValue(kafka.Partition, out var first) || first.Epoch != kafka.Epoch))
        {
            _firstDelivered[kafka.Partition] = (kafka.Epoch, kafka.Offset);
        }

        var outcome = state.State.Apply(item, position, _window, kafka?.Epoch ?? 0);
        UserGrainMetrics.Record(outcome);
        if (outcome != ApplyOutcome.Replayed) _unpersisted++;
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        LogStreamError(logger, this.GetPrimaryKeyString(), ex);
        return Task.CompletedTask;
    }

    public Task<UserSummary> GetSummaryAsync() => Task.FromResult(state.State.Behaviour.Summarize(this.GetPrimaryKeyString()));

    public Task<ChurnFeatures> GetFeaturesAsync(DateTimeOffset? asOf = null)
        => Task.FromResult(state.State.Behaviour.Features(this.GetPrimaryKeyString(), asOf ?? Now()));

    public async Task<bool> PersistAsync(DeliverySpan span)
    {
        if (Missed(span.Partition, span.Epoch, span.FirstOffset, span.LastOffset) is var (from, to))
        {
            LogMissed(logger, this.GetPrimaryKeyString(), span.Partition, from, to, Loaded(span.Partition, span.Epoch), FirstDelivered(span.Partition, span.Epoch));
            return false;
        }

        if (_unpersisted > 0) await WriteAsync();
        return true;
    }

    public async Task RecoverAsync(DeliverySpan span, IReadOnlyList<DeliveredUserEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var partition = span.Partition;
        if (Missed(partition, span.Epoch, span.FirstOffset, span.LastOffset) is var (from, to))
        {
            var recovered = 0;
            foreach (var (userEvent, offset) in events)
            {
                if (offset < from || offset > to) continue;
                if (state.State.ApplyMissed(userEvent, (partition, offset), _window, span.Epoch) == ApplyOutcome.Applied) recovered++;
            }

            _loaded[partition] = (span.Epoch, to);
            _unpersisted++;
            UserGrainMetrics.Recovered.Add(recovered);
            LogRecovered(logger, this.GetPrimaryKeyString(), recovered, partition, from, to);
        }

        if (_unpersisted > 0) await WriteAsync();
    }

    /// <summary>The part of <paramref name="first"/>..<paramref name="last"/> delivered to an earlier activation and not in the state it wrote.</summary>
    private (long From, long To)? Missed(int partition, int epoch, long first, long last)
    {
        var from = Math.Max(first, Loaded(partition, epoch) + 1);
        var firstDelivered = FirstDelivered(partition, epoch);
        var to = firstDelivered >= 0 ? Math.Min(last, firstDelivered - 1) : last;
        return from <= to ? (from, to) : null;
    }

    private long Loaded(int partition, int epoch)
        => _loaded.TryGetValue(partition, out var loaded) && loaded.Epoch == epoch ? loaded.Offset : -1;

    private long FirstDelivered(int partition, int epoch)
        => _firstDelivered.TryGetValue(partition, out var first) && first.Epoch == epoch ? first.Offset : -1;

    private async Task WriteAsync()
    {
        await state.WriteStateAsync();
        UserGrainMetrics.StateWrites.Add(1);
        _unpersisted = 0;
        featureSink.Publish(state.State.Behaviour.Features(this.GetPrimaryKeyString(), Now()));
    }

    // Whole milliseconds: as_of goes through PostgreSQL (microseconds) and must give the same features back.
    private DateTimeOffset Now()
    {
        var ticks = timeProvider.GetUtcNow().UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "User {UserId}: could not write the state of {Unpersisted} events on deactivation ({Reason}); their offsets stay uncommitted and a restart replays them")]
    private static partial void LogDeactivationWriteFailed(ILogger logger, string userId, int unpersisted, string reason, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "User {UserId}: deliveries at offsets {From}..{To} of partition {Partition} went to an earlier activation that did not write them; asking for them again (state read at {Loaded}, first delivery here {FirstDelivered})")]
    private static partial void LogMissed(ILogger logger, string userId, int partition, long from, long to, long loaded, long firstDelivered);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "User {UserId}: recovered {Recovered} events of partition {Partition} at offsets {From}..{To} lost with an earlier activation")]
    private static partial void LogRecovered(ILogger logger, string userId, int recovered, int partition, long from, long to);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "User {UserId}: stream error")]
    private static partial void LogStreamError(ILogger logger, string userId, Exception exception);
}

/// <summary>Counters of the user grains (meter <c>Analytics.Grains</c>).</summary>
internal static class UserGrainMetrics
{
    public static readonly Meter Meter = new("Analytics.Grains");
    public static readonly Counter<long> Applied = Meter.CreateCounter<long>("analytics_user_events_applied", "{event}", "Events applied to user grains.");
    public static readonly Counter<long> Replayed = Meter.CreateCounter<long>("analytics_user_events_replayed", "{event}", "Events ignored as replays (offset already applied).");
    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("analytics_user_events_duplicates", "{event}", "Events ignored as duplicates (event id seen recently).");
    public static readonly Counter<long> Recovered = Meter.CreateCounter<long>("analytics_user_events_recovered", "{event}", "Events applied again after the activation that had them died before writing them.");
    public static readonly Counter<long> StateWrites = Meter.CreateCounter<long>("analytics_user_state_writes", "{write}", "User grain states written to storage.");

    public static void Record(ApplyOutcome outcome)
    {
        switch (outcome)
        {
            case ApplyOutcome.Applied: Applied.Add(1); break;
            case ApplyOutcome.Replayed: Replayed.Add(1); break;
            case ApplyOutcome.Duplicate: Duplicates.Add(1); break;
        }
    }
}
