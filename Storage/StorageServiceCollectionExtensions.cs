using System.Data.Common;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Storage;

/// <summary>Wiring of the PostgreSQL storage.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>The configuration key read when <c>Postgres:ConnectionString</c> is not set.</summary>
    internal const string FallbackConnectionStringKey = "POSTGRES_CONNECTION";

    /// <summary>
    /// Binds and validates <see cref="PostgresOptions"/> (section <c>Postgres</c>, with <c>POSTGRES_CONNECTION</c> as the
    /// fallback for the connection string; checked when the host starts), and registers a singleton
    /// <see cref="NpgsqlDataSource"/>, <see cref="DatabaseMigrator"/>, <see cref="RawEventWriter"/> and
    /// <see cref="DeadLetterWriter"/>, <see cref="ChurnFeatureWriter"/>, <see cref="UserEventHistoryReader"/>, <see cref="FunnelStore"/>. Run the migrations with <see cref="DatabaseMigratorExtensions.MigrateAnalyticsDatabaseAsync"/>.
    /// </summary>
    public static IServiceCollection AddAnalyticsStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<PostgresOptions>()
            .Bind(configuration.GetSection(PostgresOptions.SectionName))
            .Configure(options =>
            {
                // An explicit Postgres:ConnectionString wins; run_all.sh and the containers hand the connection string
                // over as an environment variable instead.
                var explicitValue = configuration[$"{PostgresOptions.SectionName}:{nameof(PostgresOptions.ConnectionString)}"];
                if (string.IsNullOrWhiteSpace(explicitValue)
                    && configuration[FallbackConnectionStringKey] is { Length: > 0 } fallback)
                {
                    options.ConnectionString = fallback;
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresOptions>, PostgresOptionsValidator>());

        services.TryAddSingleton(CreateDataSource);
        services.TryAddSingleton<DatabaseMigrator>();
        services.TryAddSingleton<RawEventWriter>();
        services.TryAddSingleton<DeadLetterWriter>();
        services.TryAddSingleton<IngestionBatchWriter>();
        services.TryAddSingleton<ChurnFeatureWriter>();
        services.TryAddSingleton<ChurnFeatureAudit>();
        services.TryAddSingleton<UserEventHistoryReader>();
        services.TryAddSingleton<FunnelStore>();
        services.TryAddSingleton<ChurnHistoryReader>();
        services.TryAddSingleton<ChurnModelRegistry>();
        services.TryAddSingleton<ChurnPredictionStore>();
        return services;
    }

    private static NpgsqlDataSource CreateDataSource(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgresOptions>>().Value;
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        var settings = builder.ConnectionStringBuilder;
        settings.MaxPoolSize = options.MaxPoolSize;

        // Unless the connection string says otherwise: nothing here leaves session state on a connection, so a pooled
        // connection need not be reset (DISCARD ALL, parsed and run with every reuse: 3 % of PostgreSQL's CPU at
        // 10,000 events/s), and the statements run hundreds of times a second are prepared once per connection
        // instead of parsed and planned every time.
        var given = new DbConnectionStringBuilder { ConnectionString = options.ConnectionString };
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose")) settings.NoResetOnClose = true;
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare")) settings.MaxAutoPrepare = 64;

        // The process's name in pg_stat_activity and PostgreSQL's logs, so an operator sees which service a connection
        // (or a slow statement) belongs to.
        if (!given.ContainsKey("Application Name") && !given.ContainsKey("ApplicationName"))
        {
            settings.ApplicationName = services.GetService<IHostEnvironment>()?.ApplicationName ?? Assembly.GetEntryAssembly()?.GetName().Name;
        }

        builder.UseLoggerFactory(services.GetService<ILoggerFactory>());
        return builder.Build();
    }
}
