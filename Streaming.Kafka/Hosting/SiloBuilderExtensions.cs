using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Analytics.Streaming.Kafka.Hosting;

/// <summary>Adds the Kafka stream provider to a silo.</summary>
public static class SiloBuilderExtensions
{
    /// <summary>Adds Kafka persistent streams named <paramref name="name"/>, configured in code.</summary>
    public static ISiloBuilder AddKafkaStreams(this ISiloBuilder builder, string name, Action<KafkaStreamOptions> configureOptions)
        => builder.AddKafkaStreams(name, configurator => configurator.ConfigureKafka(ob => ob.Configure(configureOptions)));

    /// <summary>Adds Kafka persistent streams named <paramref name="name"/>, bound to a configuration section (e.g. <c>Kafka</c>).</summary>
    public static ISiloBuilder AddKafkaStreams(this ISiloBuilder builder, string name, IConfiguration configuration)
        => builder.AddKafkaStreams(name, configurator => configurator.ConfigureKafka(ob => ob.Bind(configuration)));

    /// <summary>Adds Kafka persistent streams named <paramref name="name"/> with full control of the configurator.</summary>
    public static ISiloBuilder AddKafkaStreams(this ISiloBuilder builder, string name, Action<SiloKafkaStreamConfigurator>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configurator = new SiloKafkaStreamConfigurator(name, configureServices => builder.ConfigureServices(configureServices));
        configure?.Invoke(configurator);
        return builder;
    }
}
