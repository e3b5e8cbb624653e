using Confluent.Kafka;

namespace Analytics.LocalBroker;

/// <summary>A librdkafka mock-cluster call failed.</summary>
public sealed class MockKafkaException : Exception
{
    public MockKafkaException()
    {
    }

    public MockKafkaException(string message)
        : base(message)
    {
    }

    public MockKafkaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MockKafkaException(string message, ErrorCode error)
        : base(message) => Error = error;

    /// <summary>The librdkafka error the call returned, or <see cref="ErrorCode.Unknown"/> when it gave none.</summary>
    public ErrorCode Error { get; } = ErrorCode.Unknown;
}
