using System.Collections.Concurrent;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>A dead-letter sink that keeps what it is given.</summary>
public sealed class RecordingDeadLetterSink : IKafkaDeadLetterSink
{
    private readonly ConcurrentQueue<KafkaDeadLetter> _deadLetters = new();

    public IReadOnlyList<KafkaDeadLetter> Snapshot() => [.. _deadLetters];

    public Task HandleAsync(KafkaDeadLetter deadLetter, CancellationToken cancellationToken)
    {
        _deadLetters.Enqueue(deadLetter);
        return Task.CompletedTask;
    }
}
