using Analytics.Storage;
using Analytics.Streaming.Kafka;

namespace Analytics.Silo.Ingestion;

/// <summary>
/// Stores what the Kafka stream provider reads — valid events in <c>raw_events</c>, the rest in <c>dead_letters</c> —
/// in one transaction per pull, before Orleans delivers any of it. Storing is idempotent (by <c>event_id</c>, and by
/// topic/partition/offset/payload for dead letters), so the provider's retries and replays store nothing twice, and
/// because the provider commits no offset before this returns, a crash never loses a row.
/// </summary>
internal sealed partial class RawEventSink(
    IngestionBatchWriter writer,
    IngestionStatus status,
    TimeProvider time,
    ILogger<RawEventSink> logger) : IKafkaMessageSink
{
    public async Task StoreAsync(KafkaMessageBatch batch, CancellationToken cancellationToken)
    {
        var events = batch.Events.Select(e => new RawEvent(e.Event, e.Partition, e.Offset, e.Epoch)).ToList();
        var deadLetters = batch.DeadLetters
            .Select(d => new DeadLetter(d.Topic, d.Partition, d.Offset, d.Payload.ToArray(), d.Reason, d.ReceivedAt))
            .ToList();
        IngestionBatchResult result;
        try
        {
            result = await writer.WriteAsync(events, deadLetters, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            status.OnWriteFailure(); // the provider logs the failure and retries the same batch
            throw;
        }

        status.OnStored(events.Count, result.InsertedEvents, deadLetters.Count, batch.MissedOffsets, time.GetUtcNow());
        if (result.InsertedEvents < events.Count)
        {
            LogReplayed(logger, batch.Topic, batch.Partition, events.Count - result.InsertedEvents);
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "{Count} events of {Topic}[{Partition}] were stored before (a replay or a duplicate) and were not stored again")]
    private static partial void LogReplayed(ILogger logger, string topic, int partition, int count);
}
