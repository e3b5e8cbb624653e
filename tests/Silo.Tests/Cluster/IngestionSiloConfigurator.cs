using Analytics.Silo.Funnel;
using Analytics.Silo.Ingestion;
using Analytics.Silo.Users;
using Analytics.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.TestingHost;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>
/// A test-cluster silo wired like the real one (storage, the Kafka stream provider, the raw-events sink), with
/// TestCluster's own clustering and ports. Settings come from the cluster builder's properties.
/// </summary>
public sealed class IngestionSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder)
    {
        siloBuilder.Services.AddAnalyticsStorage(siloBuilder.Configuration);
        siloBuilder.Services.AddSingleton(TimeProvider.System);
        siloBuilder.AddRawEventIngestion(siloBuilder.Configuration);
        siloBuilder.AddUserGrains(siloBuilder.Configuration);
        siloBuilder.AddFunnel(siloBuilder.Configuration);
        if (Environment.GetEnvironmentVariable("ANALYTICS_TEST_LOG") is { Length: > 0 } path)
        {
            siloBuilder.Services.AddLogging(logging => logging
                .AddProvider(new FileLoggerProvider(path))
                .AddFilter("Orleans", LogLevel.Warning)
                .AddFilter("Analytics", LogLevel.Debug)
                .AddFilter("Orleans.Streams", LogLevel.Information));
        }
    }
}
