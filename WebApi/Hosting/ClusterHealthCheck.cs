using Analytics.Grains.Interfaces.Churn;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Analytics.WebApi.Hosting;

/// <summary>Readiness: the Orleans cluster answers a grain call (the scoring grain's totals, kept in memory) within <see cref="Timeout"/>.</summary>
public sealed class ClusterHealthCheck(IClusterClient cluster) : IHealthCheck
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).GetTotalsAsync().WaitAsync(Timeout, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The Orleans cluster did not answer within {Timeout.TotalSeconds:0} s", ex);
        }
    }
}
