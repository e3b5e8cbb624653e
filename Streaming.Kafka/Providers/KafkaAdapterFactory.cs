using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Streams;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Analytics.Streaming.Kafka.Providers;

/// <summary>
/// Builds the provider's parts: the 1:1 partition-to-queue mapper, the queue caches (Orleans' simple cache with exact
/// delivery progress), the failure handler that dead-letters poison events, and the adapter. On a silo it first checks
/// the topic against the options.
/// </summary>
internal sealed partial class KafkaAdapterFactory(
    string name,
    KafkaStreamOptions options,
    IKafkaMessageSink sink,
    Serializer serializer,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    KafkaStreamProviderStatus? status,
    bool verifyTopic,
    IKafkaCommitGate? commitGate = null,
    IKafkaDeliveryObserver? deliveryObserver = null,
    SiloAddress? silo = null) : IQueueAdapterFactory
{
    private readonly KafkaQueueMapper _mapper = new(name, options.Partitions);
    private readonly KafkaQueueAdapterCache _cache = new(new SimpleQueueCacheOptions { CacheSize = options.CacheSize }, name, loggerFactory, timeProvider);
    private readonly ILogger _logger = loggerFactory.CreateLogger<KafkaAdapterFactory>();
    private KafkaQueueAdapter? _adapter;

    /// <summary>For silos: verifies the topic's partition count at start-up.</summary>
    public static KafkaAdapterFactory CreateForSilo(IServiceProvider services, string name) => Create(services, name, verifyTopic: true);

    /// <summary>For clients, which never read Kafka themselves.</summary>
    public static KafkaAdapterFactory CreateForClient(IServiceProvider services, string name) => Create(services, name, verifyTopic: false);

    public async Task<IQueueAdapter> CreateAdapter()
    {
        var epoch = 0;
        if (verifyTopic)
        {
            epoch = await Task.Run(VerifyTopicAsync).ConfigureAwait(true);
        }

        _adapter = new KafkaQueueAdapter(name, options, _mapper, sink, _cache, serializer, timeProvider, loggerFactory, status, commitGate, epoch, deliveryObserver, silo);
        status?.OnStarted();
        return _adapter;
    }

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId)
        => Task.FromResult<IStreamFailureHandler>(new KafkaDeliveryFailureHandler(() => _adapter?.FindReceiver(queueId)));

    private static KafkaAdapterFactory Create(IServiceProvider services, string name, bool verifyTopic)
    {
        var options = services.GetOptionsByName<KafkaStreamOptions>(name);
        var loggerFactory = services.GetRequiredService<ILoggerFactory>();
        var sink = services.GetKeyedService<IKafkaMessageSink>(name)
            ?? services.GetService<IKafkaMessageSink>()
            ?? new LoggingKafkaMessageSink(loggerFactory.CreateLogger<LoggingKafkaMessageSink>());
        var timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        return new KafkaAdapterFactory(
            name, options, sink, services.GetRequiredService<Serializer>(), timeProvider, loggerFactory,
            services.GetKeyedService<KafkaStreamProviderStatus>(name), verifyTopic,
            services.GetKeyedService<IKafkaCommitGate>(name) ?? services.GetService<IKafkaCommitGate>(),
            services.GetKeyedService<IKafkaDeliveryObserver>(name) ?? services.GetService<IKafkaDeliveryObserver>(),
            verifyTopic ? services.GetService<ILocalSiloDetails>()?.SiloAddress : null);
    }

    /// <summary>
    /// One queue per partition only works if the counts agree: with fewer queues some partitions would never be read,
    /// with more some queues would read nothing. So start-up stops here, naming the setting, when they differ.
    /// </summary>
    /// <returns>The topic's epoch (see <see cref="KafkaSequenceToken.Epoch"/>).</returns>
    private async Task<int> VerifyTopicAsync()
    {
        var config = new AdminClientConfig(new Dictionary<string, string>(options.Properties))
        {
            BootstrapServers = options.BootstrapServers,
        };
        // Asking for one topic's metadata would otherwise create it with the broker's default partition count.
        config.Set("allow.auto.create.topics", "false");
        using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();
        Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(options.Topic, options.StartupTimeout);
        }
        catch (KafkaException ex)
        {
            throw new InvalidOperationException(
                $"{name}:BootstrapServers: cannot read the metadata of topic '{options.Topic}' from Kafka at {options.BootstrapServers} within {options.StartupTimeout} ({ex.Error.Code}: {ex.Error.Reason}).",
                ex);
        }

        var topic = metadata.Topics.SingleOrDefault(t => t.Topic == options.Topic);
        if (topic is null || topic.Error.Code == ErrorCode.UnknownTopicOrPart || topic.Partitions.Count == 0)
        {
            throw new InvalidOperationException(
                $"{name}:Topic: topic '{options.Topic}' does not exist on Kafka at {options.BootstrapServers}; create it with {options.Partitions} partitions.");
        }

        if (topic.Error.Code != ErrorCode.NoError)
        {
            throw new InvalidOperationException($"{name}:Topic: reading the metadata of topic '{options.Topic}' failed ({topic.Error.Code}: {topic.Error.Reason}).");
        }

        if (topic.Partitions.Count != options.Partitions)
        {
            throw new InvalidOperationException(
                $"{name}:Partitions is {options.Partitions} but topic '{options.Topic}' has {topic.Partitions.Count} partitions; they must be equal (one Orleans queue per Kafka partition).");
        }

        var epoch = await TopicEpochAsync(admin);
        LogTopicVerified(_logger, name, options.Topic, topic.Partitions.Count, options.ConsumerGroup, epoch);
        return epoch;
    }

    /// <summary>
    /// A 32-bit digest of the topic's id, which Kafka assigns anew whenever a topic is created: offsets restart with a
    /// recreated topic (or a restarted development broker), and subscribers must not take the new offsets for replays.
    /// 0 when the broker does not tell (before Kafka 2.8).
    /// </summary>
    private async Task<int> TopicEpochAsync(IAdminClient admin)
    {
        try
        {
            var described = await admin.DescribeTopicsAsync(
                TopicCollection.OfTopicNames([options.Topic]),
                new DescribeTopicsOptions { RequestTimeout = options.StartupTimeout });
            var id = described.TopicDescriptions.Single().TopicId;
            if (id is null || (id.MostSignificantBits == 0 && id.LeastSignificantBits == 0)) return 0;
            var mixed = id.MostSignificantBits ^ id.LeastSignificantBits;
            return (int)(mixed ^ (mixed >> 32));
        }
        catch (KafkaException ex)
        {
            LogNoTopicId(_logger, name, options.Topic, ex.Error.Reason);
            return 0;
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Stream provider {Provider}: Kafka did not give the id of topic {Topic} ({Reason}); if the topic is recreated, subscribers take its new offsets for replays until they pass the old ones")]
    private static partial void LogNoTopicId(ILogger logger, string provider, string topic, string reason);

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Stream provider {Provider} reads topic {Topic} ({Partitions} partitions, one Orleans queue each, epoch {Epoch}) with offsets of group {ConsumerGroup}")]
    private static partial void LogTopicVerified(ILogger logger, string provider, string topic, int partitions, string consumerGroup, int epoch);
}
