namespace Analytics.Grains.Interfaces.Funnel;

/// <summary>
/// How far one session (a user's <c>session_id</c>) got through the ordered funnel, as its user grain knows it now;
/// sent to the window of its first view whenever that changes. A newer <see cref="Version"/> replaces an older one.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.SessionProgress")]
public sealed record SessionProgress
{
    [Id(0)] public required string UserId { get; init; }

    [Id(1)] public required string SessionId { get; init; }

    /// <summary>The session's first view: the window it belongs to.</summary>
    [Id(2)] public required DateTimeOffset FirstView { get; init; }

    /// <summary>The first cart addition at or after the first view, if any.</summary>
    [Id(3)] public DateTimeOffset? Cart { get; init; }

    /// <summary>The first purchase at or after that cart addition, if any.</summary>
    [Id(4)] public DateTimeOffset? Purchase { get; init; }

    /// <summary>How many of the session's events its user grain had applied: grows with every event.</summary>
    [Id(5)] public required int Version { get; init; }

    /// <summary>The session no longer belongs to this window (an earlier view arrived, in another window).</summary>
    [Id(6)] public bool Withdrawn { get; init; }
}

/// <summary>
/// The ordered funnel of the sessions whose first view falls in a window: sessions that viewed, then added to the cart
/// after a view, then bought after that, with the time each step took.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.OrderedFunnel")]
public sealed record OrderedFunnel
{
    /// <summary>Sessions whose first view is in the window.</summary>
    [Id(0)] public long Sessions { get; init; }

    /// <summary>Of those, sessions that added to the cart at or after their first view.</summary>
    [Id(1)] public long Carted { get; init; }

    /// <summary>Of those, sessions that bought at or after that cart addition.</summary>
    [Id(2)] public long Purchased { get; init; }

    /// <summary>Median time from first view to cart (nearest rank), over carted sessions; null without any.</summary>
    [Id(3)] public double? ViewToCartMedianSeconds { get; init; }

    [Id(4)] public double? ViewToCartP90Seconds { get; init; }

    /// <summary>Median time from first view to purchase (nearest rank), over purchasing sessions; null without any.</summary>
    [Id(5)] public double? ViewToPurchaseMedianSeconds { get; init; }

    [Id(6)] public double? ViewToPurchaseP90Seconds { get; init; }

    /// <summary>True once the watermark passed the window's end plus the session timeout: it never changes again.</summary>
    [Id(7)] public bool IsFinal { get; init; }

    /// <summary>Carted / sessions; null without sessions.</summary>
    public double? CartConversion => Rate(Carted, Sessions);

    /// <summary>Purchased / carted; null without carted sessions.</summary>
    public double? PurchaseConversion => Rate(Purchased, Carted);

    /// <summary>Purchased / sessions; null without sessions.</summary>
    public double? OverallConversion => Rate(Purchased, Sessions);

    /// <summary>1 − cart conversion: sessions lost between view and cart.</summary>
    public double? CartDropOff => 1 - CartConversion;

    /// <summary>1 − purchase conversion: carted sessions lost before purchase.</summary>
    public double? PurchaseDropOff => 1 - PurchaseConversion;

    private static double? Rate(long numerator, long denominator) => denominator == 0 ? null : (double)numerator / denominator;
}
