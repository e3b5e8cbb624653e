using System.Text.Json;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.Producer.Sending;

/// <summary>
/// The Kafka key of a payload, found by a cheap scan (no allocation but the key): the <c>user_id</c> of a well-formed
/// JSON object whose <c>user_id</c> is a non-blank string of at most <see cref="UserEventJson.MaxIdLength"/> characters.
/// Anything else gets a null key. Other contract violations (a negative price…) keep their user's key: the consumer
/// validates every payload anyway.
/// </summary>
public static class MessageKeys
{
    /// <summary>The UTF-8 <c>user_id</c>, or null when the payload has none usable.</summary>
    public static byte[]? FromPayload(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            byte[]? key = null;
            var valid = true;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isUserId = reader.ValueTextEquals("user_id"u8);
                reader.Read();
                if (isUserId)
                {
                    key = null;
                    valid = reader.TokenType == JsonTokenType.String;
                    if (valid)
                    {
                        var value = reader.GetString()!;
                        valid = value.Length is > 0 and <= UserEventJson.MaxIdLength && !string.IsNullOrWhiteSpace(value);
                        if (valid) key = System.Text.Encoding.UTF8.GetBytes(value);
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            // The loop ends on the object's end; anything after it must be whitespace only.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return null;
            return valid ? key : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
