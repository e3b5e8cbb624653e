using Analytics.WebApi.Kpis;

namespace Analytics.WebApi.Live;

/// <summary>Where the hub reads the KPIs it pushes.</summary>
public interface IKpiSource
{
    Task<KpiSnapshot> ReadAsync(CancellationToken cancellationToken);
}
