using Analytics.Streaming.Kafka.Hosting;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

public sealed class KafkaStreamsHostingTests
{
    [Fact]
    public void AddKafkaStreams_ConfigurationSection_BindsEverySetting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "broker-1:9092,broker-2:9092",
            ["Kafka:Topic"] = "events",
            ["Kafka:ConsumerGroup"] = "group-x",
            ["Kafka:Partitions"] = "12",
            ["Kafka:PollBatchSize"] = "50",
            ["Kafka:CacheSize"] = "2000",
            ["Kafka:CommitInterval"] = "00:00:03",
            ["Kafka:StoreRetryDelay"] = "00:00:00.250",
            ["Kafka:MaxDeliveryTime"] = "00:00:04",
            ["Kafka:PublishTimeout"] = "00:00:06",
            ["Kafka:AutoOffsetReset"] = "Latest",
            ["Kafka:StartupTimeout"] = "00:00:05",
            ["Kafka:Properties:security.protocol"] = "SASL_SSL",
        });
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering()
            .AddKafkaStreams("kafka", builder.Configuration.GetSection("Kafka")));
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get("kafka");
        Assert.Equal("broker-1:9092,broker-2:9092", options.BootstrapServers);
        Assert.Equal("events", options.Topic);
        Assert.Equal("group-x", options.ConsumerGroup);
        Assert.Equal(12, options.Partitions);
        Assert.Equal(50, options.PollBatchSize);
        Assert.Equal(2000, options.CacheSize);
        Assert.Equal(TimeSpan.FromSeconds(3), options.CommitInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.StoreRetryDelay);
        Assert.Equal(TimeSpan.FromSeconds(4), options.MaxDeliveryTime);
        Assert.Equal(TimeSpan.FromSeconds(6), options.PublishTimeout);
        Assert.Equal(AutoOffsetReset.Latest, options.AutoOffsetReset);
        Assert.Equal(TimeSpan.FromSeconds(5), options.StartupTimeout);
        Assert.Equal("SASL_SSL", options.Properties["security.protocol"]);

        // The provider's own settings reach Orleans' pulling agent and pub-sub.
        var agent = host.Services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get("kafka");
        Assert.Equal(TimeSpan.FromSeconds(4), agent.MaxEventDeliveryTime);
        var pubSub = host.Services.GetRequiredService<IOptionsMonitor<StreamPubSubOptions>>().Get("kafka");
        Assert.Equal(StreamPubSubType.ImplicitOnly, pubSub.PubSubType);

        var validators = host.Services.GetServices<IConfigurationValidator>().OfType<KafkaStreamOptionsValidator>();
        Assert.Single(validators).ValidateConfiguration();
    }

    [Fact]
    public async Task StartSilo_BadSetting_StopsStartUpNamingIt()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: TestInfrastructure.FreePorts.Next(), gatewayPort: TestInfrastructure.FreePorts.Next())
            .AddKafkaStreams("events", options => options.BootstrapServers = "no-port-here"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("events:BootstrapServers entry 'no-port-here' is not host:port", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartSilo_PullingAgentBatchesSeveralContainers_StopsStartUpNamingIt()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: TestInfrastructure.FreePorts.Next(), gatewayPort: TestInfrastructure.FreePorts.Next())
            .AddKafkaStreams("events", configurator =>
            {
                configurator.ConfigureKafka(ob => ob.Configure(options => options.BootstrapServers = "127.0.0.1:9"));
                configurator.ConfigurePullingAgent(ob => ob.Configure(agent => agent.BatchContainerBatchSize = 5));
            }));
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("events:BatchContainerBatchSize must be 1 for the Kafka provider (was 5)", error.ToString(), StringComparison.Ordinal);
    }
}
