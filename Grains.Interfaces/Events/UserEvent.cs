namespace Analytics.Grains.Interfaces.Events;

/// <summary>What a user did in the shop. The wire form is snake_case JSON (see <see cref="UserEventJson"/>).</summary>
public enum UserEventType
{
    /// <summary><c>view</c>: a product page was seen.</summary>
    View = 0,

    /// <summary><c>add_to_cart</c>: a product was put in the cart.</summary>
    AddToCart = 1,

    /// <summary><c>purchase</c>: a product was bought.</summary>
    Purchase = 2,
}

/// <summary>
/// One validated user event. Instances only come from <c>UserEventJson.TryParse</c> or from code that
/// upholds the same rules (the simulator), so consumers may rely on every invariant documented here.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.UserEvent")]
public sealed record UserEvent
{
    /// <summary>Unique id of the event; duplicates of one event share it. The simulator makes UUID v7.</summary>
    [Id(0)] public required Guid EventId { get; init; }

    /// <summary>1–128 characters.</summary>
    [Id(1)] public required string UserId { get; init; }

    [Id(2)] public required string SessionId { get; init; }

    [Id(3)] public required UserEventType EventType { get; init; }

    [Id(4)] public required string ProductId { get; init; }

    [Id(5)] public required string Category { get; init; }

    /// <summary>Never negative; strictly positive for cart additions and purchases.</summary>
    [Id(6)] public required decimal Price { get; init; }

    /// <summary>When it happened (event time), always with offset zero.</summary>
    [Id(7)] public required DateTimeOffset EventTime { get; init; }

    [Id(8)] public string? Device { get; init; }

    [Id(9)] public string? Channel { get; init; }
}
