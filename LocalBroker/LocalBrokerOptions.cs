namespace Analytics.LocalBroker;

/// <summary>Settings of the development broker, bound from the <c>LocalBroker</c> configuration section.</summary>
public sealed class LocalBrokerOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "LocalBroker";

    /// <summary>Number of mock brokers, 1 to 32; their ids are 1..N and broker 1 is the controller. Default: 1.</summary>
    public int Brokers { get; set; } = 1;

    /// <summary>
    /// Comma-separated topics created at start-up, each with <see cref="Partitions"/> partitions.
    /// Default: <c>user_events</c>. Topics not listed are auto-created with 4 partitions on first use.
    /// </summary>
    public string Topics { get; set; } = "user_events";

    /// <summary>Partitions of each topic in <see cref="Topics"/>, 1 to 1000. Default: 8.</summary>
    public int Partitions { get; set; } = 8;

    /// <summary>
    /// Optional file that receives the bootstrap address once the cluster and the control API are up (written
    /// atomically, so a reader never sees half of it) and is deleted on clean shutdown. Default: none.
    /// </summary>
    public string? BootstrapFile { get; set; }

    /// <summary>
    /// Where the HTTP control API listens: an <c>http://</c> URL on a loopback address (127.0.0.1, [::1] or localhost);
    /// port 0 picks a free port. Default: <c>http://127.0.0.1:9644</c>.
    /// </summary>
    public string ControlUrl { get; set; } = "http://127.0.0.1:9644";

    /// <summary>
    /// How long a new consumer group waits for more members before its first rebalance (Kafka's
    /// <c>group.initial.rebalance.delay.ms</c>), 0 to 5 minutes. Default: 3 seconds, as in Apache Kafka.
    /// </summary>
    public TimeSpan GroupInitialRebalanceDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The names in <see cref="Topics"/>, trimmed, without empty entries.</summary>
    public IReadOnlyList<string> TopicNames =>
        Topics.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
