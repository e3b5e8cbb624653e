using Analytics.LocalBroker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Analytics.LocalBroker.Tests;

/// <summary>Start-up of the LocalBroker program: settings, validation and shutdown.</summary>
public sealed class LocalBrokerStartupTests
{
    [Fact]
    public async Task Startup_PartitionsZero_FailsNamingTheSetting()
    {
        await using var app = Build("--partitions", "0", "--control-url", "http://127.0.0.1:0");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("LocalBroker:Partitions", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_PartitionsZero_ExitsWithMessageNamingTheSetting()
    {
        await using var broker = LocalBrokerProcess.Launch("--partitions", "0");

        await broker.WaitForExitAsync();

        Assert.Equal(LocalBrokerHostingExtensions.InvalidConfigurationExitCode, broker.ExitCode);
        Assert.Contains("LocalBroker:Partitions must be between 1 and 1000 (it is 0)", broker.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(broker.BootstrapFile));
    }

    [Fact]
    public async Task Process_Sigterm_DeletesBootstrapFileAndExitsCleanly()
    {
        await using var broker = await LocalBrokerProcess.StartAsync("--topic", "first,second", "--partitions", "3");
        Assert.Contains($"Kafka bootstrap: {broker.BootstrapServers}", broker.Output, StringComparison.Ordinal);

        await broker.TerminateAsync();

        Assert.Equal(0, broker.ExitCode);
        Assert.False(File.Exists(broker.BootstrapFile), "the bootstrap file should be gone after a clean shutdown");
    }

    [Fact]
    public void Switches_FriendlyNames_BindToOptions()
    {
        using var app = Build(
            "--brokers", "3", "--topic", "a, b", "--partitions", "5", "--bootstrap-file", "/tmp/x",
            "--control-url", "http://127.0.0.1:1234", "--group-initial-rebalance-delay", "00:00:01");

        var options = app.Services.GetRequiredService<IOptions<LocalBrokerOptions>>().Value;

        Assert.Equal(3, options.Brokers);
        Assert.Equal(["a", "b"], options.TopicNames);
        Assert.Equal(5, options.Partitions);
        Assert.Equal("/tmp/x", options.BootstrapFile);
        Assert.Equal("http://127.0.0.1:1234", options.ControlUrl);
        Assert.Equal(TimeSpan.FromSeconds(1), options.GroupInitialRebalanceDelay);
    }

    [Fact]
    public void Options_Defaults_AreValid()
    {
        var options = new LocalBrokerOptions();

        Assert.True(new LocalBrokerOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal((1, "user_events", 8, "http://127.0.0.1:9644"), (options.Brokers, options.Topics, options.Partitions, options.ControlUrl));
        Assert.Null(options.BootstrapFile);
    }

    [Theory]
    [InlineData(nameof(LocalBrokerOptions.Brokers), "0")]
    [InlineData(nameof(LocalBrokerOptions.Partitions), "0")]
    [InlineData(nameof(LocalBrokerOptions.Partitions), "1001")]
    [InlineData(nameof(LocalBrokerOptions.Topics), " , ")]
    [InlineData(nameof(LocalBrokerOptions.Topics), "a,a")]
    [InlineData(nameof(LocalBrokerOptions.Topics), "no/slash")]
    [InlineData(nameof(LocalBrokerOptions.ControlUrl), "http://0.0.0.0:9644")]
    [InlineData(nameof(LocalBrokerOptions.ControlUrl), "https://127.0.0.1:9644")]
    [InlineData(nameof(LocalBrokerOptions.ControlUrl), "http://127.0.0.1:9644/api")]
    [InlineData(nameof(LocalBrokerOptions.ControlUrl), "not a url")]
    [InlineData(nameof(LocalBrokerOptions.BootstrapFile), "/no/such/folder/bootstrap.txt")]
    [InlineData(nameof(LocalBrokerOptions.GroupInitialRebalanceDelay), "-00:00:01")]
    public void Validator_BadSetting_FailsNamingIt(string setting, string value)
    {
        using var app = Build($"--LocalBroker:{setting}", value);
        var options = app.Services.GetRequiredService<IOptionsMonitor<LocalBrokerOptions>>();

        var error = Assert.Throws<OptionsValidationException>(() => options.CurrentValue);

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith($"LocalBroker:{setting}", failure, StringComparison.Ordinal);
    }

    private static WebApplication Build(params string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddLocalBroker(args);
        return builder.Build();
    }
}
