using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Storage;

/// <summary>Where PostgreSQL is and how long start-up waits for it. Bound from the configuration section <c>Postgres</c>.</summary>
public sealed class PostgresOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Postgres";

    /// <summary>
    /// The Npgsql connection string. When <c>Postgres:ConnectionString</c> is not configured, the <c>POSTGRES_CONNECTION</c>
    /// setting (the environment variable <c>run_all.sh</c> writes) is used instead; without either, the default is
    /// <c>Host=127.0.0.1;Port=5432;Username=postgres;Database=analytics</c>. The database is created at start-up if it
    /// does not exist. May hold a password: it is never logged.
    /// </summary>
    public string ConnectionString { get; set; } = "Host=127.0.0.1;Port=5432;Username=postgres;Database=analytics";

    /// <summary>
    /// How long start-up waits for PostgreSQL to answer before it gives up (default 60 s). PostgreSQL often starts
    /// alongside the service (docker-compose, run_all.sh), so a refused connection at first is normal.
    /// </summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Connections this process keeps open at most (default 20); it wins over the connection string's
    /// <c>Maximum Pool Size</c>. Npgsql's own default of 100 per process would let three silos and the web API exceed
    /// PostgreSQL's default <c>max_connections</c> (100) when thousands of grains activate at once; beyond the limit,
    /// callers wait for a free connection instead of failing.
    /// </summary>
    public int MaxPoolSize { get; set; } = 20;
}

/// <summary>Checks <see cref="PostgresOptions"/> at start-up; every message names the setting to fix.</summary>
internal sealed class PostgresOptionsValidator : IValidateOptions<PostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add(
                $"{PostgresOptions.SectionName}:{nameof(PostgresOptions.ConnectionString)} is empty: set it, or the " +
                $"{StorageServiceCollectionExtensions.FallbackConnectionStringKey} environment variable.");
        }
        else
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                if (string.IsNullOrWhiteSpace(builder.Host))
                {
                    failures.Add($"{PostgresOptions.SectionName}:{nameof(PostgresOptions.ConnectionString)} names no Host.");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
            {
                // Npgsql's messages name the offending keyword, never a value, so a password cannot leak through them.
                failures.Add(
                    $"{PostgresOptions.SectionName}:{nameof(PostgresOptions.ConnectionString)} is not a valid Npgsql " +
                    $"connection string: {ex.Message}");
            }
        }

        if (options.MaxPoolSize is < 1 or > 1000)
        {
            failures.Add($"{PostgresOptions.SectionName}:{nameof(PostgresOptions.MaxPoolSize)} must be 1–1000 (was {options.MaxPoolSize}).");
        }

        if (options.StartupTimeout <= TimeSpan.Zero)
        {
            failures.Add(
                $"{PostgresOptions.SectionName}:{nameof(PostgresOptions.StartupTimeout)} must be positive, " +
                $"not {options.StartupTimeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
