using Microsoft.Extensions.Logging;

namespace Analytics.LocalBroker.Hosting;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information,
        "Mock Kafka cluster started: {BrokerCount} broker(s) at {BootstrapServers} (librdkafka {LibrdkafkaVersion} from {LibrdkafkaPath})")]
    public static partial void ClusterStarted(ILogger logger, int brokerCount, string bootstrapServers, string librdkafkaVersion, string? librdkafkaPath);

    [LoggerMessage(2, LogLevel.Information, "Created topic {Topic} with {Partitions} partition(s)")]
    public static partial void TopicCreated(ILogger logger, string topic, int partitions);

    [LoggerMessage(3, LogLevel.Information, "Kafka bootstrap: {BootstrapServers}; control API on {ControlUrl}")]
    public static partial void Ready(ILogger logger, string bootstrapServers, string controlUrl);

    [LoggerMessage(4, LogLevel.Information, "Wrote the bootstrap address to {BootstrapFile}")]
    public static partial void BootstrapFileWritten(ILogger logger, string bootstrapFile);

    [LoggerMessage(5, LogLevel.Information, "Deleted the bootstrap file {BootstrapFile}")]
    public static partial void BootstrapFileDeleted(ILogger logger, string bootstrapFile);

    [LoggerMessage(6, LogLevel.Warning, "Could not delete the bootstrap file {BootstrapFile}")]
    public static partial void BootstrapFileDeleteFailed(ILogger logger, string bootstrapFile, Exception exception);

    [LoggerMessage(7, LogLevel.Warning, "Broker {BrokerId} is now {BrokerState}")]
    public static partial void BrokerStateChanged(ILogger logger, int brokerId, string brokerState);

    [LoggerMessage(8, LogLevel.Warning, "The next {Count} {ApiKey} request(s) will fail with injected errors")]
    public static partial void RequestErrorsPushed(ILogger logger, int count, KafkaApiKey apiKey);

    [LoggerMessage(9, LogLevel.Information, "Mock Kafka cluster stopped; its data is gone")]
    public static partial void ClusterStopped(ILogger logger);
}
