using System.Collections.Concurrent;
using Analytics.Grains.Interfaces.Events;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>What a test grain received: the grain's key, the event and its token.</summary>
public sealed record ReceivedEvent(string GrainKey, UserEvent Event, StreamSequenceToken? Token);

/// <summary>Everything the test grains received, shared by every silo of the test process.</summary>
public sealed class ReceivedEvents
{
    private readonly ConcurrentQueue<ReceivedEvent> _events = new();

    public void Add(ReceivedEvent received) => _events.Enqueue(received);

    public IReadOnlyList<ReceivedEvent> Snapshot() => [.. _events];
}

[Alias("Analytics.Streaming.Kafka.Tests.IRecordingUserGrain")]
public interface IRecordingUserGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task Ping();
}

/// <summary>A user's grain, subscribed implicitly to the user's stream, that records what it is given.</summary>
[ImplicitStreamSubscription(KafkaStreamNamespaces.UserEvents)]
public sealed class RecordingUserGrain(ReceivedEvents received) : Grain, IRecordingUserGrain, IAsyncObserver<UserEvent>
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
        received.Add(new ReceivedEvent(this.GetPrimaryKeyString(), item, token));
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
