using System.Net;
using Analytics.Grains;
using Analytics.Silo.Churn;
using Analytics.Silo.Funnel;
using Analytics.Silo.Ingestion;
using Analytics.Silo.Users;
using Analytics.Streaming.Kafka;
using Analytics.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Analytics.Silo.Hosting;

public static class SiloHostingExtensions
{
    /// <summary>Wires the silo: storage, the Orleans runtime, ingestion and health checks.</summary>
    public static WebApplicationBuilder AddAnalyticsSilo(this WebApplicationBuilder builder)
    {
        builder.Services.AddAnalyticsStorage(builder.Configuration);
        builder.Services.AddHostedService<DatabaseMigrationService>();
        builder.Services.AddSingleton(TimeProvider.System);

        builder.Services.AddOptions<SiloOptions>()
            .Bind(builder.Configuration.GetSection(SiloOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SiloOptions>, SiloOptionsValidator>();

        // Embedded default: a single-silo localhost cluster; Orleans:Membership=AdoNet puts membership in PostgreSQL for
        // any number of silos. Ports, ids and addresses are applied from options at resolve time, so every
        // configuration source (including tests') counts; only the mode itself must be known while building.
        var clustering = MembershipConfiguration.Read(builder.Configuration, SiloOptions.SectionName);
        builder.UseOrleans(orleans => orleans
            .UseClustering(clustering)
            .AddRawEventIngestion(builder.Configuration)
            .AddUserGrains(builder.Configuration)
            .AddFunnel(builder.Configuration)
            .AddChurnScoring(builder.Configuration));
        builder.Services.AddOptions<EndpointOptions>().Configure<IOptions<SiloOptions>>((endpoints, silo) =>
        {
            endpoints.SiloPort = silo.Value.SiloPort;
            endpoints.GatewayPort = silo.Value.GatewayPort;
            if (silo.Value.Membership == MembershipMode.AdoNet && IPAddress.TryParse(silo.Value.AdvertisedIPAddress, out var advertised))
            {
                endpoints.AdvertisedIPAddress = advertised;
            }
        });
        builder.Services.AddOptions<DevelopmentClusterMembershipOptions>().Configure<IOptions<SiloOptions>>((membership, silo) =>
            membership.PrimarySiloEndpoint = new IPEndPoint(IPAddress.Loopback, silo.Value.SiloPort));
        builder.Services.AddOptions<ClusterOptions>().Configure<IOptions<SiloOptions>>((cluster, silo) =>
        {
            cluster.ClusterId = silo.Value.ClusterId;
            cluster.ServiceId = silo.Value.ServiceId;
        });

        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"])
            .AddCheck<IngestionHealthCheck>("ingestion", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// Localhost clustering (one silo, loopback), or membership in PostgreSQL through Orleans' ADO.NET clustering on
    /// the storage's data source: the tables are migration 001's, created before Orleans starts.
    /// </summary>
    private static ISiloBuilder UseClustering(this ISiloBuilder orleans, MembershipMode mode)
    {
        if (mode == MembershipMode.Localhost) return orleans.UseLocalhostClustering();
        return orleans.UseAdoNetClustering((OptionsBuilder<AdoNetClusteringSiloOptions> clustering) => clustering.Configure<NpgsqlDataSource>((o, dataSource) =>
        {
            o.Invariant = "Npgsql";
            o.DataSource = dataSource;
        }));
    }

    /// <summary>Maps <c>/health/live</c> (the process answers), <c>/health/ready</c> (PostgreSQL and the Kafka stream provider work) and <c>/health/ingestion</c>.</summary>
    public static WebApplication MapSiloHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new()
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = HealthResponse.WriteJsonAsync,
        });
        app.MapGet("/health/ingestion", (IngestionStatus status, [FromKeyedServices(GrainConstants.StreamProviderName)] KafkaStreamProviderStatus stream) => new
        {
            Running = stream.Started,
            stream.Partitions,
            status.Consumed,
            status.Inserted,
            status.AlreadyStored,
            status.DeadLettered,
            status.MissedOffsets,
            status.WriteFailures,
            status.LastFlushAt,
        });
        return app;
    }
}

internal sealed class IngestionHealthCheck([FromKeyedServices(GrainConstants.StreamProviderName)] KafkaStreamProviderStatus stream) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(stream.Started
            ? HealthCheckResult.Healthy($"reading partitions [{string.Join(", ", stream.Partitions)}]")
            : HealthCheckResult.Unhealthy("the Kafka stream provider has not started yet"));
}

internal static class HealthResponse
{
    public static Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description, error = e.Value.Exception?.Message }),
        });
    }
}
