using Analytics.Streaming.Kafka.Hosting;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

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
            ["Kafka:AutoOffsetReset"] = "Latest",
            ["Kafka:StartupTimeout"] = "00:00:05",
            ["Kafka:Properties:security.protocol"] = "SASL_SSL",
        });
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering()
            .AddMemoryGrainStorage("PubSubStore")
            .AddKafkaStreams("kafka", builder.Configuration.GetSection("Kafka")));
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get("kafka");
        Assert.Equal("broker-1:9092,broker-2:9092", options.BootstrapServers);
        Assert.Equal("events", options.Topic);
        Assert.Equal("group-x", options.ConsumerGroup);
        Assert.Equal(12, options.Partitions);
        Assert.Equal(50, options.PollBatchSize);
        Assert.Equal(AutoOffsetReset.Latest, options.AutoOffsetReset);
        Assert.Equal(TimeSpan.FromSeconds(5), options.StartupTimeout);
        Assert.Equal("SASL_SSL", options.Properties["security.protocol"]);

        var validators = host.Services.GetServices<IConfigurationValidator>().OfType<KafkaStreamOptionsValidator>();
        Assert.Single(validators).ValidateConfiguration();
    }

    [Fact]
    public async Task StartSilo_BadSetting_StopsStartUpNamingIt()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: TestInfrastructure.FreePorts.Next(), gatewayPort: TestInfrastructure.FreePorts.Next())
            .AddMemoryGrainStorage("PubSubStore")
            .AddKafkaStreams("events", options => options.BootstrapServers = "no-port-here"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        Assert.Contains("events:BootstrapServers entry 'no-port-here' is not host:port", error.ToString(), StringComparison.Ordinal);
    }
}
