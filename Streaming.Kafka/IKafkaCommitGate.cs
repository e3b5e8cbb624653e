using Orleans.Runtime;

namespace Analytics.Streaming.Kafka;

/// <summary>The events of one partition whose offsets are about to be committed.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Epoch">The topic's epoch (<see cref="KafkaSequenceToken.Epoch"/>): offsets compare only within one.</param>
/// <param name="CommitOffset">The offset to be committed: every message below it has been delivered (or dead-lettered).</param>
/// <param name="Streams">Each stream that was delivered messages below <paramref name="CommitOffset"/> since the gate last succeeded for this partition.</param>
public sealed record KafkaCommitRange(string Topic, int Partition, int Epoch, long CommitOffset, IReadOnlyDictionary<StreamId, KafkaStreamSpan> Streams);

/// <summary>What one stream was delivered from one partition since the gate last succeeded.</summary>
/// <param name="FirstOffset">Offset of its first such message.</param>
/// <param name="LastOffset">Offset of its last such message.</param>
/// <param name="Events">Its user events among them, in offset order: what a subscriber that lost them (its activation died before it made them durable) needs to recover.</param>
public sealed record KafkaStreamSpan(long FirstOffset, long LastOffset, IReadOnlyList<KafkaUserEvent> Events);

/// <summary>
/// Lets subscribers that keep their state in memory and write it behind make it durable before the provider commits
/// offsets: a committed offset means "never delivered again", so whatever its events did must survive a crash by
/// then. Register one in the silo's services (keyed by the provider name, or unkeyed for every provider).
/// </summary>
/// <remarks>
/// The provider calls it off the delivery path (delivery goes on meanwhile) at most every
/// <see cref="KafkaStreamOptions.CommitInterval"/> per partition, and when a queue is released. If it throws or is
/// cancelled, nothing is committed and the same streams are offered again, together with newer ones, next time.
/// </remarks>
public interface IKafkaCommitGate
{
    /// <summary>Returns once everything delivered on <paramref name="range"/>'s streams is durable.</summary>
    Task PrepareCommitAsync(KafkaCommitRange range, CancellationToken cancellationToken);
}
