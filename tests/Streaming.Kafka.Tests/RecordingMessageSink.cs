using System.Collections.Concurrent;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>
/// A message sink that keeps every batch it stores. It can be told to fail: the next N calls, or every call while
/// failing is switched on (optionally only for one partition); failed calls store nothing and are counted.
/// </summary>
public sealed class RecordingMessageSink : IKafkaMessageSink
{
    private readonly ConcurrentQueue<KafkaMessageBatch> _stored = new();
    private readonly ConcurrentQueue<KafkaMessageBatch> _refused = new();
    private readonly ConcurrentDictionary<int, int> _failedCalls = new();
    private int _failNext;
    private volatile bool _failing;
    private volatile int _failingPartition = -1;

    /// <summary>Every batch stored, in the order of the calls.</summary>
    public IReadOnlyList<KafkaMessageBatch> Batches() => [.. _stored];

    /// <summary>Every event stored.</summary>
    public IReadOnlyList<KafkaUserEvent> Events() => [.. _stored.SelectMany(b => b.Events)];

    /// <summary>Every dead letter stored.</summary>
    public IReadOnlyList<KafkaDeadLetter> DeadLetters() => [.. _stored.SelectMany(b => b.DeadLetters)];

    /// <summary>Every batch the sink was told to fail on, in the order of the calls.</summary>
    public IReadOnlyList<KafkaMessageBatch> RefusedBatches() => [.. _refused];

    /// <summary>Calls that failed, for one partition.</summary>
    public int FailedCalls(int partition) => _failedCalls.GetValueOrDefault(partition);

    /// <summary>The next <paramref name="calls"/> calls fail, whatever their partition.</summary>
    public void FailNext(int calls) => Volatile.Write(ref _failNext, calls);

    /// <summary>Every call fails from now on (only those of <paramref name="partition"/> if given) until <see cref="StopFailing"/>.</summary>
    public void StartFailing(int? partition = null)
    {
        _failingPartition = partition ?? -1;
        _failing = true;
    }

    public void StopFailing() => _failing = false;

    public Task StoreAsync(KafkaMessageBatch batch, CancellationToken cancellationToken)
    {
        if (ShouldFail(batch.Partition))
        {
            _refused.Enqueue(batch);
            _failedCalls.AddOrUpdate(batch.Partition, 1, (_, count) => count + 1);
            throw new IOException($"The recording sink was told to fail (partition {batch.Partition}).");
        }

        _stored.Enqueue(batch);
        return Task.CompletedTask;
    }

    private bool ShouldFail(int partition)
    {
        if (_failing && (_failingPartition < 0 || _failingPartition == partition)) return true;
        while (true)
        {
            var left = Volatile.Read(ref _failNext);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref _failNext, left - 1, left) == left) return true;
        }
    }
}
