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
    public void TryParse_ControlCharactersInIdsOrLabels_AreInvalidField(string field, string value)
    {
        var rejection = ParseInvalid(With(field, value));
        Assert.Equal(EventRejectionCode.InvalidField, rejection.Code);
        Assert.Equal($"field '{field}' contains control characters", rejection.Message);
    }

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
