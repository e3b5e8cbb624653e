using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Analytics.Streaming.Kafka.Hosting;

/// <summary>Adds the Kafka stream provider to a cluster client, so that it can subscribe to the provider's streams.</summary>
public static class ClientBuilderExtensions
{
    /// <summary>Adds Kafka persistent streams named <paramref name="name"/>, configured in code.</summary>
    public static IClientBuilder AddKafkaStreams(this IClientBuilder builder, string name, Action<KafkaStreamOptions> configureOptions)
        => builder.AddKafkaStreams(name, configurator => configurator.ConfigureKafka(ob => ob.Configure(configureOptions)));

    /// <summary>Adds Kafka persistent streams named <paramref name="name"/>, bound to a configuration section.</summary>
    public static IClientBuilder AddKafkaStreams(this IClientBuilder builder, string name, IConfiguration configuration)
        => builder.AddKafkaStreams(name, configurator => configurator.ConfigureKafka(ob => ob.Bind(configuration)));

    /// <summary>Adds Kafka persistent streams named <paramref name="name"/> with full control of the configurator.</summary>
    public static IClientBuilder AddKafkaStreams(this IClientBuilder builder, string name, Action<ClusterClientKafkaStreamConfigurator>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configurator = new ClusterClientKafkaStreamConfigurator(name, builder);
        configure?.Invoke(configurator);
        return builder;
    }
}
