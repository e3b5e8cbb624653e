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
    /// port, the embedded default, or the gateways of every silo in PostgreSQL's membership table
    /// (<c>Orleans:Membership=AdoNet</c>). Start-up waits for the cluster up to <see cref="OrleansClientOptions.ConnectTimeout"/>.
    /// </summary>
    public static WebApplicationBuilder AddClusterClient(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrleansClientOptions>()
            .Bind(builder.Configuration.GetSection(OrleansClientOptions.SectionName))
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OrleansClientOptions>, OrleansClientOptionsValidator>();
        // The mode is needed while building; ports and ids are applied from options at resolve time, so that every
        // configuration source (tests' included) counts.
        var clustering = ReadMembership(builder.Configuration);
        builder.UseOrleansClient(client =>
        {
            client.UseConnectionRetryFilter<ClusterConnectionRetry>();
            if (clustering == MembershipMode.AdoNet)
            {
                // Every live silo's gateway, from the membership table the silos keep in PostgreSQL.
                client.UseAdoNetClustering((OptionsBuilder<AdoNetClusteringClientOptions> adoNet) => adoNet.Configure<Npgsql.NpgsqlDataSource>((o, dataSource) =>
                {
                    o.Invariant = "Npgsql";
                    o.DataSource = dataSource;
                }));
            }
        });
        if (clustering == MembershipMode.AdoNet) return builder.AddClusterIds();

        builder.Services.AddOptions<StaticGatewayListProviderOptions>().Configure<IOptions<OrleansClientOptions>>((gateways, orleans) =>
            gateways.Gateways = [new IPEndPoint(IPAddress.Loopback, orleans.Value.GatewayPort).ToGatewayUri()]);
        builder.Services.AddSingleton<Orleans.Messaging.IGatewayListProvider, Orleans.Messaging.StaticGatewayListProvider>();
        return builder.AddClusterIds();
    }

    private static WebApplicationBuilder AddClusterIds(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ClusterOptions>().Configure<IOptions<OrleansClientOptions>>((cluster, orleans) =>
        {
            cluster.ClusterId = orleans.Value.ClusterId;
            cluster.ServiceId = orleans.Value.ServiceId;
        });
        return builder;
    }

    /// <summary><c>Orleans:Membership</c>, refused with a message that names it when it is not a mode.</summary>
    private static MembershipMode ReadMembership(IConfiguration configuration)
    {
        const string Key = $"{OrleansClientOptions.SectionName}:{nameof(OrleansClientOptions.Membership)}";
        var text = configuration[Key];
        if (string.IsNullOrWhiteSpace(text)) return MembershipMode.Localhost;
        if (Enum.TryParse<MembershipMode>(text, ignoreCase: true, out var mode) && Enum.IsDefined(mode) && !int.TryParse(text, out _)) return mode;
        throw new OptionsValidationException(OrleansClientOptions.SectionName, typeof(OrleansClientOptions), [$"{Key} must be Localhost or AdoNet (was '{text}')."]);
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
