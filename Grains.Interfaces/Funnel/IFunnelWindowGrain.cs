using Orleans.Concurrency;

namespace Analytics.Grains.Interfaces.Funnel;

/// <summary>
/// The funnel of one tumbling event-time window (key: the window start, Unix milliseconds, see
/// <see cref="FunnelWindowKey"/>). User grains feed it the events they apply, exactly once; the watermark finalises it.
/// </summary>
[Alias("Analytics.IFunnelWindowGrain")]
public interface IFunnelWindowGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Counts <paramref name="contributions"/> (all of this window) unless they were counted already (a replay, by the
    /// user's Kafka position); once the window is final they only add to its late events. Returns when that is durable
    /// enough: a non-final window can be rebuilt from <c>raw_events</c>, a final one has written its late events.
    /// <para>With them, the progress of sessions whose first view is in this window (<see cref="SessionProgress"/>).</para>
    /// </summary>
    [Alias("Apply")]
    Task<WindowApplyResult> ApplyAsync(IReadOnlyList<WindowContribution> contributions, IReadOnlyList<SessionProgress> sessions);

    /// <summary>The window's funnel now.</summary>
    [Alias("Get")]
    Task<FunnelWindowSnapshot> GetAsync();

    /// <summary>The watermark moved to <paramref name="watermark"/>: finalise what it made final (the counts at the window's end, the ordered funnel at the end plus the session timeout).</summary>
    [Alias("OnWatermark")]
    [OneWay]
    Task OnWatermarkAsync(DateTimeOffset watermark);
}

/// <summary>Window grain keys: a window's start as Unix milliseconds.</summary>
public static class FunnelWindowKey
{
    public static long Of(DateTimeOffset windowStart) => windowStart.ToUnixTimeMilliseconds();

    public static DateTimeOffset StartOf(long key) => DateTimeOffset.FromUnixTimeMilliseconds(key);
}

/// <summary>What a window did with one batch of contributions.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.WindowApplyResult")]
public readonly record struct WindowApplyResult(
    [property: Id(0)] int Counted,
    [property: Id(1)] int Replayed,
    [property: Id(2)] int Late);

/// <summary>One funnel: events per step, distinct users per step, revenue, and the conversion rates between steps.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.FunnelStepCounts")]
public sealed record FunnelStepCounts
{
    [Id(0)] public long Views { get; init; }

    [Id(1)] public long AddToCarts { get; init; }

    [Id(2)] public long Purchases { get; init; }

    [Id(3)] public decimal Revenue { get; init; }

    [Id(4)] public long UniqueViewers { get; init; }

    [Id(5)] public long UniqueCarters { get; init; }

    [Id(6)] public long UniquePurchasers { get; init; }

    /// <summary>Cart additions per view (event counts, as the original design's aggregator); null without views.</summary>
    public double? CartRate => Rate(AddToCarts, Views);

    /// <summary>Purchases per cart addition; null without cart additions.</summary>
    public double? PurchaseRate => Rate(Purchases, AddToCarts);

    /// <summary>Purchases per view; null without views.</summary>
    public double? ConversionRate => Rate(Purchases, Views);

    private static double? Rate(long numerator, long denominator) => denominator == 0 ? null : (double)numerator / denominator;
}

/// <summary>A window's funnel, overall and broken down by category and by device, with its late events and whether it is final.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.FunnelWindowSnapshot")]
public sealed record FunnelWindowSnapshot
{
    [Id(0)] public required DateTimeOffset WindowStart { get; init; }

    [Id(1)] public required DateTimeOffset WindowEnd { get; init; }

    [Id(2)] public required FunnelStepCounts Total { get; init; }

    [Id(3)] public required IReadOnlyDictionary<string, FunnelStepCounts> ByCategory { get; init; }

    [Id(4)] public required IReadOnlyDictionary<string, FunnelStepCounts> ByDevice { get; init; }

    /// <summary>Events that arrived after the window was final: not in the counts.</summary>
    [Id(5)] public long LateEvents { get; init; }

    [Id(6)] public bool IsFinal { get; init; }

    /// <summary>Distinct users with an event in the window.</summary>
    [Id(7)] public long Users { get; init; }

    /// <summary>The ordered funnel of the sessions whose first view is in the window.</summary>
    [Id(8)] public OrderedFunnel Ordered { get; init; } = new();
}
