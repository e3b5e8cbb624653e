using System.Collections.Concurrent;
using Analytics.LocalBroker;
using Analytics.Streaming.Kafka.Hosting;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Analytics.Streaming.Kafka.Tests;

[CollectionDefinition(Name)]
public sealed class KafkaSiloCollection : ICollectionFixture<KafkaSiloFixture>
{
    public const string Name = "Kafka silo";
}

/// <summary>
/// An in-process Kafka-protocol broker with an 8-partition <c>user_events</c> topic and one Orleans silo reading it
/// through the Kafka stream provider. Tests use fresh user ids so that they never see each other's events.
/// </summary>
public sealed class KafkaSiloFixture : IAsyncLifetime
{
    public const string ProviderName = "kafka";
    public const string Topic = "user_events";
    public const int Partitions = 8;

    private const string ServiceId = "kafka-tests";

    private readonly ConcurrentDictionary<IHost, (int GatewayPort, string ClusterId)> _gateways = new();
    private IHost? _host;

    public MockKafkaCluster Cluster { get; } = MockKafkaCluster.Start(1);

    public string ConsumerGroup { get; } = "analytics-silo-" + Guid.NewGuid().ToString("N");

    public ReceivedEvents Received { get; } = new();

    public RecordingDeadLetterSink DeadLetters { get; } = new();

    public IHost Host => _host ?? throw new InvalidOperationException("The silo has not started.");

    public async Task InitializeAsync()
    {
        Cluster.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
        Cluster.CreateTopic(Topic, Partitions);
        _host = BuildSilo(options => { });
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }

        Cluster.Dispose();
    }

    /// <summary>A silo on free ports reading <see cref="Topic"/> as <see cref="ConsumerGroup"/>; not started.</summary>
    /// <param name="adjust">Changes to the fixture's options.</param>
    /// <param name="received">Where its grains record events; the fixture's own by default.</param>
    public IHost BuildSilo(Action<KafkaStreamOptions> adjust, ReceivedEvents? received = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(received ?? Received);
        builder.Services.AddSingleton<IKafkaDeadLetterSink>(DeadLetters);
        var gatewayPort = FreePorts.Next();
        var clusterId = Guid.NewGuid().ToString("N");
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: FreePorts.Next(), gatewayPort: gatewayPort, serviceId: ServiceId, clusterId: clusterId)
            .AddMemoryGrainStorage("PubSubStore")
            .AddKafkaStreams(ProviderName, options =>
            {
                options.BootstrapServers = Cluster.BootstrapServers;
                options.Topic = Topic;
                options.ConsumerGroup = ConsumerGroup;
                options.Partitions = Partitions;
                adjust(options);
            }));
        var host = builder.Build();
        _gateways[host] = (gatewayPort, clusterId);
        return host;
    }

    /// <summary>A cluster client of <paramref name="silo"/> with the Kafka stream provider; not started.</summary>
    public IHost BuildClient(IHost silo)
    {
        var (gatewayPort, clusterId) = _gateways[silo];
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client => client
            .UseLocalhostClustering(gatewayPort, ServiceId, clusterId)
            .AddKafkaStreams(ProviderName, options =>
            {
                options.BootstrapServers = Cluster.BootstrapServers;
                options.Partitions = Partitions;
            }));
        return builder.Build();
    }

    public IProducer<string, byte[]> CreateProducer() => new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = Cluster.BootstrapServers,
        Acks = Acks.All,
        LingerMs = 5,
    }).Build();

    /// <summary>The committed offset of every partition for a group (the fixture's by default; -1 where none).</summary>
    public IReadOnlyList<long> CommittedOffsets(string? consumerGroup = null)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            GroupId = consumerGroup ?? ConsumerGroup,
            EnableAutoCommit = false,
        }).Build();
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToList();
        return [.. consumer.Committed(partitions, TimeSpan.FromSeconds(10))
            .OrderBy(c => c.Partition.Value)
            .Select(c => c.Offset.IsSpecial ? -1L : c.Offset.Value)];
    }

    /// <summary>The end (next offset to be written) of every partition.</summary>
    public IReadOnlyList<long> EndOffsets()
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            GroupId = "watermarks-" + Guid.NewGuid().ToString("N"),
        }).Build();
        return [.. Enumerable.Range(0, Partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10)).High.Value)];
    }
}
