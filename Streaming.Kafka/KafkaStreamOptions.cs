using Confluent.Kafka;

namespace Analytics.Streaming.Kafka;

/// <summary>
/// Settings of one Kafka stream provider (one per provider name). Each Kafka partition of <see cref="Topic"/> is one
/// Orleans queue; Orleans spreads the queues over the silos, and each silo reads its partitions by manual assignment.
/// </summary>
public sealed class KafkaStreamOptions
{
    /// <summary>Default of <see cref="Topic"/>.</summary>
    public const string DefaultTopic = "user_events";

    /// <summary>Default of <see cref="ConsumerGroup"/>.</summary>
    public const string DefaultConsumerGroup = "analytics-silo";

    /// <summary>Comma-separated <c>host:port</c> list of brokers. Required; no default.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>The topic read. Default <c>user_events</c>.</summary>
    public string Topic { get; set; } = DefaultTopic;

    /// <summary>
    /// The consumer group whose committed offsets say where each partition resumes. It is used for offsets only:
    /// partitions are assigned by Orleans, not by the group protocol. Default <c>analytics-silo</c>.
    /// </summary>
    public string ConsumerGroup { get; set; } = DefaultConsumerGroup;

    /// <summary>
    /// Number of partitions of <see cref="Topic"/>, which is also the number of Orleans queues. It must equal the topic's
    /// partition count: silo start-up reads the topic's metadata and fails if it differs. Default 8.
    /// </summary>
    public int Partitions { get; set; } = 8;

    /// <summary>
    /// Most messages one queue takes from Kafka per pull; each pull is one call of the <see cref="IKafkaMessageSink"/>
    /// (one PostgreSQL transaction in the silo), then handed to Orleans in slices of a tenth of <see cref="CacheSize"/>.
    /// Default 1000.
    /// </summary>
    public int PollBatchSize { get; set; } = 1000;

    /// <summary>
    /// How valid user events reach subscribers: each on its user's stream (<see cref="KafkaEventDelivery.PerUser"/>, the
    /// default), or each pull's events as one batch on its partition's stream
    /// (<see cref="KafkaEventDelivery.PartitionBatches"/>, one delivery per pull instead of one per event).
    /// </summary>
    public KafkaEventDelivery EventDelivery { get; set; } = KafkaEventDelivery.PerUser;

    /// <summary>
    /// Messages each queue's cache holds while they are delivered (Orleans' simple queue cache). A full cache stops the
    /// queue's pulls until subscribers catch up (back-pressure). Keep it small: every delivery scans it for the
    /// subscriber's stream, so its cost grows with the size (measured: 44 CPU-µs an event at 1024, about 4× that at
    /// 10,000). Default 1024.
    /// </summary>
    public int CacheSize { get; set; } = 1024;

    /// <summary>
    /// How often a partition's delivered offset is committed to Kafka (also on shutdown, whatever the interval). A
    /// crash replays at most about this much, which subscribers drop by offset. Default 1 s.
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a partition waits before offering a pull again after the <see cref="IKafkaMessageSink"/> failed. Default 1 s.</summary>
    public TimeSpan StoreRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long Orleans keeps retrying (with back-off from 100 ms to 2 s) an event whose delivery to a subscriber fails;
    /// then the event becomes a dead letter (<c>DeliveryFailed: …</c>) and the subscriber gets the next one. It must be
    /// longer than a silo takes to be declared dead (one call to a grain on a silo that stops can wait for Orleans'
    /// 30 s response timeout), or a rebalance would dead-letter good events. Meanwhile the event's stream waits and the
    /// partition's commit is held back. Default 1 min.
    /// </summary>
    public TimeSpan MaxDeliveryTime { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a publish through the provider (an Orleans producer's <c>OnNextAsync</c>) may wait for Kafka's acknowledgement. Default 30 s.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where a partition starts when the group has no committed offset for it. Default <see cref="Confluent.Kafka.AutoOffsetReset.Earliest"/>.</summary>
    public AutoOffsetReset AutoOffsetReset { get; set; } = AutoOffsetReset.Earliest;

    /// <summary>How long silo start-up waits for the topic's metadata, and a queue for its committed offset. Default 30 s.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Extra librdkafka settings passed as they are (<c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>). They may hold
    /// secrets, so they are never logged. <c>bootstrap.servers</c>, <c>group.id</c> and <c>enable.auto.commit</c> are set
    /// by the provider and refused here. Default empty.
    /// </summary>
    [Orleans.Redact]
    public Dictionary<string, string> Properties { get; set; } = [];
}
