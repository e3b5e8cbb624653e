using Analytics.Streaming.Kafka.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Hosting;

/// <summary>
/// Configures the Kafka stream provider of a silo. Defaults that differ from Orleans': implicit subscriptions only (no
/// pub-sub grain per stream: a user stream has one implicit subscriber, and 100,000 of them need no storage), the cache
/// size from <see cref="KafkaStreamOptions.CacheSize"/>, a 10 ms pull period, and delivery retries bounded by
/// <see cref="KafkaStreamOptions.MaxDeliveryTime"/> with a short back-off.
/// </summary>
public sealed class SiloKafkaStreamConfigurator : SiloPersistentStreamConfigurator
{
    /// <summary>How often each queue's pulling agent looks for messages when it has none (Orleans' default is 100 ms).</summary>
    public static readonly TimeSpan PullPeriod = TimeSpan.FromMilliseconds(10);

    /// <summary>Registers the provider <paramref name="name"/> with the silo's services.</summary>
    public SiloKafkaStreamConfigurator(string name, Action<Action<IServiceCollection>> configureServicesDelegate)
        : base(name, configureServicesDelegate, KafkaAdapterFactory.CreateForSilo)
    {
        ConfigureDelegate(services => services
            .ConfigureNamedOptionForLogging<KafkaStreamOptions>(name)
            .AddKeyedSingleton<KafkaStreamProviderStatus>(name)
            .AddTransient<IConfigurationValidator>(sp => new KafkaStreamOptionsValidator(
                sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name),
                sp.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get(name),
                name)));
        this.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
        this.ConfigurePullingAgent(ob => ob.Configure<IOptionsMonitor<KafkaStreamOptions>>((agent, kafka) =>
        {
            agent.MaxEventDeliveryTime = kafka.Get(name).MaxDeliveryTime;
            // With a small cache the agent fills it many times a second; at Orleans' 100 ms it would wait between fills.
            agent.GetQueueMsgsTimerPeriod = PullPeriod;
        }));
        this.ConfigureBackoffProvider((_, _) => new KafkaDeliveryBackoff());
    }

    /// <summary>Configures <see cref="KafkaStreamOptions"/>.</summary>
    public SiloKafkaStreamConfigurator ConfigureKafka(Action<OptionsBuilder<KafkaStreamOptions>> configureOptions)
    {
        this.Configure(configureOptions);
        return this;
    }
}

/// <summary>
/// Configures the Kafka stream provider of a cluster client, which publishes but never reads Kafka. A client can only
/// subscribe if the silos and the client opt into explicit pub-sub (<c>ConfigureStreamPubSub(StreamPubSubType.ExplicitGrainBasedAndImplicit)</c>
/// on both, and grain storage named <c>PubSubStore</c> on the silos).
/// </summary>
public sealed class ClusterClientKafkaStreamConfigurator : ClusterClientPersistentStreamConfigurator
{
    /// <summary>Registers the provider <paramref name="name"/> with the client's services.</summary>
    public ClusterClientKafkaStreamConfigurator(string name, IClientBuilder builder)
        : base(name, builder, KafkaAdapterFactory.CreateForClient)
    {
        builder.ConfigureServices(services => services
            .ConfigureNamedOptionForLogging<KafkaStreamOptions>(name)
            .AddTransient<IConfigurationValidator>(sp => new KafkaStreamOptionsValidator(
                sp.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name), pullingAgent: null, name)));
        this.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
    }

    /// <summary>Configures <see cref="KafkaStreamOptions"/>.</summary>
    public ClusterClientKafkaStreamConfigurator ConfigureKafka(Action<OptionsBuilder<KafkaStreamOptions>> configureOptions)
    {
        this.Configure(configureOptions);
        return this;
    }
}
