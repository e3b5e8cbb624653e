using Analytics.Grains.Interfaces.Events;
using Npgsql;

namespace Analytics.Storage;

/// <summary>The columns of one event in <c>raw_events</c>, read back as the <see cref="UserEvent"/> that was stored.</summary>
internal static class RawEventColumns
{
    /// <summary>Select these first, in this order, to read rows with <see cref="ReadEvent"/>.</summary>
    public const string Select = "event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel";

    /// <summary>The event in columns 0 to 9 of the current row (<see cref="Select"/>).</summary>
    public static UserEvent ReadEvent(NpgsqlDataReader reader)
    {
        var wireType = reader.GetString(3);
        if (!UserEventJson.TryParseEventType(wireType, out var type))
        {
            throw new InvalidOperationException($"raw_events holds an unknown event_type '{wireType}' for event {reader.GetGuid(0)}.");
        }

        return new UserEvent
        {
            EventId = reader.GetGuid(0),
            UserId = reader.GetString(1),
            SessionId = reader.GetString(2),
            EventType = type,
            ProductId = reader.GetString(4),
            Category = reader.GetString(5),
            Price = reader.GetDecimal(6),
            EventTime = new DateTimeOffset(reader.GetFieldValue<DateTime>(7), TimeSpan.Zero),
            Device = reader.IsDBNull(8) ? null : reader.GetString(8),
            Channel = reader.IsDBNull(9) ? null : reader.GetString(9),
        };
    }
}
