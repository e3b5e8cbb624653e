using System.Net;
using Analytics.Churn.Serving;
using Analytics.Storage;
using Analytics.WebApi.Churn;
using Analytics.WebApi.Kpis;
using Analytics.WebApi.Live;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Analytics.WebApi.Hosting;

public static class WebApiHostingExtensions
{
    /// <summary>
    /// Storage, the Orleans client, the served churn model, the KPIs, request limits, the OpenAPI document, problem
    /// details, the clock and health checks (readiness: PostgreSQL, the Kafka brokers and topic, the cluster).
    /// </summary>
    public static WebApplicationBuilder AddWebApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddAnalyticsStorage(builder.Configuration);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddClusterClient();
        builder.Services.AddChurnServing(builder.Configuration);
        builder.Services.AddRetraining(builder.Configuration);
        builder.Services.AddDashboardHub(builder.Configuration);
        builder.Services.AddKpis();
        builder.AddApiLimits();
        builder.AddApiDocument();
        builder.Services.AddOptions<KafkaHealthOptions>()
            .Bind(builder.Configuration.GetSection(KafkaHealthOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<KafkaHealthOptions>, KafkaHealthOptionsValidator>();
        builder.Services.AddSingleton<KafkaHealthCheck>();
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"])
            .AddCheck<KafkaHealthCheck>("kafka", tags: ["ready"])
            .AddCheck<ClusterHealthCheck>("orleans", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// The Orleans client (section <c>Orleans</c>, validated at start-up): localhost clustering on the silo's gateway
    /// port, the embedded default. Start-up waits for the cluster up to <see cref="OrleansClientOptions.ConnectTimeout"/>.
    /// </summary>
    public static WebApplicationBuilder AddClusterClient(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrleansClientOptions>()
            .Bind(builder.Configuration.GetSection(OrleansClientOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OrleansClientOptions>, OrleansClientOptionsValidator>();
        builder.UseOrleansClient(client => client.UseConnectionRetryFilter<ClusterConnectionRetry>());
        // Applied from options at resolve time, so that every configuration source (tests' included) counts.
        builder.Services.AddOptions<StaticGatewayListProviderOptions>().Configure<IOptions<OrleansClientOptions>>((gateways, orleans) =>
            gateways.Gateways = [new IPEndPoint(IPAddress.Loopback, orleans.Value.GatewayPort).ToGatewayUri()]);
        builder.Services.AddOptions<ClusterOptions>().Configure<IOptions<OrleansClientOptions>>((cluster, orleans) =>
        {
            cluster.ClusterId = orleans.Value.ClusterId;
            cluster.ServiceId = orleans.Value.ServiceId;
        });
        builder.Services.AddSingleton<Orleans.Messaging.IGatewayListProvider, Orleans.Messaging.StaticGatewayListProvider>();
        return builder;
    }

    /// <summary>Errors as <c>application/problem+json</c>; body size and rate limits.</summary>
    public static WebApplication UseWebApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiLimits();
        return app;
    }

    /// <summary><c>/health/live</c>: the process answers; <c>/health/ready</c>: PostgreSQL and the Orleans cluster answer.</summary>
    public static WebApplication MapWebApiHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
