using Microsoft.Extensions.Options;

namespace Analytics.Silo.Ingestion;

/// <summary>Refuses start-up with a message that names the setting, rather than failing later inside librdkafka.</summary>
internal sealed class KafkaIngestionOptionsValidator : IValidateOptions<KafkaIngestionOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaIngestionOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            failures.Add("Kafka:BootstrapServers is required (host:port[,host:port…]).");
        }
        else
        {
            foreach (var server in options.BootstrapServers.Split(',', StringSplitOptions.TrimEntries))
            {
                var colon = server.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
                {
                    failures.Add($"Kafka:BootstrapServers entry '{server}' is not host:port.");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.Topic)) failures.Add("Kafka:Topic is required.");
        if (string.IsNullOrWhiteSpace(options.ConsumerGroup)) failures.Add("Kafka:ConsumerGroup is required.");
        if (options.MaxBatchSize is < 1 or > 1_000_000) failures.Add($"Kafka:MaxBatchSize must be between 1 and 1,000,000 (was {options.MaxBatchSize}).");
        if (options.MaxBatchDelay <= TimeSpan.Zero || options.MaxBatchDelay > TimeSpan.FromMinutes(1))
            failures.Add($"Kafka:MaxBatchDelay must be between 0 and 1 minute (was {options.MaxBatchDelay}).");
        if (options.SessionTimeout < TimeSpan.FromSeconds(1) || options.SessionTimeout > TimeSpan.FromMinutes(30))
            failures.Add($"Kafka:SessionTimeout must be between 1 s and 30 min (was {options.SessionTimeout}).");
        if (options.RetryDelay <= TimeSpan.Zero) failures.Add($"Kafka:RetryDelay must be positive (was {options.RetryDelay}).");
        if (!Enum.IsDefined(options.AutoOffsetReset)) failures.Add("Kafka:AutoOffsetReset must be Earliest or Latest.");

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
