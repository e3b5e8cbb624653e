using System.Globalization;
using System.Text.Json;

namespace Analytics.Producer.Simulation;

/// <summary>
/// Writes the hidden truth as JSON lines, one object per user in user order:
/// <c>{"user_id","persona","churned","churn_time","churn_onset_time","first_event_time","last_event_time","sessions",
/// "views","add_to_carts","purchases","revenue"}</c>; times as in events (UTC, milliseconds), null when absent.
/// </summary>
public static class TruthFile
{
    /// <summary>Writes the lines to <paramref name="output"/> (left open, flushed).</summary>
    public static void Write(IEnumerable<UserTruth> truth, Stream output)
    {
        var buffered = new BufferedStream(output, 1 << 16);
        using var writer = new Utf8JsonWriter(buffered);
        foreach (var t in truth)
        {
            writer.Reset();
            writer.WriteStartObject();
            writer.WriteString("user_id", t.UserId);
            writer.WriteString("persona", t.Persona);
            writer.WriteBoolean("churned", t.Churned);
            WriteTime(writer, "churn_time", t.ChurnTime);
            WriteTime(writer, "churn_onset_time", t.ChurnOnsetTime);
            WriteTime(writer, "first_event_time", t.FirstEventTime);
            WriteTime(writer, "last_event_time", t.LastEventTime);
            writer.WriteNumber("sessions", t.Sessions);
            writer.WriteNumber("views", t.Views);
            writer.WriteNumber("add_to_carts", t.AddToCarts);
            writer.WriteNumber("purchases", t.Purchases);
            writer.WriteNumber("revenue", t.Revenue);
            writer.WriteEndObject();
            writer.Flush();
            buffered.WriteByte((byte)'\n');
        }

        // Not disposed: that would close the caller's stream.
        buffered.Flush();
    }

    public static void Write(IEnumerable<UserTruth> truth, string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        Write(truth, file);
    }

    /// <summary>Event times in the truth file use the event's wire format.</summary>
    public static string FormatTime(DateTimeOffset time)
        => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? time)
    {
        if (time is { } t) writer.WriteString(name, FormatTime(t));
        else writer.WriteNull(name);
    }
}
