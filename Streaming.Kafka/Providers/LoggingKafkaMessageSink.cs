using Microsoft.Extensions.Logging;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>The sink used when the host registers none: events are only delivered, every dead letter is an error in the log.</summary>
internal sealed partial class LoggingKafkaMessageSink(ILogger<LoggingKafkaMessageSink> logger) : IKafkaMessageSink
{
    public Task StoreAsync(KafkaMessageBatch batch, CancellationToken cancellationToken)
    {
        foreach (var deadLetter in batch.DeadLetters)
        {
            LogDeadLetter(logger, deadLetter.Topic, deadLetter.Partition, deadLetter.Offset, deadLetter.Reason, deadLetter.Payload.Length);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Error, Message = "Dead letter {Topic}[{Partition}]@{Offset} ({PayloadBytes} bytes): {Reason}; no IKafkaMessageSink is registered, so it is only logged")]
    private static partial void LogDeadLetter(ILogger logger, string topic, int partition, long offset, string reason, int payloadBytes);
}
