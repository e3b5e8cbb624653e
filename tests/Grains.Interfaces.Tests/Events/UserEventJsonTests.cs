using System.Text;
using System.Text.Json.Nodes;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.Grains.Interfaces.Tests.Events;

public sealed class UserEventJsonTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private const string ValidPurchase = """
        {"event_id":"01936f5e-8a4b-7c3d-9e2f-0a1b2c3d4e5f","user_id":"user_123","session_id":"s-42",
         "event_type":"purchase","product_id":"p-17","category":"electronics","price":199.99,
         "event_time":"2026-11-25T13:45:10.250+02:00","device":"mobile","channel":"email"}
        """;

    private static UserEvent ParseValid(string json)
    {
        Assert.True(UserEventJson.TryParse(json, Now, out var e, out var rejection), rejection?.ToString());
        return e;
    }

    private static EventRejection ParseInvalid(string json)
    {
        Assert.False(UserEventJson.TryParse(json, Now, out var e, out var rejection), $"accepted: {e}");
        return rejection;
    }

    /// <summary>Changes one field of the valid purchase: null value removes it, JsonNode value replaces it.</summary>
    private static string With(string field, JsonNode? value, bool remove = false)
    {
        var node = JsonNode.Parse(ValidPurchase)!.AsObject();
        if (remove) node.Remove(field);
        else node[field] = value;
        return node.ToJsonString();
    }

    /// <summary>Sets one field to raw JSON text, for values that JsonNode cannot write (a lone surrogate escape).</summary>
    private static string WithRaw(string field, string rawJsonValue)
        => With(field, "__raw__").Replace("\"__raw__\"", rawJsonValue, StringComparison.Ordinal);

    /// <summary>The valid purchase with one more property at the end.</summary>
    private static string Appending(string rawProperty) => string.Concat(ValidPurchase.AsSpan().TrimEnd()[..^1], ",", rawProperty, "}");

    [Fact]
    public void TryParse_ValidEvent_MapsEveryFieldAndNormalisesTimeToUtc()
    {
        var e = ParseValid(ValidPurchase);

        Assert.Equal(Guid.Parse("01936f5e-8a4b-7c3d-9e2f-0a1b2c3d4e5f"), e.EventId);
        Assert.Equal("user_123", e.UserId);
        Assert.Equal("s-42", e.SessionId);
        Assert.Equal(UserEventType.Purchase, e.EventType);
        Assert.Equal("p-17", e.ProductId);
        Assert.Equal("electronics", e.Category);
        Assert.Equal(199.99m, e.Price);
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 11, 45, 10, 250, TimeSpan.Zero), e.EventTime);
        Assert.Equal(TimeSpan.Zero, e.EventTime.Offset);
        Assert.Equal("mobile", e.Device);
        Assert.Equal("email", e.Channel);
    }

    [Fact]
    public void RoundTrip_WriteThenParse_GivesTheSameEvent()
    {
        var original = ParseValid(ValidPurchase);

        var json = UserEventJson.ToJson(original);
        var again = ParseValid(json);

        Assert.Equal(original, again);
        Assert.Equal(json, Encoding.UTF8.GetString(UserEventJson.ToUtf8Bytes(again)));
        Assert.Contains("\"event_type\":\"purchase\"", json, StringComparison.Ordinal);
        Assert.Contains("\"event_time\":\"2026-11-25T11:45:10.250Z\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void RoundTrip_OptionalFieldsAbsent_AreOmittedAndStayNull()
    {
        var json = With("device", null, remove: true);
        json = JsonNode.Parse(json)!.AsObject().Also(o => o.Remove("channel")).ToJsonString();

        var e = ParseValid(json);
        var written = UserEventJson.ToJson(e);

        Assert.Null(e.Device);
        Assert.Null(e.Channel);
        Assert.DoesNotContain("device", written, StringComparison.Ordinal);
        Assert.Null(ParseValid(written).Channel);
    }

    [Fact]
    public void TryParse_UnknownExtraFields_AreIgnored()
    {
        var e = ParseValid(With("referrer", "newsletter-7"));
        Assert.Equal("user_123", e.UserId);
    }

    [Theory]
    [InlineData("view")]
    [InlineData("add_to_cart")]
    [InlineData("purchase")]
    public void TryParse_EachEventType_RoundTripsItsWireName(string wireName)
    {
        var e = ParseValid(With("event_type", wireName));
        Assert.Equal(wireName, e.EventType.ToWireName());
    }

    [Fact]
    public void TryParse_ViewWithZeroPrice_IsAccepted()
    {
        var json = JsonNode.Parse(With("event_type", "view"))!.AsObject().Also(o => o["price"] = 0).ToJsonString();
        Assert.Equal(0m, ParseValid(json).Price);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    public void TryParse_EmptyPayload_IsRejectedAsEmpty(string payload)
        => Assert.Equal(EventRejectionCode.Empty, ParseInvalid(payload).Code);

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2,3]")]
    [InlineData("\"a string\"")]
    [InlineData("{\"user_id\":\"u\"} trailing")]
    [InlineData("null")]
    public void TryParse_NotAJsonObject_IsRejectedAsInvalidJson(string payload)
        => Assert.Equal(EventRejectionCode.InvalidJson, ParseInvalid(payload).Code);

    [Fact]
    public void TryParse_InvalidUtf8_IsRejectedAsInvalidJson()
    {
        byte[] payload = [.. Encoding.UTF8.GetBytes("{\"user_id\":\""), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}")];
        Assert.False(UserEventJson.TryParse(payload, Now, out _, out var rejection));
        Assert.Equal(EventRejectionCode.InvalidJson, rejection.Code);
    }

    [Theory]
    [InlineData("event_id")]
    [InlineData("user_id")]
    [InlineData("session_id")]
    [InlineData("event_type")]
    [InlineData("product_id")]
    [InlineData("category")]
    [InlineData("price")]
    [InlineData("event_time")]
    public void TryParse_MissingRequiredField_NamesTheField(string field)
    {
        var rejection = ParseInvalid(With(field, null, remove: true));

        Assert.Equal(EventRejectionCode.MissingField, rejection.Code);
        Assert.Equal($"missing field '{field}'", rejection.Message);
    }

    [Theory]
    [InlineData("user_id")]
    [InlineData("session_id")]
    [InlineData("product_id")]
    public void TryParse_NullOrBlankRequiredField_CountsAsMissing(string field)
    {
        Assert.Equal(EventRejectionCode.MissingField, ParseInvalid(With(field, null)).Code);
        Assert.Equal(EventRejectionCode.MissingField, ParseInvalid(With(field, "  ")).Code);
    }

    [Fact]
    public void TryParse_UserIdOf128Chars_IsAcceptedAnd129IsTooLong()
    {
        Assert.Equal(128, ParseValid(With("user_id", new string('u', 128))).UserId.Length);

        var rejection = ParseInvalid(With("user_id", new string('u', 129)));
        Assert.Equal(EventRejectionCode.FieldTooLong, rejection.Code);
        Assert.Contains("'user_id'", rejection.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    public void TryParse_BadEventId_IsInvalidField(string eventId)
    {
        var rejection = ParseInvalid(With("event_id", eventId));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Contains("event_id", rejection.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("click")]
    [InlineData("VIEW")]
    [InlineData("addToCart")]
    public void TryParse_UnknownEventType_IsRejectedWithTheValue(string type)
    {
        var rejection = ParseInvalid(With("event_type", type));
        Assert.Equal(EventRejectionCode.UnknownEventType, rejection.Code);
        Assert.Contains($"'{type}'", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_PriceAsString_IsWrongType()
    {
        var rejection = ParseInvalid(With("price", "19.99"));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Contains("'price'", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_UserIdAsNumber_IsWrongType()
    {
        var rejection = ParseInvalid(With("user_id", 123));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Contains("'user_id'", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_NegativePrice_IsRejected()
    {
        var rejection = ParseInvalid(With("price", -5.5m));
        Assert.Equal(EventRejectionCode.NegativePrice, rejection.Code);
        Assert.Contains("-5.5", rejection.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("add_to_cart")]
    [InlineData("purchase")]
    public void TryParse_ZeroPriceForCartOrPurchase_IsRejected(string type)
    {
        var json = JsonNode.Parse(With("event_type", type))!.AsObject().Also(o => o["price"] = 0).ToJsonString();
        Assert.Equal(EventRejectionCode.ZeroPrice, ParseInvalid(json).Code);
    }

    [Fact]
    public void TryParse_ValidEventWithExtraFieldsUpToTheLimit_IsAccepted_OneByteMoreIsTooLarge()
    {
        // A valid event padded by an unknown field to exactly MaxPayloadBytes: accepted, the extra ignored.
        var empty = Appending("\"notes\":\"\"");
        var atLimit = Appending($"\"notes\":\"{new string('n', UserEventJson.MaxPayloadBytes - Encoding.UTF8.GetByteCount(empty))}\"");
        Assert.Equal(UserEventJson.MaxPayloadBytes, Encoding.UTF8.GetByteCount(atLimit));
        Assert.Equal("user_123", ParseValid(atLimit).UserId);

        var over = atLimit.Replace("\"notes\":\"", "\"notes\":\"n", StringComparison.Ordinal);
        var rejection = ParseInvalid(over);
        Assert.Equal(EventRejectionCode.TooLarge, rejection.Code);
        Assert.Equal("TooLarge: the payload is 32,769 bytes; at most 32,768 are accepted", rejection.ToString());
    }

    [Fact]
    public void TryParse_OneMegabyteOfAnything_IsTooLarge_BeforeItIsParsed()
    {
        // Not JSON, not UTF-8: the size is the reason given, checked first.
        var junk = new byte[1_000_000];
        new Random(7).NextBytes(junk);
        Assert.False(UserEventJson.TryParse(junk, Now, out _, out var rejection));
        Assert.Equal("TooLarge: the payload is 1,000,000 bytes; at most 32,768 are accepted", rejection.ToString());
    }

    [Fact]
    public void TryParse_AbsurdPrice_IsRejected()
        => Assert.Equal(EventRejectionCode.AbsurdPrice, ParseInvalid(With("price", 2_000_000_000m)).Code);

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-11-25")]
    [InlineData("2026-11-25T10:00:00")]
    [InlineData("2026-13-45T10:00:00Z")]
    [InlineData("1764072000")]
    public void TryParse_UnparseableOrOffsetlessTimestamp_IsInvalidTimestamp(string time)
    {
        var rejection = ParseInvalid(With("event_time", time));
        Assert.Equal(EventRejectionCode.InvalidTimestamp, rejection.Code);
        Assert.Contains(time, rejection.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("11/25/2026 10:00:00 +00:00")] // US month/day: DateTimeOffset.TryParse took it
    [InlineData("25/11/2026 10:00:00 +00:00")]
    [InlineData("2026/11/25 10:00:00Z")]
    [InlineData("Wed, 25 Nov 2026 10:00:00 GMT")]
    [InlineData("20261125T100000Z")]
    [InlineData("2026-11-25T10:00Z")]
    [InlineData("2026-11-25T10:00:00UTC")]
    [InlineData("2026-11-25T10:00:00 Z")]
    [InlineData("2026-11-25T10:00:00 +01:00")]
    [InlineData("2026-11-25  10:00:00Z")]
    [InlineData("2026-11-25_10:00:00Z")]
    [InlineData(" 2026-11-25T10:00:00Z")]
    [InlineData("2026-11-25T10:00:00Z ")]
    [InlineData("2026-11-25T10:00:00.Z")]
    [InlineData("2026-11-25T10:00:00,5Z")]
    [InlineData("2026-11-25T10:00:00.1234567891Z")]
    [InlineData("2026-11-25T10:00:00+1")]
    [InlineData("2026-11-25T10:00:00+01:0")]
    [InlineData("2026-11-25T10:00:00+010")]
    [InlineData("2026-11-25T10:00:00+01:00:00")]
    [InlineData("2026-11-25T10:00:00+01:00Z")]
    [InlineData("2026-11-25T10:00:00\u221201:00")]
    [InlineData("2026-11-25T10:00:00+15:00")]
    [InlineData("2026-11-25T10:00:00+14:30")]
    [InlineData("2026-11-25T10:00:00+05:60")]
    [InlineData("2026-02-29T10:00:00Z")]
    [InlineData("2026-11-31T10:00:00Z")]
    [InlineData("2026-11-25T24:00:00Z")]
    [InlineData("2026-11-25T10:60:00Z")]
    [InlineData("2026-11-25T23:59:60Z")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00+01:00")]
    [InlineData("+2026-11-25T10:00:00Z")]
    [InlineData("\u0662\u0660\u0662\u0666-11-25T10:00:00Z")]
    public void TryParse_TimestampNotInRfc3339Form_IsInvalidTimestamp(string time)
    {
        var rejection = ParseInvalid(With("event_time", time));
        Assert.Equal(EventRejectionCode.InvalidTimestamp, rejection.Code);
        Assert.Contains(time, rejection.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-11-25T13:45:10+01:00", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T13:45:10+0100", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T13:45:10+01", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T07:15:10-05:30", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T07:15:10-0530", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T12:45:10-00:00", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T12:45:10Z", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25t12:45:10z", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25 12:45:10Z", "2026-11-25T12:45:10.0000000+00:00")]
    [InlineData("2026-11-25T12:45:10.5Z", "2026-11-25T12:45:10.5000000+00:00")]
    [InlineData("2026-11-25T12:45:10.250+00:00", "2026-11-25T12:45:10.2500000+00:00")]
    [InlineData("2026-11-25T12:45:10.1234567Z", "2026-11-25T12:45:10.1234567+00:00")]
    [InlineData("2026-11-25T12:45:10.123456789Z", "2026-11-25T12:45:10.1234567+00:00")]
    [InlineData("2026-11-26T02:45:10.999999999+14:00", "2026-11-25T12:45:10.9999999+00:00")]
    [InlineData("2024-02-29T00:00:00Z", "2024-02-29T00:00:00.0000000+00:00")]
    public void TryParse_Rfc3339TimestampWithOffset_IsAcceptedAsUtc(string time, string expectedUtc)
    {
        var e = ParseValid(With("event_time", time));
        Assert.Equal(expectedUtc, e.EventTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TryParse_TimestampAsNumber_IsWrongType()
        => Assert.Equal(EventRejectionCode.InvalidField, ParseInvalid(With("event_time", 1764072000)).Code);

    [Fact]
    public void TryParse_TimestampMoreThanOneDayInTheFuture_IsAbsurd()
    {
        var future = Now.AddDays(1).AddMinutes(1).ToString("O");
        var rejection = ParseInvalid(With("event_time", future));
        Assert.Equal(EventRejectionCode.AbsurdTimestamp, rejection.Code);
        Assert.Contains("future", rejection.Message, StringComparison.Ordinal);

        ParseValid(With("event_time", Now.AddHours(23).ToString("O")));
    }

    [Fact]
    public void TryParse_TimestampBefore2000_IsAbsurd()
        => Assert.Equal(EventRejectionCode.AbsurdTimestamp, ParseInvalid(With("event_time", "1999-12-31T23:59:59Z")).Code);

    [Theory]
    [InlineData("user_id", "user\u0000_1")]
    [InlineData("session_id", "s\n1")]
    [InlineData("channel", "email\u007f")]
    [InlineData("user_id", "user\u001b[31m_1")]
    [InlineData("product_id", "p\u0080")]
    [InlineData("category", "home\u0085garden")]
    [InlineData("session_id", "s\u009f1")]
    [InlineData("user_id", "user\u2028_1")]
    [InlineData("device", "mobile\u2029")]
    [InlineData("user_id", "user_1\t")]
    [InlineData("device", "\n")]
    public void TryParse_ControlCharactersInIdsOrLabels_AreInvalidField(string field, string value)
    {
        var rejection = ParseInvalid(With(field, value));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Equal($"field '{field}' contains control characters", rejection.Message);
    }

    [Theory]
    [InlineData("user_id", " user_123")]
    [InlineData("user_id", "user_123 ")]
    [InlineData("session_id", "s-42\u00a0")]
    [InlineData("product_id", "\u3000p-17")]
    [InlineData("category", "electronics ")]
    [InlineData("device", " mobile")]
    [InlineData("channel", "email ")]
    public void TryParse_IdOrLabelWithLeadingOrTrailingWhitespace_IsInvalidField(string field, string value)
    {
        var rejection = ParseInvalid(With(field, value));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Equal($"field '{field}' has leading or trailing whitespace", rejection.Message);
    }

    [Fact]
    public void TryParse_InnerSpacesAndBlankLabels_AreAccepted()
    {
        Assert.Equal("user 123", ParseValid(With("user_id", "user 123")).UserId);
        Assert.Equal("home & garden", ParseValid(With("category", "home & garden")).Category);
        Assert.Null(ParseValid(With("device", "  ")).Device);
        Assert.Null(ParseValid(With("channel", "")).Channel);
    }

    [Fact]
    public void TryParse_BlankCategory_CountsAsMissing()
        => Assert.Equal("missing field 'category'", ParseInvalid(With("category", " ")).Message);

    [Theory]
    [InlineData("user_id", "\"\\ud800\"")]
    [InlineData("session_id", "\"s-\\udc00-42\"")]
    [InlineData("product_id", "\"p-17\\ud83d\"")]
    [InlineData("event_time", "\"2026-11-25T13:45:10Z\\udfff\"")]
    [InlineData("device", "\"\\ude00mobile\"")]
    public void TryParse_UnpairedSurrogateEscape_IsInvalidUnicodeNotWrongType(string field, string rawValue)
    {
        var rejection = ParseInvalid(WithRaw(field, rawValue));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Equal($"field '{field}' is not valid Unicode text (unpaired surrogate)", rejection.Message);
    }

    [Fact]
    public void TryParse_PairedSurrogateEscape_IsAccepted()
        => Assert.Equal("user_\U0001F600", ParseValid(WithRaw("user_id", "\"user_\\ud83d\\ude00\"")).UserId);

    [Theory]
    [InlineData("user_id", "123", "a string")]
    [InlineData("user_id", "true", "a string")]
    [InlineData("user_id", "[\"user_123\"]", "a string")]
    [InlineData("device", "{\"name\":\"mobile\"}", "a string")]
    [InlineData("price", "\"19.99\"", "a number")]
    [InlineData("price", "\"\\ud800\"", "a number")]
    public void TryParse_WrongJsonType_KeepsTheWrongTypeMessage(string field, string rawValue, string expected)
    {
        var rejection = ParseInvalid(WithRaw(field, rawValue));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Equal($"field '{field}' has the wrong JSON type ({expected} expected)", rejection.Message);
    }

    [Theory]
    [InlineData("\"price\":-1", "price")]
    [InlineData("\"price\":199.99", "price")]
    [InlineData("\"user_id\":\"user_456\"", "user_id")]
    [InlineData("\"user_id\":\"user_123\"", "user_id")]
    [InlineData("\"event_time\":\"2026-11-25T13:45:10.250+02:00\"", "event_time")]
    [InlineData("\"channel\":null", "channel")]
    [InlineData("\"pr\\u0069ce\":5", "price")]
    public void TryParse_RepeatedContractField_IsInvalidJsonNamingIt(string repeated, string field)
    {
        var rejection = ParseInvalid(Appending(repeated));
        Assert.Equal(EventRejectionCode.InvalidJson, rejection.Code);
        Assert.Equal($"duplicate property '{field}'", rejection.Message);
    }

    [Fact]
    public void TryParse_RepeatedFieldBeforeTheWrongTypeOne_ReportsTheFirstProblem()
    {
        // The first "price" has the wrong type: that is what the deserializer meets first.
        var json = WithRaw("price", "\"5\"");
        var rejection = ParseInvalid(string.Concat(json.AsSpan(0, json.Length - 1), ",\"price\":5}"));
        Assert.Equal("field 'price' has the wrong JSON type (a number expected)", rejection.Message);
    }

    [Fact]
    public void TryParse_RepeatedUnknownField_IsIgnoredLikeAnyUnknownField()
        => Assert.Equal("user_123", ParseValid(Appending("\"referrer\":1,\"referrer\":2")).UserId);

    [Theory]
    [InlineData("{\"referrer\":1,\"referrer\":2,")]
    [InlineData("{\"price\":1,\"price\"")]
    public void TryParse_TruncatedPayloadWithRepeatedNames_IsInvalidJson(string payload)
        => Assert.Equal(EventRejectionCode.InvalidJson, ParseInvalid(payload).Code);

    [Fact]
    public void TryParse_OverlongDevice_IsTooLong()
        => Assert.Equal(EventRejectionCode.FieldTooLong, ParseInvalid(With("device", new string('d', 65))).Code);

    [Fact]
    public void Rejection_ToString_StartsWithTheStableCode()
        => Assert.StartsWith("MissingField: missing field 'user_id'", ParseInvalid(With("user_id", null, remove: true)).ToString(), StringComparison.Ordinal);
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject node, Action<JsonObject> change)
    {
        change(node);
        return node;
    }
}
