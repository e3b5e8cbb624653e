namespace Analytics.Streaming.Kafka;

/// <summary>Stream namespaces the Kafka provider produces into.</summary>
public static class KafkaStreamNamespaces
{
    /// <summary>Valid user events; the stream key is the event's <c>user_id</c>.</summary>
    public const string UserEvents = "user-events";

    /// <summary>
    /// Batches of valid user events (<see cref="KafkaEventBatch"/>) with <see cref="KafkaEventDelivery.PartitionBatches"/>;
    /// the stream key is the partition number (<c>0</c>, <c>1</c>, …).
    /// </summary>
    public const string PartitionBatches = "user-event-batches";
}
