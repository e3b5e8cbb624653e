using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Hosting;

/// <summary>
/// Where the pipeline's events come from, for readiness (section <c>Kafka</c>, the silo's names for the same things).
/// The web API reads nothing from Kafka: it only checks that the brokers answer and hold the topic.
/// </summary>
public sealed class KafkaHealthOptions
{
    public const string SectionName = "Kafka";

    /// <summary>Comma-separated <c>host:port</c> list of brokers. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>The topic the silos read. Default <c>user_events</c>.</summary>
    public string Topic { get; set; } = "user_events";

    /// <summary>How long one check waits for the brokers' metadata. Default 3 s.</summary>
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Extra librdkafka settings for the check's connection (<c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>), as
    /// the silo's <c>Kafka:Properties</c>. Never logged.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = [];
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class KafkaHealthOptionsValidator : IValidateOptions<KafkaHealthOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaHealthOptions options)
    {
        const string Section = KafkaHealthOptions.SectionName;
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BootstrapServers)) failures.Add($"{Section}:BootstrapServers must be set (host:port of the Kafka brokers, as the silo's).");
        if (string.IsNullOrWhiteSpace(options.Topic)) failures.Add($"{Section}:Topic must be set.");
        if (options.HealthTimeout <= TimeSpan.Zero) failures.Add($"{Section}:HealthTimeout must be positive (was {options.HealthTimeout}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Readiness of the event source: the brokers answer a metadata request for the topic within
/// <see cref="KafkaHealthOptions.HealthTimeout"/>, and every partition of it has a leader. One admin connection is
/// kept for the web API's lifetime (a check every few seconds must not open a connection each time).
/// </summary>
public sealed class KafkaHealthCheck(IOptions<KafkaHealthOptions> options) : IHealthCheck, IDisposable
{
    private readonly Lazy<IAdminClient> _admin = new(() => new AdminClientBuilder(
        new AdminClientConfig(new Dictionary<string, string>(options.Value.Properties)) { BootstrapServers = options.Value.BootstrapServers })
        // The check reports what is wrong; librdkafka's own connection errors would only repeat it in the log.
        .SetLogHandler((_, _) => { })
        .SetErrorHandler((_, _) => { })
        .Build());

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        Metadata metadata;
        try
        {
            // GetMetadata blocks for up to the timeout: off the request's thread.
            metadata = await Task.Run(() => _admin.Value.GetMetadata(settings.Topic, settings.HealthTimeout), cancellationToken);
        }
        catch (KafkaException ex)
        {
            return HealthCheckResult.Unhealthy(
                $"The Kafka brokers ({settings.BootstrapServers}, setting Kafka:BootstrapServers) did not answer within {settings.HealthTimeout.TotalSeconds:0.#} s: {ex.Error.Reason}");
        }

        var topic = metadata.Topics.FirstOrDefault(t => t.Topic == settings.Topic);
        if (topic is null || topic.Error.IsError)
        {
            return HealthCheckResult.Unhealthy($"Topic {settings.Topic} (setting Kafka:Topic): {topic?.Error.Reason ?? "not in the brokers' metadata"}");
        }

        var leaderless = topic.Partitions.Where(p => p.Leader < 0 || p.Error.IsError).Select(p => p.PartitionId).Order().ToList();
        var data = new Dictionary<string, object> { ["partitions"] = topic.Partitions.Count, ["brokers"] = metadata.Brokers.Count };
        return leaderless.Count == 0
            ? HealthCheckResult.Healthy($"topic {settings.Topic}: {topic.Partitions.Count} partitions on {metadata.Brokers.Count} broker(s)", data)
            : HealthCheckResult.Degraded($"topic {settings.Topic}: partitions [{string.Join(", ", leaderless)}] have no leader", data: data);
    }

    public void Dispose()
    {
        if (_admin.IsValueCreated) _admin.Value.Dispose();
    }
}
