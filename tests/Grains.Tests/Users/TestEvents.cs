using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Tests.Users;

/// <summary>Builds <see cref="UserEvent"/>s with readable, deterministic ids.</summary>
internal static class TestEvents
{
    public const string UserId = "user-1";

    /// <summary>A deterministic event id: <paramref name="n"/> in the first four bytes.</summary>
    public static Guid Id(int n) => new(n, 0, 0, [0, 0, 0, 0, 0, 0, 0, 1]);

    public static UserEvent Create(
        int id,
        string sessionId,
        UserEventType type,
        string productId,
        string category,
        decimal price,
        DateTimeOffset eventTime) => new()
        {
            EventId = Id(id),
            UserId = UserId,
            SessionId = sessionId,
            EventType = type,
            ProductId = productId,
            Category = category,
            Price = price,
            EventTime = eventTime,
        };

    /// <summary>A view at <paramref name="eventTime"/>, for tests where only the id and time matter.</summary>
    public static UserEvent View(int id, DateTimeOffset eventTime, string sessionId = "s-1")
        => Create(id, sessionId, UserEventType.View, $"p-{id % 7}", $"c-{id % 3}", 1.00m, eventTime);

    /// <summary>The same event under a new id, or a new event under an existing id.</summary>
    public static UserEvent WithId(this UserEvent userEvent, int id) => userEvent with { EventId = Id(id) };
}
