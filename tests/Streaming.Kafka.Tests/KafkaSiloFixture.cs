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
/// through the Kafka stream provider, with the provider's defaults. Tests use fresh user ids so that they never see
/// each other's events; tests that need other settings build their own silo on their own topic.
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

    /// <summary>What the fixture silo's provider stored before delivering (events and dead letters).</summary>
    public RecordingMessageSink Sink { get; } = new();

    /// <summary>What the poison-sensitive subscribers of every silo built here saw.</summary>
    public PoisonLog Poison { get; } = new();

    /// <summary>What the note subscribers of every silo built here received.</summary>
    public ReceivedNotes Notes { get; } = new();

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

    /// <summary>A new topic with a unique name; returns the name.</summary>
    public string CreateTopic(string prefix, int partitions)
    {
        var topic = prefix + "_" + Guid.NewGuid().ToString("N")[..12];
        Cluster.CreateTopic(topic, partitions);
        return topic;
    }

    /// <summary>A silo on free ports reading <see cref="Topic"/> as <see cref="ConsumerGroup"/>; not started.</summary>
    /// <param name="adjust">Changes to the fixture's options.</param>
    /// <param name="received">Where its grains record events; the fixture's own by default.</param>
    /// <param name="sink">Its message sink; the fixture's <see cref="Sink"/> by default.</param>
    /// <param name="configure">Further changes to the provider's configurator (pub-sub type, pulling agent).</param>
    /// <param name="configureSilo">Further changes to the silo (storage).</param>
    public IHost BuildSilo(
        Action<KafkaStreamOptions> adjust,
        ReceivedEvents? received = null,
        RecordingMessageSink? sink = null,
        Action<SiloKafkaStreamConfigurator>? configure = null,
        Action<ISiloBuilder>? configureSilo = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter(category: null, LogLevel.Warning); // over the Information default of the appsettings.json copied in from LocalBroker
        builder.Services.AddSingleton(received ?? Received);
        builder.Services.AddSingleton(Poison);
        builder.Services.AddSingleton(Notes);
        builder.Services.AddSingleton<IKafkaMessageSink>(sink ?? Sink);
        var gatewayPort = FreePorts.Next();
        var clusterId = Guid.NewGuid().ToString("N");
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: FreePorts.Next(), gatewayPort: gatewayPort, serviceId: ServiceId, clusterId: clusterId)
                .AddKafkaStreams(ProviderName, configurator =>
                {
                    configurator.ConfigureKafka(ob => ob.Configure(options =>
                    {
                        options.BootstrapServers = Cluster.BootstrapServers;
                        options.Topic = Topic;
                        options.ConsumerGroup = ConsumerGroup;
                        options.Partitions = Partitions;
                        adjust(options);
                    }));
                    configure?.Invoke(configurator);
                });
            configureSilo?.Invoke(silo);
        });
        var host = builder.Build();
        _gateways[host] = (gatewayPort, clusterId);
        return host;
    }

    /// <summary>A cluster client of <paramref name="silo"/> with the Kafka stream provider on <paramref name="topic"/>; not started.</summary>
    public IHost BuildClient(IHost silo, string topic = Topic, int partitions = Partitions, Action<ClusterClientKafkaStreamConfigurator>? configure = null)
    {
        var (gatewayPort, clusterId) = _gateways[silo];
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter(category: null, LogLevel.Warning); // over the Information default of the appsettings.json copied in from LocalBroker
        builder.UseOrleansClient(client => client
            .UseLocalhostClustering(gatewayPort, ServiceId, clusterId)
            .AddKafkaStreams(ProviderName, configurator =>
            {
                configurator.ConfigureKafka(ob => ob.Configure(options =>
                {
                    options.BootstrapServers = Cluster.BootstrapServers;
                    options.Topic = topic;
                    options.Partitions = partitions;
                }));
                configure?.Invoke(configurator);
            }));
        return builder.Build();
    }

    public IProducer<string, byte[]> CreateProducer() => new ProducerBuilder<string, byte[]>(new ProducerConfig
    {
        BootstrapServers = Cluster.BootstrapServers,
        Acks = Acks.All,
        LingerMs = 5,
    }).Build();

    /// <summary>The committed offset of every partition of a topic for a group (the fixture's by default; -1 where none).</summary>
    public IReadOnlyList<long> CommittedOffsets(string? consumerGroup = null, string topic = Topic, int partitions = Partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            GroupId = consumerGroup ?? ConsumerGroup,
            EnableAutoCommit = false,
        }).Build();
        var all = Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)).ToList();
        return [.. consumer.Committed(all, TimeSpan.FromSeconds(10))
            .OrderBy(c => c.Partition.Value)
            .Select(c => c.Offset.IsSpecial ? -1L : c.Offset.Value)];
    }

    /// <summary>The end (next offset to be written) of every partition of a topic.</summary>
    public IReadOnlyList<long> EndOffsets(string topic = Topic, int partitions = Partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            GroupId = "watermarks-" + Guid.NewGuid().ToString("N"),
        }).Build();
        return [.. Enumerable.Range(0, partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value)];
    }

    /// <summary>
    /// Reads what a topic holds between <paramref name="from"/> (one offset per partition) and its current end, with a
    /// plain consumer outside Orleans.
    /// </summary>
    public IReadOnlyList<ConsumeResult<string, byte[]>> ReadTopic(string topic, IReadOnlyList<long> from, TimeSpan timeout)
    {
        var ends = EndOffsets(topic, from.Count);
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        var results = new List<ConsumeResult<string, byte[]>>();
        for (var partition = 0; partition < from.Count; partition++)
        {
            if (ends[partition] <= from[partition]) continue;
            consumer.Assign(new TopicPartitionOffset(topic, partition, from[partition]));
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var result = consumer.Consume(deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero)
                    ?? throw new TimeoutException($"Reading {topic}[{partition}] up to {ends[partition]} took longer than {timeout}.");
                results.Add(result);
                if (result.Offset.Value >= ends[partition] - 1) break;
            }
        }

        return results;
    }
}
