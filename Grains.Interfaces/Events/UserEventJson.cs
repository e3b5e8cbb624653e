using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Analytics.Grains.Interfaces.Events;

/// <summary>
/// The wire contract of <see cref="UserEvent"/>: one snake_case JSON object per event. Parsing validates every rule and
/// says exactly why it refuses a payload; unknown extra fields are ignored, a contract field given twice is refused.
/// </summary>
public static class UserEventJson
{
    /// <summary>Longest accepted <c>user_id</c>, <c>session_id</c>, <c>product_id</c> and <c>category</c>.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Longest accepted <c>device</c> and <c>channel</c>.</summary>
    public const int MaxLabelLength = 64;

    /// <summary>An event time later than this past "now" is refused: clocks are not that wrong.</summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromDays(1);

    /// <summary>An event time before this is refused: the shop did not exist.</summary>
    public static readonly DateTimeOffset EarliestEventTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>No product costs more; a larger price is a bug upstream.</summary>
    public const decimal MaxPrice = 1_000_000_000m;

    /// <summary>
    /// Largest accepted payload, in bytes (32 KiB). A valid event with every field at its longest is under 1 KiB; the
    /// rest is room for extra fields of newer producers. A larger payload is refused before it is parsed: otherwise a
    /// valid event could carry megabytes of unknown fields into the pipeline.
    /// </summary>
    public const int MaxPayloadBytes = 32 * 1024;

    private static readonly string[] WireEventTypes = ["view", "add_to_cart", "purchase"];

    /// <summary>Every <see cref="char.IsControl(char)"/> character (C0, DEL, C1) and the line and paragraph separators.</summary>
    private static readonly SearchValues<char> ForbiddenCharacters = SearchValues.Create(
        [.. Enumerable.Range(0, 0xA0).Select(c => (char)c).Where(char.IsControl), '\u2028', '\u2029']);

    /// <summary>
    /// What <see cref="TryParseTimestamp"/> rewrites an accepted time to before the exact parse: the round-trip format,
    /// <c>2026-11-25T13:45:10.2500000+02:00</c>, which .NET parses on a fast path (a custom format is ~6× slower).
    /// </summary>
    private const string CanonicalTimeFormat = "O";

    /// <summary>Length of a <see cref="DateTimeOffset"/> in <see cref="CanonicalTimeFormat"/>.</summary>
    private const int CanonicalTimeLength = 33;

    /// <summary>The wire name of an event type (<c>view</c>, <c>add_to_cart</c>, <c>purchase</c>).</summary>
    public static string ToWireName(this UserEventType type) => WireEventTypes[(int)type];

    /// <summary>Parses a wire name; false for anything else (names are case-sensitive, as on the wire).</summary>
    public static bool TryParseEventType(string? value, out UserEventType type)
    {
        var index = Array.IndexOf(WireEventTypes, value);
        type = (UserEventType)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>Parses and validates one UTF-8 JSON payload.</summary>
    /// <param name="utf8Json">The message value as received.</param>
    /// <param name="now">The current time, to refuse event times far in the future.</param>
    /// <param name="userEvent">The event, when valid.</param>
    /// <param name="rejection">Why it was refused, when not.</param>
    public static bool TryParse(
        ReadOnlySpan<byte> utf8Json,
        DateTimeOffset now,
        [NotNullWhen(true)] out UserEvent? userEvent,
        [NotNullWhen(false)] out EventRejection? rejection)
    {
        userEvent = null;
        if (utf8Json.Length > MaxPayloadBytes)
        {
            rejection = new EventRejection(
                EventRejectionCode.TooLarge,
                string.Create(CultureInfo.InvariantCulture, $"the payload is {utf8Json.Length:N0} bytes; at most {MaxPayloadBytes:N0} are accepted"));
            return false;
        }

        if (utf8Json.IsEmpty || utf8Json.Trim(" \t\r\n"u8).IsEmpty)
        {
            rejection = new EventRejection(EventRejectionCode.Empty, "the payload is empty");
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8Json))
        {
            rejection = new EventRejection(EventRejectionCode.InvalidJson, "the payload is not valid UTF-8");
            return false;
        }

        UserEventWire? wire;
        try
        {
            wire = JsonSerializer.Deserialize(utf8Json, UserEventJsonContext.Default.UserEventWire);
        }
        catch (JsonException ex)
        {
            rejection = Describe(ex, utf8Json);
            return false;
        }

        if (wire is null)
        {
            rejection = new EventRejection(EventRejectionCode.InvalidJson, "the payload is JSON null, not an object");
            return false;
        }

        rejection = Validate(wire, now, out userEvent);
        return rejection is null;
    }

