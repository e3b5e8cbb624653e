using Confluent.Kafka;
using Orleans.Runtime;

namespace Analytics.Streaming.Kafka.Tests;

public sealed class KafkaStreamOptionsValidatorTests
{
    private static KafkaStreamOptions Valid() => new() { BootstrapServers = "127.0.0.1:9092,broker-2:9093" };

    [Fact]
    public void Validator_ValidOptions_Passes() => new KafkaStreamOptionsValidator(Valid(), "kafka").ValidateConfiguration();

    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new KafkaStreamOptions();
        Assert.Equal("user_events", options.Topic);
        Assert.Equal("analytics-silo", options.ConsumerGroup);
        Assert.Equal(8, options.Partitions);
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
        { "kafka:Properties:group.id is set by the provider", o => o.Properties["group.id"] = "other" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validator_BadSetting_ThrowsNamingIt(string expected, Action<KafkaStreamOptions> spoil)
    {
        var options = Valid();
        spoil(options);
        var error = Assert.Throws<OrleansConfigurationException>(() => new KafkaStreamOptionsValidator(options, "kafka").ValidateConfiguration());
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }
}
