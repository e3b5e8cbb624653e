namespace Analytics.Grains.Interfaces.Users;

/// <summary>
/// What one user did, over every event the pipeline has applied for them (each event once). Order-independent:
/// the same events give the same summary whatever order they arrived in.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.UserSummary")]
public sealed record UserSummary
{
    [Id(0)] public required string UserId { get; init; }

    /// <summary>Events applied: views + cart additions + purchases. Zero for a user the pipeline has never seen.</summary>
    [Id(1)] public long TotalEvents { get; init; }

    [Id(2)] public long Views { get; init; }

    [Id(3)] public long AddToCarts { get; init; }

    [Id(4)] public long Purchases { get; init; }

    /// <summary>Distinct <c>session_id</c>s.</summary>
    [Id(5)] public long Sessions { get; init; }

    /// <summary>Mean of each session's length (its last event time minus its first); null without sessions.</summary>
    [Id(6)] public double? AvgSessionSeconds { get; init; }

    /// <summary><see cref="TotalEvents"/> / <see cref="Sessions"/>; null without sessions.</summary>
    [Id(7)] public double? AvgEventsPerSession { get; init; }

    /// <summary>Earliest event time (a minimum, whatever the arrival order).</summary>
    [Id(8)] public DateTimeOffset? FirstEventTime { get; init; }

    /// <summary>Latest event time (a maximum, not the latest arrival).</summary>
    [Id(9)] public DateTimeOffset? LastEventTime { get; init; }

    /// <summary>Sum of the prices of the purchases.</summary>
    [Id(10)] public decimal TotalSpend { get; init; }

    /// <summary><see cref="TotalSpend"/> / <see cref="Purchases"/>; null without purchases.</summary>
    [Id(11)] public decimal? AvgOrderValue { get; init; }

    /// <summary>Distinct <c>product_id</c>s over all event types.</summary>
    [Id(12)] public long DistinctProducts { get; init; }

    /// <summary>Distinct categories over all event types.</summary>
    [Id(13)] public long DistinctCategories { get; init; }

    /// <summary>Sessions with at least one cart addition and no purchase: abandoned carts.</summary>
    [Id(14)] public long CartAbandonments { get; init; }

    /// <summary>The category with the most events; ties go to the first name in ordinal order. Null without events.</summary>
    [Id(15)] public string? FavouriteCategory { get; init; }

    /// <summary>True once at least one event was applied.</summary>
    public bool IsKnown => TotalEvents > 0;
}
