using System.Collections.Concurrent;
using Analytics.Grains.Interfaces.Events;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>What the <see cref="PoisonSensitiveUserGrain"/>s saw: events they took, and deliveries they refused.</summary>
public sealed class PoisonLog
{
    /// <summary>The product id that makes a <see cref="PoisonSensitiveUserGrain"/> fail; no other test uses it.</summary>
    public const string PoisonProductId = "poison-pill";

    private readonly ConcurrentQueue<ReceivedEvent> _accepted = new();
    private readonly ConcurrentQueue<ReceivedEvent> _refused = new();

    public void Accept(ReceivedEvent received) => _accepted.Enqueue(received);

    public void Refuse(ReceivedEvent received) => _refused.Enqueue(received);

    public IReadOnlyList<ReceivedEvent> Accepted() => [.. _accepted];

    /// <summary>Every delivery attempt that threw (one per attempt).</summary>
    public IReadOnlyList<ReceivedEvent> Refused() => [.. _refused];
}

[Alias("Analytics.Streaming.Kafka.Tests.IPoisonSensitiveUserGrain")]
public interface IPoisonSensitiveUserGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task Ping();
}

/// <summary>
/// A second implicit subscriber of every user's stream (beside <see cref="RecordingUserGrain"/>) that throws on every
/// delivery of an event whose product is <see cref="PoisonLog.PoisonProductId"/>, and takes any other.
/// </summary>
[ImplicitStreamSubscription(KafkaStreamNamespaces.UserEvents)]
public sealed class PoisonSensitiveUserGrain(PoisonLog log) : Grain, IPoisonSensitiveUserGrain, IAsyncObserver<UserEvent>
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(KafkaSiloFixture.ProviderName)
            .GetStream<UserEvent>(StreamId.Create(KafkaStreamNamespaces.UserEvents, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(this);
    }

    public Task Ping() => Task.CompletedTask;

    public Task OnNextAsync(UserEvent item, StreamSequenceToken? token = null)
    {
        var received = new ReceivedEvent(this.GetPrimaryKeyString(), item, token);
        if (item.ProductId == PoisonLog.PoisonProductId)
        {
            log.Refuse(received);
            throw new InvalidOperationException($"Event {item.EventId} is poison for this subscriber.");
        }

        log.Accept(received);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
