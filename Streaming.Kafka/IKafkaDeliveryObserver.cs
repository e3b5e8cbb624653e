namespace Analytics.Streaming.Kafka;

/// <summary>How far one partition has been delivered.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Epoch">The topic's epoch (<see cref="KafkaSequenceToken.Epoch"/>).</param>
/// <param name="DeliveredBelow">Every message below this offset is handled: delivered to every subscriber (their <c>OnNextAsync</c> returned) or stored as a dead letter.</param>
/// <param name="MaxEventTime">The highest <c>event_time</c> of the user events newly handled (since the last report for this partition), or null if there were none.</param>
public readonly record struct KafkaDeliveryProgress(string Topic, int Partition, int Epoch, long DeliveredBelow, DateTimeOffset? MaxEventTime);

/// <summary>
/// Told whenever the handled prefix of a partition grows: what a subscriber-side clock (an event-time watermark) needs
/// so that it never runs ahead of what subscribers have actually processed. Register one in the silo's services (keyed
/// by the provider name, or unkeyed for every provider).
/// </summary>
/// <remarks>
/// Called on the queue's pulling agent, between pulls: keep it cheap and never block (record, and act elsewhere).
/// Exceptions are logged and otherwise ignored. Reports of one partition come in offset order from one silo at a time;
/// when a queue moves, the next owner may report part of the same range again.
/// </remarks>
public interface IKafkaDeliveryObserver
{
    /// <summary>The handled prefix of a partition grew.</summary>
    void OnDelivered(KafkaDeliveryProgress progress);
}
