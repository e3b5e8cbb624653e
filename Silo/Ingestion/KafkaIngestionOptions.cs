namespace Analytics.Silo.Ingestion;

/// <summary>How the silo reads the <c>user_events</c> topic (configuration section <c>Kafka</c>).</summary>
public sealed class KafkaIngestionOptions
{
    public const string SectionName = "Kafka";

    /// <summary>
    /// Comma-separated <c>host:port</c> list of Kafka brokers. Falls back to the <c>KAFKA_BOOTSTRAP</c> variable that
    /// <c>run_all.sh</c> writes; default <c>127.0.0.1:9092</c>.
    /// </summary>
    public string BootstrapServers { get; set; } = "127.0.0.1:9092";

    /// <summary>Topic holding the JSON user events. Default <c>user_events</c>.</summary>
    public string Topic { get; set; } = "user_events";

    /// <summary>Consumer group shared by every silo; partitions are balanced across its members. Default <c>analytics-silo</c>.</summary>
    public string ConsumerGroup { get; set; } = "analytics-silo";

    /// <summary>Where a new consumer group starts: <c>Earliest</c> (default: nothing already in the topic is skipped) or <c>Latest</c>.</summary>
    public Confluent.Kafka.AutoOffsetReset AutoOffsetReset { get; set; } = Confluent.Kafka.AutoOffsetReset.Earliest;

    /// <summary>Most messages written to PostgreSQL in one batch. Default 5,000.</summary>
    public int MaxBatchSize { get; set; } = 5_000;

    /// <summary>Longest a message waits in a partly filled batch before it is written. Default 200 ms.</summary>
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long the group waits for a silent member before moving its partitions to another silo. Shorter means faster
    /// take-over after a crash; Apache Kafka refuses less than its <c>group.min.session.timeout.ms</c> (6 s by default).
    /// The development broker also waits this long after a member leaves cleanly. Default 10 s.
    /// </summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause before retrying a failed write to PostgreSQL (doubles up to 30 s). Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Extra librdkafka settings passed through unchanged, for a real cluster: e.g. <c>security.protocol</c>,
    /// <c>sasl.mechanism</c>, <c>sasl.username</c>, <c>sasl.password</c> (secret: never logged), <c>ssl.ca.location</c>.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = [];
}
