using System.Globalization;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// One Orleans queue per Kafka partition: queue <c>i</c> is partition <c>i</c>. The queues sit evenly on the consistent
/// ring, so Orleans' queue balancers spread them over the silos like any hash-ring mapper's queues.
/// </summary>
/// <remarks>
/// Which stream a message belongs to is decided by Kafka's partitioner when it is produced, not by this mapper, so
/// <see cref="GetQueueForStream"/> is only Orleans' own guess; the provider never routes by it (what Orleans producers
/// publish goes to Kafka, whose partitioner places it by key).
/// </remarks>
internal sealed class KafkaQueueMapper : IConsistentRingStreamQueueMapper
{
    private readonly HashRingBasedPartitionedStreamQueueMapper _ring;
    private readonly QueueId[] _queues;

    public KafkaQueueMapper(string providerName, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        var ids = Enumerable.Range(0, partitions).Select(p => p.ToString(CultureInfo.InvariantCulture)).ToArray();
        _ring = new HashRingBasedPartitionedStreamQueueMapper(ids, providerName);
        _queues = new QueueId[partitions];
        foreach (var queue in _ring.GetAllQueues())
        {
            _queues[GetPartition(queue)] = queue;
        }
    }

    public int PartitionCount => _queues.Length;

    /// <summary>The Kafka partition read by <paramref name="queue"/>.</summary>
    public int GetPartition(QueueId queue) => int.Parse(_ring.QueueToPartition(queue), CultureInfo.InvariantCulture);

    /// <summary>The queue that reads <paramref name="partition"/>.</summary>
    public QueueId GetQueue(int partition) => _queues[partition];

    public IEnumerable<QueueId> GetAllQueues() => _queues;

    public QueueId GetQueueForStream(StreamId streamId) => _ring.GetQueueForStream(streamId);

    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range) => _ring.GetQueuesForRange(range);
}
