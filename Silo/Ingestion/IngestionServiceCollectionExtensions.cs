using Microsoft.Extensions.Options;

namespace Analytics.Silo.Ingestion;

public static class IngestionServiceCollectionExtensions
{
    /// <summary>
    /// Adds the consumer that stores <c>user_events</c> in <c>raw_events</c>/<c>dead_letters</c>. Reads section
    /// <c>Kafka</c>; <c>Kafka:BootstrapServers</c> falls back to <c>KAFKA_BOOTSTRAP</c>. Needs <c>AddAnalyticsStorage</c>.
    /// </summary>
    public static IServiceCollection AddRawEventIngestion(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaIngestionOptions>()
            .Bind(configuration.GetSection(KafkaIngestionOptions.SectionName))
            .PostConfigure(o =>
            {
                if (configuration[$"{KafkaIngestionOptions.SectionName}:{nameof(KafkaIngestionOptions.BootstrapServers)}"] is null
                    && configuration["KAFKA_BOOTSTRAP"] is { Length: > 0 } fromEnvironment)
                {
                    o.BootstrapServers = fromEnvironment;
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<KafkaIngestionOptions>, KafkaIngestionOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<IngestionStatus>();
        services.AddHostedService<RawEventIngestionService>();
        return services;
    }
}
