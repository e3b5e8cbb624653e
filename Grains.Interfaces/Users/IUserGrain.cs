using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Interfaces.Users;

/// <summary>
/// One shop user (key: <c>user_id</c>). It subscribes implicitly to the user's event stream, applies each event
/// exactly once and keeps its behaviour and churn features in grain storage.
/// </summary>
[Alias("Analytics.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>The user's behaviour so far (all zero for a user never seen).</summary>
    [Alias("GetSummary")]
    Task<UserSummary> GetSummaryAsync();

    /// <summary>
    /// The churn features as of <paramref name="asOf"/> (event time; now when null). A time before the user's last
    /// event is moved up to it: a live aggregate cannot describe its own past.
    /// </summary>
    [Alias("GetFeatures")]
    Task<ChurnFeatures> GetFeaturesAsync(DateTimeOffset? asOf = null);

    /// <summary>
    /// Makes everything applied so far durable: writes the state if it changed (and queues the features for
    /// <c>churn_features</c>). The stream provider's commit gate calls it before it commits the offsets of the user's
    /// events; <paramref name="span"/> is where this user's deliveries since the last commit lie.
    /// </summary>
    /// <returns>
    /// False, without writing, when part of that span was delivered to an earlier activation that died (or was
    /// deactivated) before it wrote them: call <see cref="RecoverAsync"/> with the span's events.
    /// </returns>
    [Alias("Persist")]
    Task<bool> PersistAsync(DeliverySpan span);

    /// <summary>
    /// Applies the events of <paramref name="span"/> that this activation missed (see <see cref="PersistAsync"/>; the
    /// others are ignored), then writes the state.
    /// </summary>
    [Alias("Recover")]
    Task RecoverAsync(DeliverySpan span, IReadOnlyList<DeliveredUserEvent> events);
}

/// <summary>Where one user's deliveries from one Kafka partition lie: offsets <see cref="FirstOffset"/>..<see cref="LastOffset"/> of the topic's incarnation <see cref="Epoch"/>.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.DeliverySpan")]
public readonly record struct DeliverySpan(
    [property: Id(0)] int Partition, [property: Id(1)] int Epoch, [property: Id(2)] long FirstOffset, [property: Id(3)] long LastOffset);

/// <summary>A user event and the Kafka offset it was delivered from.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.DeliveredUserEvent")]
public readonly record struct DeliveredUserEvent([property: Id(0)] UserEvent Event, [property: Id(1)] long Offset);
