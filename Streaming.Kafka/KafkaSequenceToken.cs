using System.Globalization;
using Orleans;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka;

/// <summary>
/// Where an event sits in Kafka: its partition and offset. Tokens order by partition, then offset; within one queue
/// (one partition) that is the log order. <see cref="StreamSequenceToken.SequenceNumber"/> is the offset.
/// </summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.Streaming.Kafka.KafkaSequenceToken")]
public sealed class KafkaSequenceToken : StreamSequenceToken
{
    /// <summary>Creates the token of the message at <paramref name="offset"/> of <paramref name="partition"/>.</summary>
    public KafkaSequenceToken(int partition, long offset, int eventIndex = 0, int epoch = 0)
    {
        Partition = partition;
        SequenceNumber = offset;
        EventIndex = eventIndex;
        Epoch = epoch;
    }

    /// <summary>The Kafka partition.</summary>
    [Id(0)]
    public int Partition { get; private set; }

    /// <summary>The Kafka offset (same as <see cref="SequenceNumber"/>).</summary>
    public long Offset => SequenceNumber;

    /// <inheritdoc />
    [Id(1)]
    public override long SequenceNumber { get; protected set; }

    /// <inheritdoc />
    [Id(2)]
    public override int EventIndex { get; protected set; }

    /// <summary>
    /// Which incarnation of the topic the offset belongs to: a digest of the topic id, which Kafka assigns anew when a
    /// topic is (re)created and offsets start again from 0. Offsets compare only within one epoch; 0 when unknown.
    /// Not part of equality or ordering: the tokens of one queue all share it (it is fixed when the silo starts).
    /// </summary>
    [Id(3)]
    public int Epoch { get; private set; }

    /// <inheritdoc />
    public override bool Equals(StreamSequenceToken? other)
        => other is KafkaSequenceToken token
            && token.Partition == Partition
            && token.SequenceNumber == SequenceNumber
            && token.EventIndex == EventIndex;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as StreamSequenceToken);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Partition, SequenceNumber, EventIndex);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="other"/> is a token of another provider.</exception>
    public override int CompareTo(StreamSequenceToken? other)
    {
        if (other is null) return 1;
        if (other is not KafkaSequenceToken token)
        {
            throw new ArgumentException($"Cannot compare a Kafka token with a {other.GetType().Name}.", nameof(other));
        }

        var byPartition = Partition.CompareTo(token.Partition);
        if (byPartition != 0) return byPartition;
        var byOffset = SequenceNumber.CompareTo(token.SequenceNumber);
        return byOffset != 0 ? byOffset : EventIndex.CompareTo(token.EventIndex);
    }

    /// <inheritdoc />
    public override string ToString()
        => EventIndex == 0
            ? string.Create(CultureInfo.InvariantCulture, $"[{Partition}]@{SequenceNumber}")
            : string.Create(CultureInfo.InvariantCulture, $"[{Partition}]@{SequenceNumber}.{EventIndex}");
}
