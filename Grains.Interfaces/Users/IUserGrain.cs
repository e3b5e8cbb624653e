namespace Analytics.Grains.Interfaces.Users;

/// <summary>
/// One shop user (key: <c>user_id</c>). It is handed the user's events read from Kafka (<see cref="ApplyAsync"/>),
/// applies each exactly once and keeps its behaviour and churn features in grain storage. An idle grain deactivates and comes back
/// from storage (and the events stored since) on the next event or call.
/// </summary>
[Alias("Analytics.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>
    /// Applies the user's events (all of this user), dropping those it applied before (by Kafka position) and
    /// duplicates (by event id). Returns once their funnel windows have them, so the caller may let Kafka commit them.
    /// </summary>
    [Alias("Apply")]
    Task ApplyAsync(UserEventBatch batch);

    /// <summary>The user's behaviour so far (all zero for a user never seen).</summary>
    [Alias("GetSummary")]
    Task<UserSummary> GetSummaryAsync();

    /// <summary>
    /// The churn features as of <paramref name="asOf"/> (event time; now when null). A time before the user's last
    /// event is moved up to it: a live aggregate cannot describe its own past.
    /// </summary>
    [Alias("GetFeatures")]
    Task<ChurnFeatures> GetFeaturesAsync(DateTimeOffset? asOf = null);
}
