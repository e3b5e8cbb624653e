namespace Analytics.Grains.Users;

/// <summary>Settings of the user grains (section <c>Users</c>).</summary>
public sealed class UserGrainOptions
{
    public const string SectionName = "Users";

    /// <summary>Event ids are remembered (to drop duplicates) while they are less than this much older than the user's latest event.</summary>
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>At most this many event ids are remembered per user.</summary>
    public int DuplicateCapacity { get; set; } = 256;

    /// <summary>
    /// A user grain writes its state after this many new events (and when it deactivates). Events are durable in
    /// raw_events anyway; this bounds how many an activation reads back from there.
    /// </summary>
    public int SnapshotEvents { get; set; } = 100;

    /// <summary>A user grain that received no event or call for this long is deactivated (its state is in storage).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a user's changed features wait before they go to the silo's writer, and how often each silo upserts them into <c>churn_features</c>.</summary>
    public TimeSpan FeatureFlushInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long after a silo is declared dead (and after start-up) the oldest silo looks for users whose
    /// <c>churn_features</c> row is behind their stored events and re-activates their grains, which write it again: the
    /// dead silo's writer may have held rows it never wrote. Long enough for the survivors' own writes to land.
    /// </summary>
    public TimeSpan ReconcileDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Users with events ingested within this span before the death (or start-up), counted from the newest such ingestion, are the ones checked.</summary>
    public TimeSpan ReconcileLookback { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most this many users are re-activated per check (the rest wait for the next one).</summary>
    public int ReconcileLimit { get; set; } = 100_000;

    /// <summary>At most this many rows per upsert statement.</summary>
    public int FeatureBatchSize { get; set; } = 5_000;
}
