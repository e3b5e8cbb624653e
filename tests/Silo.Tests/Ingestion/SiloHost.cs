using Analytics.TestInfrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Analytics.Silo.Tests.Ingestion;

// Typed by a Silo type rather than Program: LocalBroker has a Program of its own.
/// <summary>The real silo program (Orleans, the Kafka stream provider, storage) hosted in the test process on free ports.</summary>
internal sealed class SiloHost(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Analytics.Silo.Hosting.SiloOptions>
{
    public static SiloHost Start(string bootstrapServers, string connectionString, string consumerGroup, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:ConsumerGroup"] = consumerGroup,
            ["Kafka:CommitInterval"] = "00:00:00.200",
            ["Urls"] = "http://127.0.0.1:0",
            ["Postgres:ConnectionString"] = connectionString,
            ["Orleans:SiloPort"] = FreePorts.NextAsText(),
            ["Orleans:GatewayPort"] = FreePorts.NextAsText(),
            ["Orleans:ClusterId"] = $"test-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>()) settings[key] = value;
        var host = new SiloHost(settings);
        _ = host.Server; // starts the host
        return host;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        builder.UseEnvironment("Development");
    }
}
