namespace Analytics.Streaming.Kafka;

/// <summary>Stream namespaces the Kafka provider produces into.</summary>
public static class KafkaStreamNamespaces
{
    /// <summary>Valid user events; the stream key is the event's <c>user_id</c>.</summary>
    public const string UserEvents = "user-events";
}
