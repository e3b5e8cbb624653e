using System.Globalization;
using Analytics.Streaming.Kafka;
using Orleans.Configuration;

namespace Analytics.StreamingBenchmark.Cli;

/// <summary>The Orleans and provider settings one Orleans run uses.</summary>
/// <param name="Name">Short label for the progress lines and the table.</param>
/// <param name="TimerPeriod"><see cref="StreamPullingAgentOptions.GetQueueMsgsTimerPeriod"/>: how long a pulling agent waits after finding its queue empty or its cache full.</param>
/// <param name="BatchContainerBatchSize"><see cref="StreamPullingAgentOptions.BatchContainerBatchSize"/>: most cached events of one stream delivered in one grain call (the provider accepts only 1).</param>
/// <param name="CacheSize"><see cref="KafkaStreamOptions.CacheSize"/>: events each queue's cache holds; a tenth of it is the most one pull takes.</param>
/// <param name="PollBatchSize"><see cref="KafkaStreamOptions.PollBatchSize"/>: the provider's own cap on one pull.</param>
internal sealed record ProviderSettings(string Name, TimeSpan TimerPeriod, int BatchContainerBatchSize, int CacheSize, int PollBatchSize)
{
    /// <summary>What a silo gets when it configures nothing but the connection.</summary>
    public static ProviderSettings ProviderDefaults { get; } = new(
        "provider defaults",
        StreamPullingAgentOptions.DEFAULT_GET_QUEUE_MESSAGES_TIMER_PERIOD,
        StreamPullingAgentOptions.DEFAULT_BATCH_CONTAINER_BATCH_SIZE,
        new KafkaStreamOptions().CacheSize,
        new KafkaStreamOptions().PollBatchSize);

    /// <summary>
    /// The settings of the headline run unless the command line says otherwise: the best of the sweep. Orleans'
    /// SimpleQueueCache, under the provider's cache, makes every delivery walk a cursor over the cached messages of
    /// other streams, so the CPU cost per event grows with the cache size; a short timer restarts a queue soon after
    /// its cache was full.
    /// </summary>
    public static ProviderSettings Recommended { get; } = ProviderDefaults with
    {
        Name = "recommended",
        TimerPeriod = TimeSpan.FromMilliseconds(10),
        CacheSize = 1_024,
    };

    /// <summary>The other runs of <c>--sweep</c> (the headline run comes first): the defaults, then cache sizes and timers.</summary>
    public static IReadOnlyList<ProviderSettings> SweepList { get; } =
    [
        ProviderDefaults,
        ProviderDefaults with { Name = "cache 4096", CacheSize = SimpleQueueCacheOptions.DEFAULT_CACHE_SIZE },
        ProviderDefaults with { Name = "cache 4096, 10 ms", CacheSize = SimpleQueueCacheOptions.DEFAULT_CACHE_SIZE, TimerPeriod = TimeSpan.FromMilliseconds(10) },
        ProviderDefaults with { Name = "cache 1k, 100 ms", CacheSize = 1_024 },
        ProviderDefaults with { Name = "cache 512, 10 ms", CacheSize = 512, TimerPeriod = TimeSpan.FromMilliseconds(10) },
        ProviderDefaults with { Name = "cache 256, 10 ms", CacheSize = 256, TimerPeriod = TimeSpan.FromMilliseconds(10) },
    ];

    /// <summary>One line naming every setting.</summary>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"timer {TimerPeriod.TotalMilliseconds:0} ms, batch container batch {BatchContainerBatchSize}, cache {CacheSize}, poll batch {PollBatchSize}");
}
