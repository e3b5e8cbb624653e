using Analytics.Grains.Interfaces.Events;
using Analytics.Streaming.Kafka;
using Analytics.StreamingBenchmark.Measurement;
using Orleans.Streams;

namespace Analytics.StreamingBenchmark.Subscribers;

/// <summary>The subscriber grain's interface (the grain has no calls of its own; it only receives stream events).</summary>
[Alias("Analytics.StreamingBenchmark.ICountingUserGrain")]
public interface ICountingUserGrain : IGrainWithStringKey;

/// <summary>
/// A user's grain that does the least a subscriber can: subscribes to its user's stream when it activates (the pattern
/// of this codebase's user grains) and counts each event in a process-wide counter.
/// </summary>
[ImplicitStreamSubscription(KafkaStreamNamespaces.UserEvents)]
public sealed class CountingUserGrain : Grain, ICountingUserGrain, IAsyncObserver<UserEvent>
{
    /// <summary>Events delivered to any grain of this class in this process.</summary>
    internal static EventCounter Delivered { get; } = new();

    /// <summary>Activations of this class in this process.</summary>
    internal static EventCounter Activations { get; } = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Activations.Increment();
        var stream = this.GetStreamProvider(SubscriberNames.StreamProvider)
            .GetStream<UserEvent>(StreamId.Create(KafkaStreamNamespaces.UserEvents, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(this);
    }

    public Task OnNextAsync(UserEvent item, StreamSequenceToken? token = null)
    {
        Delivered.Increment();
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}

/// <summary>Names the silo and the grain agree on.</summary>
internal static class SubscriberNames
{
    /// <summary>The Kafka stream provider's name.</summary>
    public const string StreamProvider = "kafka";
}
