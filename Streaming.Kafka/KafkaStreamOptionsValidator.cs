using System.Globalization;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Analytics.Streaming.Kafka;

/// <summary>
/// Checks a provider's <see cref="KafkaStreamOptions"/> at start-up. Messages name the setting as
/// <c>&lt;provider&gt;:&lt;setting&gt;</c>, e.g. <c>kafka:BootstrapServers</c>.
/// </summary>
public sealed class KafkaStreamOptionsValidator(KafkaStreamOptions options, StreamPullingAgentOptions? pullingAgent, string name) : IConfigurationValidator
{
    private static readonly string[] ReservedProperties = ["bootstrap.servers", "group.id", "enable.auto.commit"];

    /// <inheritdoc />
    /// <exception cref="OrleansConfigurationException">A setting is missing or out of range; the message names it.</exception>
    public void ValidateConfiguration()
    {
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            Fail(nameof(options.BootstrapServers), "is required (comma-separated host:port list)");
        }

        foreach (var entry in options.BootstrapServers.Split(','))
        {
            var server = entry.Trim();
            var colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                Fail(nameof(options.BootstrapServers), $"entry '{server}' is not host:port");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Topic)) Fail(nameof(options.Topic), "is required");
        if (string.IsNullOrWhiteSpace(options.ConsumerGroup)) Fail(nameof(options.ConsumerGroup), "is required");
        if (options.Partitions < 1) Fail(nameof(options.Partitions), $"must be at least 1 (was {options.Partitions})");
        if (options.PollBatchSize < 1) Fail(nameof(options.PollBatchSize), $"must be at least 1 (was {options.PollBatchSize})");
        if (!Enum.IsDefined(options.EventDelivery)) Fail(nameof(options.EventDelivery), $"'{options.EventDelivery}' is not PerUser or PartitionBatches");
        if (!Enum.IsDefined(options.AutoOffsetReset)) Fail(nameof(options.AutoOffsetReset), $"'{options.AutoOffsetReset}' is not Earliest, Latest or Error");
        if (options.StartupTimeout <= TimeSpan.Zero) Fail(nameof(options.StartupTimeout), $"must be positive (was {options.StartupTimeout})");
        if (options.CacheSize < 10) Fail(nameof(options.CacheSize), $"must be at least 10 (was {options.CacheSize})");
        if (options.CommitInterval < TimeSpan.Zero) Fail(nameof(options.CommitInterval), $"must not be negative (was {options.CommitInterval})");
        if (options.StoreRetryDelay <= TimeSpan.Zero) Fail(nameof(options.StoreRetryDelay), $"must be positive (was {options.StoreRetryDelay})");
        if (options.MaxDeliveryTime <= TimeSpan.Zero) Fail(nameof(options.MaxDeliveryTime), $"must be positive (was {options.MaxDeliveryTime})");
        if (options.PublishTimeout <= TimeSpan.Zero) Fail(nameof(options.PublishTimeout), $"must be positive (was {options.PublishTimeout})");

        // The provider's checkpoints rely on a cursor delivering one batch at a time (see KafkaQueueCache).
        if (pullingAgent is { BatchContainerBatchSize: > 1 })
        {
            Fail(nameof(StreamPullingAgentOptions.BatchContainerBatchSize), $"must be 1 for the Kafka provider (was {pullingAgent.BatchContainerBatchSize})");
        }

        foreach (var key in ReservedProperties)
        {
            if (options.Properties.ContainsKey(key))
            {
                Fail($"{nameof(options.Properties)}:{key}", "is set by the provider and may not be given here");
            }
        }
    }

    private void Fail(string setting, string problem)
        => throw new OrleansConfigurationException($"{name}:{setting} {problem}.");
}
