using System.Collections.Concurrent;

namespace Analytics.Streaming.Kafka;

/// <summary>
/// What one provider is doing on this silo, for health checks and status pages: whether its topic was verified at
/// start-up, and which partitions this silo reads now. Resolve it keyed by the provider name.
/// </summary>
public sealed class KafkaStreamProviderStatus
{
    private readonly ConcurrentDictionary<int, byte> _partitions = new();

    /// <summary>True once the topic was found with the configured partition count and the provider started.</summary>
    public bool Started { get; private set; }

    /// <summary>The partitions this silo reads now, in order (none is normal in a cluster with more silos than partitions).</summary>
    public IReadOnlyList<int> Partitions => [.. _partitions.Keys.Order()];

    internal void OnStarted() => Started = true;

    internal void OnReading(int partition) => _partitions[partition] = 0;

    internal void OnReleased(int partition) => _partitions.TryRemove(partition, out _);
}
