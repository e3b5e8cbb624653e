using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Analytics.Storage;

/// <summary>Readiness: PostgreSQL answers and holds the schema (a service is not ready before the migrations ran).</summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1 FROM raw_events LIMIT 1");
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL does not answer or has no schema yet", ex);
        }
    }
}
