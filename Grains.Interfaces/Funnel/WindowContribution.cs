using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Interfaces.Funnel;

/// <summary>One event's share of a window, as the user grain that applied it (once) hands it on.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.WindowContribution")]
public sealed record WindowContribution
{
    [Id(0)] public required string UserId { get; init; }

    [Id(1)] public required UserEventType EventType { get; init; }

    [Id(2)] public required string Category { get; init; }

    [Id(3)] public string? Device { get; init; }

    [Id(4)] public decimal Price { get; init; }

    [Id(5)] public required DateTimeOffset EventTime { get; init; }

    /// <summary>Kafka position (topic epoch, partition, offset), when the event came from Kafka.</summary>
    [Id(6)] public (int Epoch, int Partition, long Offset)? Position { get; init; }
}
