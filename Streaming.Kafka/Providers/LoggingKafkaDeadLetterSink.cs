using Analytics.Grains.Interfaces.Events;
using Microsoft.Extensions.Logging;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>The dead-letter sink used when the host registers none: every dead letter is an error in the log.</summary>
internal sealed partial class LoggingKafkaDeadLetterSink(ILogger<LoggingKafkaDeadLetterSink> logger) : IKafkaDeadLetterSink
{
    public Task HandleAsync(KafkaDeadLetter deadLetter, CancellationToken cancellationToken)
    {
        LogDeadLetter(logger, deadLetter.Topic, deadLetter.Partition, deadLetter.Offset, deadLetter.Rejection.Code, deadLetter.Rejection.Message, deadLetter.Payload.Length);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 2200, Level = LogLevel.Error, Message = "Dead letter {Topic}[{Partition}]@{Offset} ({PayloadBytes} bytes): {Code}: {Reason}; no IKafkaDeadLetterSink is registered, so it is only logged")]
    private static partial void LogDeadLetter(ILogger logger, string topic, int partition, long offset, EventRejectionCode code, string reason, int payloadBytes);
}
