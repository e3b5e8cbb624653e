using Analytics.WebApi.Kpis;

namespace Analytics.WebApi.Apis;

/// <summary>The live KPIs (<c>GET /api/kpis</c>), the same the dashboard hub pushes.</summary>
public static class KpiApi
{
    public static IEndpointRouteBuilder MapKpiApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/kpis", ReadAsync)
            .WithName("GetKpis")
            .WithSummary("The live KPIs: events per second and in the last minute, events stored, the newest funnel window and the last hour's funnel, active users, late events and dead letters.")
            .Produces<KpiSnapshot>();
        return app;
    }

    private static Task<KpiSnapshot> ReadAsync(KpiReader kpis, CancellationToken cancellationToken) => kpis.ReadAsync(cancellationToken);
}
