using Confluent.Kafka;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Analytics.Streaming.Kafka.Tests;

public sealed class KafkaStreamOptionsValidatorTests
{
    private static KafkaStreamOptions Valid() => new() { BootstrapServers = "127.0.0.1:9092,broker-2:9093" };

    [Fact]
    public void Validator_ValidOptions_Passes()
        => new KafkaStreamOptionsValidator(Valid(), new StreamPullingAgentOptions(), "kafka").ValidateConfiguration();

    [Fact]
    public void Validator_ClientWithoutPullingAgent_Passes()
        => new KafkaStreamOptionsValidator(Valid(), pullingAgent: null, "kafka").ValidateConfiguration();

    [Fact]
    public void Validator_CommitIntervalZero_PassesAsCommitOnEveryPull()
    {
        var options = Valid();
        options.CommitInterval = TimeSpan.Zero;
        new KafkaStreamOptionsValidator(options, new StreamPullingAgentOptions(), "kafka").ValidateConfiguration();
    }

    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new KafkaStreamOptions();
        Assert.Equal("user_events", options.Topic);
        Assert.Equal("analytics-silo", options.ConsumerGroup);
        Assert.Equal(8, options.Partitions);
        Assert.Equal(1000, options.PollBatchSize);
        Assert.Equal(1024, options.CacheSize);
        Assert.Equal(TimeSpan.FromSeconds(1), options.CommitInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), options.StoreRetryDelay);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MaxDeliveryTime);
        Assert.Equal(TimeSpan.FromSeconds(30), options.PublishTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.StartupTimeout);
        Assert.Equal(AutoOffsetReset.Earliest, options.AutoOffsetReset);
    }

    public static TheoryData<string, Action<KafkaStreamOptions>> Invalid => new()
    {
        { "kafka:BootstrapServers is required", o => o.BootstrapServers = " " },
        { "kafka:BootstrapServers entry 'nohost' is not host:port", o => o.BootstrapServers = "127.0.0.1:9092,nohost" },
        { "kafka:BootstrapServers entry 'h:70000' is not host:port", o => o.BootstrapServers = "h:70000" },
        { "kafka:Topic is required", o => o.Topic = "" },
        { "kafka:ConsumerGroup is required", o => o.ConsumerGroup = "" },
        { "kafka:Partitions must be at least 1 (was 0)", o => o.Partitions = 0 },
        { "kafka:PollBatchSize must be at least 1 (was 0)", o => o.PollBatchSize = 0 },
        { "kafka:AutoOffsetReset '7' is not Earliest, Latest or Error", o => o.AutoOffsetReset = (AutoOffsetReset)7 },
        { "kafka:StartupTimeout must be positive", o => o.StartupTimeout = TimeSpan.Zero },
        { "kafka:CacheSize must be at least 10 (was 9)", o => o.CacheSize = 9 },
        { "kafka:CommitInterval must not be negative", o => o.CommitInterval = TimeSpan.FromSeconds(-1) },
        { "kafka:StoreRetryDelay must be positive", o => o.StoreRetryDelay = TimeSpan.Zero },
        { "kafka:MaxDeliveryTime must be positive", o => o.MaxDeliveryTime = TimeSpan.Zero },
        { "kafka:PublishTimeout must be positive", o => o.PublishTimeout = TimeSpan.FromMilliseconds(-5) },
        { "kafka:Properties:group.id is set by the provider", o => o.Properties["group.id"] = "other" },
        { "kafka:Properties:enable.auto.commit is set by the provider", o => o.Properties["enable.auto.commit"] = "true" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validator_BadSetting_ThrowsNamingIt(string expected, Action<KafkaStreamOptions> spoil)
    {
        var options = Valid();
        spoil(options);
        var error = Assert.Throws<OrleansConfigurationException>(
            () => new KafkaStreamOptionsValidator(options, new StreamPullingAgentOptions(), "kafka").ValidateConfiguration());
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validator_PullingAgentDeliversSeveralBatchesPerCall_ThrowsNamingIt()
    {
        var agent = new StreamPullingAgentOptions { BatchContainerBatchSize = 2 };
        var error = Assert.Throws<OrleansConfigurationException>(
            () => new KafkaStreamOptionsValidator(Valid(), agent, "kafka").ValidateConfiguration());
        Assert.StartsWith("kafka:BatchContainerBatchSize must be 1 for the Kafka provider (was 2)", error.Message, StringComparison.Ordinal);
    }
}
