using Analytics.WebApi.Live;

namespace Analytics.WebApi.Kpis;

public static class KpiExtensions
{
    /// <summary><see cref="KpiReader"/>, one per process (it keeps the running total of stored events), also as the hub's <see cref="IKpiSource"/>.</summary>
    public static IServiceCollection AddKpis(this IServiceCollection services)
    {
        services.AddSingleton<KpiReader>();
        services.AddSingleton<IKpiSource>(sp => sp.GetRequiredService<KpiReader>());
        return services;
    }
}
