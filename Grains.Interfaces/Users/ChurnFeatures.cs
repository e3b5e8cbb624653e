namespace Analytics.Grains.Interfaces.Users;

/// <summary>
/// The churn model's input for one user: the behaviour totals plus time-based features measured at
/// <see cref="AsOf"/> (event time). The same events and the same <see cref="AsOf"/> always give the same features.
/// One row of <c>churn_features</c>; the property names map to its columns in snake_case.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.ChurnFeatures")]
public sealed record ChurnFeatures
{
    /// <summary>The span of each activity window of <see cref="EventsLast7Days"/> and <see cref="EventsPrevious7Days"/>.</summary>
    public static readonly TimeSpan TrendWindow = TimeSpan.FromDays(7);

    [Id(0)] public required string UserId { get; init; }

    /// <summary>The time the time-based features describe; never before <see cref="LastEventTime"/>.</summary>
    [Id(1)] public required DateTimeOffset AsOf { get; init; }

    [Id(2)] public long TotalViews { get; init; }

    [Id(3)] public long TotalAddToCarts { get; init; }

    [Id(4)] public long TotalPurchases { get; init; }

    [Id(5)] public long SessionCount { get; init; }

    [Id(6)] public double? AvgSessionSeconds { get; init; }

    [Id(7)] public double? AvgEventsPerSession { get; init; }

    [Id(8)] public DateTimeOffset? FirstEventTime { get; init; }

    [Id(9)] public DateTimeOffset? LastEventTime { get; init; }

    /// <summary><see cref="AsOf"/> − <see cref="LastEventTime"/>, in seconds; null for a user without events.</summary>
    [Id(10)] public double? SecondsSinceLastEvent { get; init; }

    [Id(11)] public decimal TotalSpend { get; init; }

    [Id(12)] public decimal? AvgOrderValue { get; init; }

    [Id(13)] public long DistinctProducts { get; init; }

    [Id(14)] public long DistinctCategories { get; init; }

    [Id(15)] public long CartAbandonments { get; init; }

    /// <summary>Purchases / cart additions; null without cart additions.</summary>
    [Id(16)] public double? CartToPurchaseRatio { get; init; }

    [Id(17)] public string? FavouriteCategory { get; init; }

    /// <summary>Events with an event time in (<see cref="AsOf"/> − 7 days, <see cref="AsOf"/>].</summary>
    [Id(18)] public long EventsLast7Days { get; init; }

    /// <summary>Events with an event time in (<see cref="AsOf"/> − 14 days, <see cref="AsOf"/> − 7 days].</summary>
    [Id(19)] public long EventsPrevious7Days { get; init; }

    /// <summary>(last 7 days − previous 7) / (last 7 days + previous 7), in [−1, 1]; 0 when both are 0.</summary>
    [Id(20)] public double ActivityTrend { get; init; }

    /// <summary>RFM recency: <see cref="SecondsSinceLastEvent"/> in days.</summary>
    [Id(21)] public double? RecencyDays { get; init; }

    /// <summary>RFM frequency: events per day since the first event (the span counts as at least one day).</summary>
    [Id(22)] public double FrequencyPerDay { get; init; }

    /// <summary>RFM monetary: the total spend.</summary>
    [Id(23)] public decimal Monetary { get; init; }
}
