using Analytics.Streaming.Kafka.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Analytics.Streaming.Kafka.Hosting;

/// <summary>Configures the Kafka stream provider of a silo (options, cache size).</summary>
public sealed class SiloKafkaStreamConfigurator : SiloPersistentStreamConfigurator
{
    /// <summary>Registers the provider <paramref name="name"/> with the silo's services.</summary>
    public SiloKafkaStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, KafkaAdapterFactory.CreateForSilo)
    {
        ConfigureDelegate(services => services
            .ConfigureNamedOptionForLogging<KafkaStreamOptions>(name)
            .ConfigureNamedOptionForLogging<SimpleQueueCacheOptions>(name)
            .AddTransient<IConfigurationValidator>(sp => new KafkaStreamOptionsValidator(
                sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name), name)));
    }

    /// <summary>Configures <see cref="KafkaStreamOptions"/>.</summary>
    public SiloKafkaStreamConfigurator ConfigureKafka(Action<OptionsBuilder<KafkaStreamOptions>> configureOptions)
    {
        this.Configure(configureOptions);
        return this;
    }

    /// <summary>
    /// Sets how many batches (one per Kafka message) each queue's cache holds. A tenth of it is the most one pull
    /// takes; delivered batches leave the cache, and are committed, a tenth at a time.
    /// </summary>
    public SiloKafkaStreamConfigurator ConfigureCache(int cacheSize = SimpleQueueCacheOptions.DEFAULT_CACHE_SIZE)
    {
        this.Configure<SimpleQueueCacheOptions>(ob => ob.Configure(options => options.CacheSize = cacheSize));
        return this;
    }
}

/// <summary>Configures the Kafka stream provider of a cluster client, which subscribes but never reads Kafka.</summary>
public sealed class ClusterClientKafkaStreamConfigurator : ClusterClientPersistentStreamConfigurator
{
    /// <summary>Registers the provider <paramref name="name"/> with the client's services.</summary>
    public ClusterClientKafkaStreamConfigurator(string name, IClientBuilder builder)
        : base(name, builder, KafkaAdapterFactory.CreateForClient)
    {
        builder.ConfigureServices(services => services
            .ConfigureNamedOptionForLogging<KafkaStreamOptions>(name)
            .AddTransient<IConfigurationValidator>(sp => new KafkaStreamOptionsValidator(
                sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name), name)));
    }

    /// <summary>Configures <see cref="KafkaStreamOptions"/>.</summary>
    public ClusterClientKafkaStreamConfigurator ConfigureKafka(Action<OptionsBuilder<KafkaStreamOptions>> configureOptions)
    {
        this.Configure(configureOptions);
        return this;
    }
}
