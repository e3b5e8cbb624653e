using Analytics.Grains;
using Analytics.Streaming.Kafka;
using Analytics.Streaming.Kafka.Hosting;

namespace Analytics.Silo.Ingestion;

public static class IngestionServiceCollectionExtensions
{
    /// <summary>The configuration section of the stream provider's <see cref="KafkaStreamOptions"/>.</summary>
    public const string SectionName = "Kafka";

    /// <summary>Brokers used when neither <c>Kafka:BootstrapServers</c> nor <c>KAFKA_BOOTSTRAP</c> is set.</summary>
    public const string DefaultBootstrapServers = "127.0.0.1:9092";

    /// <summary>
    /// Reads <c>user_events</c> through the Kafka stream provider (<see cref="GrainConstants.StreamProviderName"/>),
    /// bound to section <c>Kafka</c> (<c>Kafka:BootstrapServers</c> falls back to <c>KAFKA_BOOTSTRAP</c>), and stores
    /// every pull in <c>raw_events</c>/<c>dead_letters</c> before the grains get it. Needs <c>AddAnalyticsStorage</c>.
    /// </summary>
    public static ISiloBuilder AddRawEventIngestion(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddMetrics();
        silo.Services.AddSingleton<IngestionStatus>();
        silo.Services.AddKeyedSingleton<IKafkaMessageSink, RawEventSink>(GrainConstants.StreamProviderName);
        return silo.AddKafkaStreams(GrainConstants.StreamProviderName, configurator => configurator.ConfigureKafka(options => options
            .Bind(configuration.GetSection(SectionName))
            .PostConfigure(o =>
            {
                // The grains take events in batches per partition (PartitionEventsGrain), never one stream per user.
                o.EventDelivery = KafkaEventDelivery.PartitionBatches;
                if (string.IsNullOrEmpty(configuration[$"{SectionName}:{nameof(KafkaStreamOptions.BootstrapServers)}"]))
                {
                    o.BootstrapServers = configuration["KAFKA_BOOTSTRAP"] is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultBootstrapServers;
                }
            })));
    }
}
