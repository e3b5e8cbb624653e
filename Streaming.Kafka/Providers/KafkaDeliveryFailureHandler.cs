using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// What happens when Orleans gives up delivering an event to a subscriber (it retries with back-off for
/// <see cref="KafkaStreamOptions.MaxDeliveryTime"/> first): the event becomes a dead letter through the queue's
/// receiver, and the subscription goes on with the next event, so a poison event never stops a partition.
/// </summary>
internal sealed partial class KafkaDeliveryFailureHandler(Func<KafkaQueueAdapterReceiver?> receiver) : IStreamFailureHandler
{
    public bool ShouldFaultSubsriptionOnError => false;

    public Task OnDeliveryFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
        => sequenceToken is KafkaSequenceToken token && receiver() is { } owner
            ? owner.DeadLetterUndeliveredAsync(subscriptionId, streamIdentity, token)
            : Task.CompletedTask;

    public Task OnSubscriptionFailure(GuidId subscriptionId, string streamProviderName, StreamId streamIdentity, StreamSequenceToken? sequenceToken)
        => Task.CompletedTask;
}