    /// <summary>Parses and validates one JSON string (convenience over the UTF-8 overload).</summary>
    public static bool TryParse(
        string json,
        DateTimeOffset now,
        [NotNullWhen(true)] out UserEvent? userEvent,
        [NotNullWhen(false)] out EventRejection? rejection)
        => TryParse(System.Text.Encoding.UTF8.GetBytes(json), now, out userEvent, out rejection);

    /// <summary>Writes the wire form of an event as compact UTF-8 JSON.</summary>
    public static void Write(UserEvent userEvent, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        JsonSerializer.Serialize(writer, ToWire(userEvent), UserEventJsonContext.Default.UserEventWireOut);
    }

    /// <summary>The wire form of an event as compact UTF-8 JSON bytes.</summary>
    public static byte[] ToUtf8Bytes(UserEvent userEvent)
        => JsonSerializer.SerializeToUtf8Bytes(ToWire(userEvent), UserEventJsonContext.Default.UserEventWireOut);

    /// <summary>The wire form of an event as a JSON string.</summary>
    public static string ToJson(UserEvent userEvent)
        => JsonSerializer.Serialize(ToWire(userEvent), UserEventJsonContext.Default.UserEventWireOut);

    private static UserEventWireOut ToWire(UserEvent e) => new()
    {
        EventId = e.EventId,
        UserId = e.UserId,
        SessionId = e.SessionId,
        EventType = e.EventType.ToWireName(),
        ProductId = e.ProductId,
        Category = e.Category,
        Price = e.Price,
        EventTime = e.EventTime.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        Device = e.Device,
        Channel = e.Channel,
    };

    private static EventRejection Describe(JsonException ex, ReadOnlySpan<byte> utf8Json)
    {
        // A value the converter cannot read fails with an inner exception, and the path names the field: a value of the
        // wrong type, or a string holding an unpaired surrogate escape. Both are an InvalidOperationException whose
        // message is not a contract, so the payload itself is looked at again to tell them apart. A repeated contract
        // field fails without an inner exception, as syntax errors do; again the payload says which it was. This runs
        // only for refused payloads.
        var field = ex.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
        if (field is not null && ex.InnerException is InvalidOperationException or FormatException or OverflowException)
        {
            return IsStringField(field) && Inspect(utf8Json, field).UnpairedSurrogate
                ? new EventRejection(EventRejectionCode.InvalidField, $"field '{field}' is not valid Unicode text (unpaired surrogate)")
                : new EventRejection(EventRejectionCode.InvalidField, $"field '{field}' has the wrong JSON type ({ExpectedType(field)} expected)");
        }

        if (field is not null && ex.InnerException is null && IsContractField(field) && Inspect(utf8Json, field).Occurrences > 1)
        {
            return new EventRejection(EventRejectionCode.InvalidJson, $"duplicate property '{field}'");
        }

        return new EventRejection(
            EventRejectionCode.InvalidJson,
            $"invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}: not a single well-formed JSON object");
    }

    private static string ExpectedType(string field) => IsStringField(field) ? "a string" : "a number";

    private static bool IsStringField(string field) => field != "price";

    private static bool IsContractField(string field)
    {
        foreach (var property in UserEventJsonContext.Default.UserEventWire.Properties)
        {
            if (property.Name == field) return true;
        }

        return false;
    }

    /// <summary>
    /// How often <paramref name="field"/> occurs at the top level of the payload (names compared after unescaping), and
    /// whether one of its values is a JSON string that does not decode to valid UTF-16 (the reader accepts any
    /// <c>\uXXXX</c> escape, so <c>"\ud800"</c> is well-formed JSON). Counts up to the first syntax error.
    /// </summary>
    private static (int Occurrences, bool UnpairedSurrogate) Inspect(ReadOnlySpan<byte> utf8Json, string field)
    {
        var reader = new Utf8JsonReader(utf8Json);
        var occurrences = 0;
        var unpairedSurrogate = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return (0, false);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(field);
                reader.Read();
                if (match)
                {
                    occurrences++;
                    unpairedSurrogate |= reader.TokenType == JsonTokenType.String && !IsValidUtf16String(ref reader);
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed further on: what came before has been counted.
        }

        return (occurrences, unpairedSurrogate);
    }

