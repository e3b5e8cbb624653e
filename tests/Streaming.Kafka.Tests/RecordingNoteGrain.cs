using System.Collections.Concurrent;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>A stream item that is not a user event: the provider writes it Orleans-serialized.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.Streaming.Kafka.Tests.TestNote")]
public sealed record TestNote
{
    [Id(0)] public required Guid NoteId { get; init; }

    [Id(1)] public required string Text { get; init; }
}

/// <summary>What a note grain received: its key, the note and its token.</summary>
public sealed record ReceivedNote(string GrainKey, TestNote Note, StreamSequenceToken? Token);

/// <summary>Every note the note grains received, shared by every silo of the test process.</summary>
public sealed class ReceivedNotes
{
    public const string Namespace = "test-notes";

    private readonly ConcurrentQueue<ReceivedNote> _notes = new();

    public void Add(ReceivedNote received) => _notes.Enqueue(received);

    public IReadOnlyList<ReceivedNote> Snapshot() => [.. _notes];
}

[Alias("Analytics.Streaming.Kafka.Tests.IRecordingNoteGrain")]
public interface IRecordingNoteGrain : IGrainWithStringKey
{
    [Alias("Ping")]
    Task Ping();
}

/// <summary>The implicit subscriber of every <see cref="ReceivedNotes.Namespace"/> stream.</summary>
[ImplicitStreamSubscription(ReceivedNotes.Namespace)]
public sealed class RecordingNoteGrain(ReceivedNotes notes) : Grain, IRecordingNoteGrain, IAsyncObserver<TestNote>
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var stream = this.GetStreamProvider(KafkaSiloFixture.ProviderName)
            .GetStream<TestNote>(StreamId.Create(ReceivedNotes.Namespace, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync(this);
    }

    public Task Ping() => Task.CompletedTask;

    public Task OnNextAsync(TestNote item, StreamSequenceToken? token = null)
    {
        notes.Add(new ReceivedNote(this.GetPrimaryKeyString(), item, token));
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
