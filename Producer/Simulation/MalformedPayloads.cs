using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.Producer.Simulation;

/// <summary>The ways a generated payload breaks the contract (each one refused by <see cref="UserEventJson.TryParse(ReadOnlySpan{byte}, DateTimeOffset, out UserEvent?, out EventRejection?)"/>).</summary>
public enum MalformedKind
{
    /// <summary>A valid payload cut short: invalid JSON.</summary>
    TruncatedJson,

    /// <summary>Well-formed JSON that is not an object (array, text, null, number).</summary>
    NotAnObject,

    /// <summary>A required field left out.</summary>
    MissingField,

    /// <summary>A required string field empty or blank.</summary>
    BlankField,

    /// <summary><c>event_type</c> outside view, add_to_cart, purchase.</summary>
    UnknownEventType,

    /// <summary>A price below zero.</summary>
    NegativePrice,

    /// <summary>A cart addition or purchase at price 0.</summary>
    ZeroPrice,

    /// <summary>A price above the contract's maximum.</summary>
    AbsurdPrice,

    /// <summary><c>event_time</c> a century in the future.</summary>
    FutureTimestamp,

    /// <summary><c>event_time</c> before the year 2000.</summary>
    PastTimestamp,

    /// <summary><c>event_time</c> without a UTC offset.</summary>
    TimestampWithoutOffset,

    /// <summary>A field of the wrong JSON type (price as a string, user_id as a number…).</summary>
    WrongJsonType,

    /// <summary><c>event_id</c> that is not a UUID (or the empty UUID).</summary>
    InvalidEventId,

    /// <summary>An id or label longer than the contract allows.</summary>
    FieldTooLong,
}

/// <summary>Writes payloads that the contract must refuse, built from a real event so that they look plausible.</summary>
public static class MalformedPayloads
{
    private static readonly MalformedKind[] Kinds = Enum.GetValues<MalformedKind>();
    private static readonly string[] RequiredFields = ["event_id", "user_id", "session_id", "event_type", "product_id", "category", "price", "event_time"];
    private static readonly string[] StringFields = ["event_id", "user_id", "session_id", "event_type", "product_id", "category", "event_time"];
    private static readonly string[] UnknownTypes = ["click", "checkout", "VIEW", "add-to-cart", "refund", "wishlist"];

    /// <summary>A kind drawn uniformly.</summary>
    public static MalformedKind PickKind(RandomSource random) => Kinds[random.NextInt(Kinds.Length)];

    /// <summary>Writes one malformed payload of the given kind, derived from <paramref name="source"/>. Never contains a newline.</summary>
    public static void Write(MalformedKind kind, UserEvent source, RandomSource random, ArrayBufferWriter<byte> output)
    {
        switch (kind)
        {
            case MalformedKind.TruncatedJson:
            {
                var scratch = new ArrayBufferWriter<byte>(512);
                UserEventJson.Write(source, scratch);
                // Any proper prefix of an object lacks its closing brace, so it is never valid JSON.
                var cut = 1 + random.NextInt(scratch.WrittenCount - 1);
                output.Write(scratch.WrittenSpan[..cut]);
                return;
            }

            case MalformedKind.NotAnObject:
                WriteNotAnObject(source, random, output);
                return;
        }

        using var w = new Utf8JsonWriter(output);
        var missing = kind == MalformedKind.MissingField ? RequiredFields[random.NextInt(RequiredFields.Length)] : null;
        var blank = kind == MalformedKind.BlankField ? StringFields[random.NextInt(StringFields.Length)] : null;
        var wrongType = kind == MalformedKind.WrongJsonType ? RequiredFields[random.NextInt(RequiredFields.Length)] : null;
        var tooLong = kind == MalformedKind.FieldTooLong ? random.NextInt(3) : -1;
        var eventType = kind switch
        {
            MalformedKind.UnknownEventType => UnknownTypes[random.NextInt(UnknownTypes.Length)],
            MalformedKind.ZeroPrice => random.NextInt(2) == 0 ? "purchase" : "add_to_cart",
            _ => source.EventType.ToWireName(),
        };
        var price = kind switch
        {
            MalformedKind.NegativePrice => -source.Price,
            MalformedKind.ZeroPrice => 0m,
            MalformedKind.AbsurdPrice => UserEventJson.MaxPrice * (2 + random.NextInt(1000)),
            _ => source.Price,
        };
        var time = kind switch
        {
            MalformedKind.FutureTimestamp => Utc(source.EventTime.AddYears(100)),
            MalformedKind.PastTimestamp => random.NextInt(2) == 0 ? "1970-01-01T00:00:00.000Z" : "1999-12-31T23:59:59.999Z",
            MalformedKind.TimestampWithoutOffset => source.EventTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture),
            _ => Utc(source.EventTime),
        };
        var eventId = kind == MalformedKind.InvalidEventId
            ? (random.NextInt(2) == 0 ? "evt-" + source.EventId.ToString("N")[..12] : Guid.Empty.ToString())
            : source.EventId.ToString();

        w.WriteStartObject();
        Field("event_id", eventId);
        Field("user_id", tooLong == 0 ? source.UserId + new string('x', UserEventJson.MaxIdLength) : source.UserId);
        Field("session_id", source.SessionId);
        Field("event_type", eventType);
        Field("product_id", tooLong == 1 ? source.ProductId + new string('9', UserEventJson.MaxIdLength) : source.ProductId);
        Field("category", source.Category);
        if (missing != "price")
        {
            if (wrongType == "price") w.WriteString("price", price.ToString(CultureInfo.InvariantCulture));
            else w.WriteNumber("price", price);
        }

        Field("event_time", time);
        var device = source.Device ?? Persona.Devices[0];
        w.WriteString("device", tooLong == 2 ? device + new string('-', UserEventJson.MaxLabelLength) : device);
        if (source.Channel is { } channel) w.WriteString("channel", channel);
        w.WriteEndObject();

        void Field(string name, string value)
        {
            if (name == missing) return;
            if (name == wrongType)
            {
                // A number (or, for the id, an object) where the contract wants a string.
                if (name == "event_id") WriteObjectValue(w, name, value);
                else w.WriteNumber(name, 1 + random.NextInt(1000));
                return;
            }

            w.WriteString(name, name == blank ? (random.NextInt(2) == 0 ? "" : "   ") : value);
        }
    }

    private static void WriteObjectValue(Utf8JsonWriter w, string name, string value)
    {
        w.WriteStartObject(name);
        w.WriteString("value", value);
        w.WriteEndObject();
    }

    private static void WriteNotAnObject(UserEvent source, RandomSource random, ArrayBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output);
        switch (random.NextInt(4))
        {
            case 0:
                w.WriteStartArray();
                w.WriteStringValue(source.EventType.ToWireName());
                w.WriteStringValue(source.UserId);
                w.WriteStringValue(source.ProductId);
                w.WriteNumberValue(source.Price);
                w.WriteEndArray();
                break;
            case 1:
                w.WriteStringValue($"{source.EventType.ToWireName()} {source.UserId} {source.ProductId}");
                break;
            case 2:
                w.WriteNullValue();
                break;
            default:
                w.WriteNumberValue(source.Price);
                break;
        }
    }

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