    private static bool IsValidUtf16String(ref Utf8JsonReader reader)
    {
        try
        {
            reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static EventRejection? Validate(UserEventWire w, DateTimeOffset now, out UserEvent? userEvent)
    {
        userEvent = null;

        if (Required(w.EventId, "event_id") is { } r1) return r1;
        if (!Guid.TryParse(w.EventId, out var eventId) || eventId == Guid.Empty)
            return new(EventRejectionCode.InvalidField, $"field 'event_id' is not a UUID: '{Clip(w.EventId!)}'");

        if (RequiredId(w.UserId, "user_id") is { } r2) return r2;
        if (RequiredId(w.SessionId, "session_id") is { } r3) return r3;

        if (Required(w.EventType, "event_type") is { } r4) return r4;
        if (!TryParseEventType(w.EventType, out var eventType))
            return new(EventRejectionCode.UnknownEventType, $"unknown event_type '{Clip(w.EventType!)}' (expected view, add_to_cart or purchase)");

        if (RequiredId(w.ProductId, "product_id") is { } r5) return r5;
        if (RequiredId(w.Category, "category") is { } r6) return r6;

        if (w.Price is not { } price) return Missing("price");
        if (price < 0) return new(EventRejectionCode.NegativePrice, $"price {price.ToString(CultureInfo.InvariantCulture)} is negative");
        if (price == 0 && eventType != UserEventType.View)
            return new(EventRejectionCode.ZeroPrice, $"price must be greater than 0 for {eventType.ToWireName()}");
        if (price > MaxPrice)
            return new(EventRejectionCode.AbsurdPrice, $"price {price.ToString(CultureInfo.InvariantCulture)} exceeds {MaxPrice.ToString(CultureInfo.InvariantCulture)}");

        if (Required(w.EventTime, "event_time") is { } r7) return r7;
        if (!TryParseTimestamp(w.EventTime!, out var eventTime))
            return new(EventRejectionCode.InvalidTimestamp, $"event_time '{Clip(w.EventTime!)}' is not an ISO-8601 time with an offset");
        if (eventTime > now + MaxFutureSkew)
            return new(EventRejectionCode.AbsurdTimestamp, $"event_time {eventTime:O} is more than {MaxFutureSkew.TotalHours:0} h in the future");
        if (eventTime < EarliestEventTime)
            return new(EventRejectionCode.AbsurdTimestamp, $"event_time {eventTime:O} is before {EarliestEventTime:yyyy-MM-dd}");

        if (Optional(w.Device, "device") is { } r8) return r8;
        if (Optional(w.Channel, "channel") is { } r9) return r9;

        userEvent = new UserEvent
        {
            EventId = eventId,
            UserId = w.UserId!,
            SessionId = w.SessionId!,
            EventType = eventType,
            ProductId = w.ProductId!,
            Category = w.Category!,
            Price = price,
            EventTime = eventTime,
            Device = string.IsNullOrWhiteSpace(w.Device) ? null : w.Device,
            Channel = string.IsNullOrWhiteSpace(w.Channel) ? null : w.Channel,
        };
        return null;
    }

    /// <summary>
    /// RFC 3339 (ISO-8601 extended format) with an explicit offset, and nothing else: a time without an offset is
    /// ambiguous, guessing the zone would silently shift events between windows, and a culture's form
    /// (<c>11/25/2026</c>) may be day-first or month-first. Accepted: <c>YYYY-MM-DD</c>, then <c>T</c>, <c>t</c> or one
    /// space, <c>hh:mm:ss</c>, an optional fraction of 1–9 digits (truncated to 7, .NET's tick precision), then
    /// <c>Z</c>, <c>z</c>, <c>±hh:mm</c>, or the ISO basic offsets <c>±hhmm</c> and <c>±hh</c>. No surrounding spaces.
    /// </summary>
    /// <remarks>
    /// The shape is checked here and rewritten into one canonical form on the stack; the invariant-culture exact parse
    /// of that form then checks the values: month 13, 30 February, hour 24, second 60 (.NET has no leap seconds), an
    /// offset beyond ±14:00, a time outside years 1–9999 in UTC. No allocation, and about 4× faster than the
    /// culture-aware <see cref="DateTimeOffset.TryParse(string?, IFormatProvider?, DateTimeStyles, out DateTimeOffset)"/>.
    /// </remarks>
    private static bool TryParseTimestamp(string value, out DateTimeOffset time)
    {
        time = default;
        var s = value.AsSpan();
        if (s.Length is < 20 or > 35
            || !AreDigits(s[..4]) || s[4] != '-' || !AreDigits(s.Slice(5, 2)) || s[7] != '-' || !AreDigits(s.Slice(8, 2))
            || s[10] is not ('T' or 't' or ' ')
            || !AreDigits(s.Slice(11, 2)) || s[13] != ':' || !AreDigits(s.Slice(14, 2)) || s[16] != ':' || !AreDigits(s.Slice(17, 2)))
        {
            return false;
        }

        // yyyy-MM-ddTHH:mm:ss.fffffff+hh:mm
        Span<char> canonical = stackalloc char[CanonicalTimeLength];
        s[..10].CopyTo(canonical);
        canonical[10] = 'T';
        s.Slice(11, 8).CopyTo(canonical[11..]);
        canonical[19] = '.';
        var fraction = canonical.Slice(20, 7);
        fraction.Fill('0');

        var rest = s[19..];
        if (rest[0] == '.')
        {
            var digits = rest[1..].IndexOfAnyExceptInRange('0', '9');
            if (digits is < 1 or > 9) return false;
            rest.Slice(1, Math.Min(digits, fraction.Length)).CopyTo(fraction);
            rest = rest[(1 + digits)..];
        }

        ReadOnlySpan<char> hours;
        ReadOnlySpan<char> minutes;
        switch (rest)
        {
            case ['Z' or 'z']:
                hours = minutes = "00";
                break;
            case ['+' or '-', _, _]:
                hours = rest[1..3];
                minutes = "00";
                break;
            case ['+' or '-', _, _, _, _]:
                hours = rest[1..3];
                minutes = rest[3..];
                break;
            case ['+' or '-', _, _, ':', _, _]:
                hours = rest[1..3];
                minutes = rest[4..];
                break;
            default:
                return false;
        }

        // The exact parse checks the offset's hours (at most 14) but not its minutes.
        if (!AreDigits(hours) || !AreDigits(minutes) || minutes[0] > '5') return false;
        canonical[27] = rest[0] is 'Z' or 'z' ? '+' : rest[0];
        hours.CopyTo(canonical[28..]);
        canonical[30] = ':';
        minutes.CopyTo(canonical[31..]);

        if (!DateTimeOffset.TryParseExact(canonical, CanonicalTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            return false;
        }

        time = parsed.ToUniversalTime();
        return true;
    }

    private static bool AreDigits(ReadOnlySpan<char> s) => !s.IsEmpty && !s.ContainsAnyExceptInRange('0', '9');

    private static EventRejection Missing(string field) => new(EventRejectionCode.MissingField, $"missing field '{field}'");

    private static EventRejection? Required(string? value, string field)
        => string.IsNullOrWhiteSpace(value) ? Missing(field) : null;

    private static EventRejection? RequiredId(string? value, string field)
        => Required(value, field) ?? (value!.Length > MaxIdLength
            ? new(EventRejectionCode.FieldTooLong, $"field '{field}' is {value.Length} characters long (at most {MaxIdLength})")
            : ControlCharacters(value, field) ?? Padding(value, field));

    /// <summary>A blank label counts as absent; control characters are refused even then.</summary>
    private static EventRejection? Optional(string? value, string field)
        => value is { Length: > MaxLabelLength }
            ? new(EventRejectionCode.FieldTooLong, $"field '{field}' is {value.Length} characters long (at most {MaxLabelLength})")
            : value is null ? null : ControlCharacters(value, field) ?? (string.IsNullOrWhiteSpace(value) ? null : Padding(value, field));

    // Identifiers and labels are printable text: a control character (NUL above all, which PostgreSQL text cannot
    // hold; a line separator, which breaks line-based logs and exports) means a broken sender, and storing a mangled
    // id would split one user into two.
    private static EventRejection? ControlCharacters(string value, string field)
        => value.AsSpan().ContainsAny(ForbiddenCharacters)
            ? new(EventRejectionCode.InvalidField, $"field '{field}' contains control characters")
            : null;

    // Not trimmed but refused: "user_1 " stored as it came would be a second user, and trimming would hide a sender's bug.
    private static EventRejection? Padding(string value, string field)
        => char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1])
            ? new(EventRejectionCode.InvalidField, $"field '{field}' has leading or trailing whitespace")
            : null;

    private static string Clip(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "…");
}

/// <summary>What arrives: every field loosely typed so that validation, not the deserializer, decides and explains.</summary>
internal sealed class UserEventWire
{
    public string? EventId { get; set; }
    public string? UserId { get; set; }
    public string? SessionId { get; set; }
    public string? EventType { get; set; }
    public string? ProductId { get; set; }
    public string? Category { get; set; }
    public decimal? Price { get; set; }
    public string? EventTime { get; set; }
    public string? Device { get; set; }
    public string? Channel { get; set; }
}

/// <summary>What we send: the canonical form (UTC, millisecond precision, optional fields omitted when absent).</summary>
internal sealed class UserEventWireOut
{
    public Guid EventId { get; set; }
    public string UserId { get; set; } = "";
    public string SessionId { get; set; } = "";
    public string EventType { get; set; } = "";
    public string ProductId { get; set; } = "";
    public string Category { get; set; } = "";
    public decimal Price { get; set; }
    public string EventTime { get; set; } = "";

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Device { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Channel { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    GenerationMode = JsonSourceGenerationMode.Default,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(UserEventWire))]
[JsonSerializable(typeof(UserEventWireOut))]
internal sealed partial class UserEventJsonContext : JsonSerializerContext;
