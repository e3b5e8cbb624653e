using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Interfaces.Users;

/// <summary>A user event and where it sits in Kafka: the topic's epoch, the partition and the offset.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.PositionedUserEvent")]
public readonly record struct PositionedUserEvent(
    [property: Id(0)] UserEvent Event, [property: Id(1)] int Epoch, [property: Id(2)] int Partition, [property: Id(3)] long Offset);

/// <summary>Events of one user, in log order (offset order within each partition), as a user grain takes them.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.UserEventBatch")]
public sealed class UserEventBatch(PositionedUserEvent[] events)
{
    [Id(0)]
    public PositionedUserEvent[] Events { get; } = events ?? throw new ArgumentNullException(nameof(events));
}
