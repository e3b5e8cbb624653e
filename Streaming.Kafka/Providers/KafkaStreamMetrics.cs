using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>Counters of the provider (meter <c>Analytics.Streaming.Kafka</c>), tagged with provider and partition.</summary>
internal static class KafkaStreamMetrics
{
    public const string MeterName = "Analytics.Streaming.Kafka";

    private static readonly Meter Meter = new(MeterName);

    private static readonly ConcurrentDictionary<KafkaQueueAdapterReceiver, byte> Receivers = new();

    /// <summary>Offsets never read because the broker no longer had them (a gap in the log we read).</summary>
    public static readonly Counter<long> MissedOffsets = Meter.CreateCounter<long>(
        "kafka_stream_missed_offsets", unit: "{message}", description: "Offsets skipped because the broker no longer had them");

    /// <summary>Messages handed to the dead-letter sink.</summary>
    public static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>(
        "kafka_stream_dead_letters", unit: "{message}", description: "Messages that were not valid user events");

    /// <summary>Valid events whose every delivery to a subscriber failed, so they became dead letters.</summary>
    public static readonly Counter<long> DeliveryFailures = Meter.CreateCounter<long>(
        "kafka_stream_delivery_failures", unit: "{event}", description: "Events a subscriber kept failing on, dead-lettered");

    /// <summary>Failed attempts of the message sink to store a pull.</summary>
    public static readonly Counter<long> StoreFailures = Meter.CreateCounter<long>(
        "kafka_stream_store_failures", unit: "{attempt}", description: "Failed attempts to store a pull before delivering it");

    /// <summary>Events Orleans producers published to Kafka through the provider.</summary>
    public static readonly Counter<long> Published = Meter.CreateCounter<long>(
        "kafka_stream_published", unit: "{message}", description: "Messages Orleans stream producers wrote to Kafka");

    /// <summary>Valid events handed to Orleans.</summary>
    public static readonly Counter<long> Events = Meter.CreateCounter<long>(
        "kafka_stream_events", unit: "{event}", description: "Valid user events read");

    /// <summary>Commits withheld because the commit gate failed (subscribers could not make their state durable).</summary>
    public static readonly Counter<long> CommitGateFailures = Meter.CreateCounter<long>(
        "kafka_stream_commit_gate_failures", unit: "{commit}", description: "Commits withheld because the commit gate failed");

    /// <summary>How long the commit gate took to make a partition's delivered streams durable.</summary>
    public static readonly Histogram<double> CommitGateDuration = Meter.CreateHistogram<double>(
        "kafka_stream_commit_gate_duration", unit: "ms", description: "Time for subscribers to make their state durable before a commit");

    /// <summary>Per partition: messages not read yet (high watermark minus next offset), one measurement per running receiver.</summary>
    public static readonly ObservableGauge<long> ConsumerLag = Meter.CreateObservableGauge(
        "kafka_stream_consumer_lag", ObserveLag, unit: "{message}", description: "Messages in the partition not yet read");

    /// <summary>A receiver started reading its partition.</summary>
    public static void Track(KafkaQueueAdapterReceiver receiver) => Receivers.TryAdd(receiver, 0);

    /// <summary>A receiver stopped.</summary>
    public static void Untrack(KafkaQueueAdapterReceiver receiver) => Receivers.TryRemove(receiver, out _);

    private static IEnumerable<Measurement<long>> ObserveLag()
    {
        foreach (var receiver in Receivers.Keys)
        {
            if (receiver.ObserveLag() is { } lag) yield return lag;
        }
    }
}
