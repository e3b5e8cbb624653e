namespace Analytics.Grains.Interfaces.Funnel;

/// <summary>
/// The pipeline's event-time watermark (a single grain, key 0): fed with the highest event time of each stored pull per
/// Kafka partition, it keeps the watermark that decides when funnel windows are final. Its state survives restarts.
/// </summary>
[Alias("Analytics.IWatermarkGrain")]
public interface IWatermarkGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Records the highest event time newly seen per partition (processing time is the grain's now) of a topic of
    /// <paramref name="partitionCount"/> partitions, and moves the watermark. A partition not reported yet holds it back.
    /// </summary>
    [Alias("Observe")]
    Task<WatermarkSnapshot> ObserveAsync(int partitionCount, IReadOnlyList<PartitionEventTime> observations);

    /// <summary>
    /// An open window asks to be told (<see cref="IFunnelWindowGrain.OnWatermarkAsync"/>) as soon as the watermark reaches
    /// <paramref name="windowEnd"/>; returns the watermark now. Kept in memory only: the window's reminder is the guarantee.
    /// </summary>
    [Alias("WatchWindow")]
    Task<DateTimeOffset?> WatchWindowAsync(long windowKey, DateTimeOffset windowEnd);

    /// <summary>The watermark and what it is made of.</summary>
    [Alias("Get")]
    Task<WatermarkSnapshot> GetAsync();
}

/// <summary>The highest event time seen in one Kafka partition.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.PartitionEventTime")]
public readonly record struct PartitionEventTime([property: Id(0)] int Partition, [property: Id(1)] DateTimeOffset MaxEventTime);

/// <summary>The watermark (null before any event) and, per partition, the highest event time seen and whether it is active.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.WatermarkSnapshot")]
public sealed record WatermarkSnapshot
{
    [Id(0)] public DateTimeOffset? Watermark { get; init; }

    [Id(1)] public required IReadOnlyList<PartitionEventTime> Partitions { get; init; }

    /// <summary>
    /// The partitions that hold the watermark back now: heard from within the idle timeout (or the watermark's owner
    /// started less than that ago), and partitions of the topic not heard from yet.
    /// </summary>
    [Id(2)] public required IReadOnlyList<int> ActivePartitions { get; init; }
}
