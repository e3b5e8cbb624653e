using Microsoft.Extensions.DependencyInjection;

namespace Analytics.Storage;

/// <summary>Running the migrations from a built host.</summary>
public static class DatabaseMigratorExtensions
{
    /// <summary>Resolves <see cref="DatabaseMigrator"/> (registered by <c>AddAnalyticsStorage</c>) and runs it.</summary>
    public static Task MigrateAnalyticsDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
    }
}
