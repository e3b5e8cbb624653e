using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Storage;

/// <summary>
/// Brings the database schema up to date: waits for PostgreSQL, creates the database if it is missing, then applies the
/// embedded <c>Migrations/NNN_name.sql</c> scripts that <c>schema_migrations</c> does not list yet, in order.
/// </summary>
/// <remarks>
/// Safe to run from every silo at once and as often as wanted: the run holds a PostgreSQL advisory lock, each
/// migration commits in its own transaction together with its <c>schema_migrations</c> row, and applied migrations are
/// skipped. An applied migration whose file has changed since is an error, never silently skipped.
/// </remarks>
public sealed partial class DatabaseMigrator
{
    /// <summary>The advisory lock every migrator of this schema takes ("Analytic" in ASCII), so only one runs at a time.</summary>
    private const long AdvisoryLockKey = 0x416E_616C_7974_6963;

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly Lazy<IReadOnlyList<Migration>> LazyMigrations = new(Migration.LoadEmbedded);
    private static readonly Lazy<IReadOnlyList<string>> LazyMigrationNames = new(() => LazyMigrations.Value.Select(m => m.Name).ToArray());

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresOptions _options;
    private readonly ILogger<DatabaseMigrator> _logger;

    public DatabaseMigrator(NpgsqlDataSource dataSource, IOptions<PostgresOptions> options, ILogger<DatabaseMigrator> logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The embedded migrations in the order they are applied, e.g. <c>001_orleans_adonet.sql</c>.</summary>
    public static IReadOnlyList<string> MigrationNames => LazyMigrationNames.Value;

    /// <summary>
    /// Waits until PostgreSQL answers (retrying, and logging each failed attempt, for at most
    /// <see cref="PostgresOptions.StartupTimeout"/>), then applies the pending migrations.
    /// </summary>
    /// <exception cref="TimeoutException">PostgreSQL did not answer in time.</exception>
    /// <exception cref="InvalidOperationException">A migration failed, or an applied one has changed.</exception>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var migrations = LazyMigrations.Value;
        await using var connection = await OpenWhenAvailableAsync(cancellationToken).ConfigureAwait(false);
        await AcquireLockAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(
                connection,
                """
                CREATE TABLE IF NOT EXISTS schema_migrations
                (
                    version    integer     NOT NULL PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                cancellationToken).ConfigureAwait(false);

            var applied = await ReadAppliedAsync(connection, cancellationToken).ConfigureAwait(false);
            foreach (var unknown in applied.Values.Where(a => migrations.All(m => m.Version != a.Version)))
            {
                LogUnknownMigration(unknown.Name, unknown.Version);
            }

            var appliedNow = 0;
            foreach (var migration in migrations)
            {
                if (applied.TryGetValue(migration.Version, out var record))
                {
                    if (!string.Equals(record.Checksum, migration.Checksum, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new InvalidOperationException(
                            $"Migration {migration.Name} has changed since it was applied on {record.AppliedAt:u} " +
                            $"(recorded as {record.Name}): its checksum is now {migration.Checksum}, the database recorded " +
                            $"{record.Checksum}. Never edit an applied migration; put the change in a new one.");
                    }

                    continue;
                }

                await ApplyAsync(connection, migration, cancellationToken).ConfigureAwait(false);
                appliedNow++;
            }

            LogUpToDate(appliedNow, migrations.Count);
        }
        finally
        {
            await ReleaseLockAsync(connection).ConfigureAwait(false);
        }
    }

    private async Task<NpgsqlConnection> OpenWhenAvailableAsync(CancellationToken cancellationToken)
    {
        var target = DescribeTarget();
        var stopwatch = Stopwatch.StartNew();
        var delay = FirstRetryDelay;
        var triedToCreateDatabase = false;
        for (var attempt = 1; ; attempt++)
        {
            var remaining = _options.StartupTimeout - stopwatch.Elapsed;
            using var attemptBudget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptBudget.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(attemptBudget.Token).ConfigureAwait(false);
                if (attempt > 1)
                {
                    LogPostgresAnswered(target, attempt, stopwatch.Elapsed.TotalSeconds);
                }

                return connection;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName && !triedToCreateDatabase)
            {
                triedToCreateDatabase = true;
                await CreateDatabaseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsWorthRetrying(ex))
            {
                remaining = _options.StartupTimeout - stopwatch.Elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    LogGaveUp(ex, target, attempt, _options.StartupTimeout.TotalSeconds);
                    throw new TimeoutException(
                        $"PostgreSQL at {target} did not answer within {_options.StartupTimeout.TotalSeconds:0.#}s " +
                        $"({PostgresOptions.SectionName}:{nameof(PostgresOptions.StartupTimeout)}), {attempt} attempts. " +
                        $"Last error: {ex.Message}",
                        ex);
                }

                LogNotAnswering(ex, target, attempt, remaining.TotalSeconds);
                await Task.Delay(delay < remaining ? delay : remaining, cancellationToken).ConfigureAwait(false);
                delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
            }
        }
    }

    /// <summary>
    /// Whether a failed connection attempt may succeed later: the server is not up yet (refused, unreachable, name not
    /// resolvable yet in a container network, starting up, shutting down, out of connections). Bad credentials or a
    /// malformed setting will not fix themselves and fail at once.
    /// </summary>
    private static bool IsWorthRetrying(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState is PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
            or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection exceptions
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal), // insufficient resources
        NpgsqlException npgsql => npgsql.IsTransient, // network-level (refused, reset, timed out), not e.g. a missing password
        SocketException or TimeoutException or IOException => true,
        OperationCanceledException => true, // the attempt's share of StartupTimeout ran out
        _ => false,
    };

    /// <summary>
    /// Creates the configured database, connecting to the <c>postgres</c> maintenance database with the same
    /// credentials. A fresh PostgreSQL (a new container, a CI machine) has only that one.
    /// </summary>
    private async Task CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        await using var template = _dataSource.CreateConnection();
        var database = new NpgsqlConnectionStringBuilder(template.ConnectionString).Database;
        if (string.IsNullOrEmpty(database) || database == "postgres")
        {
            return;
        }

        var maintenance = new NpgsqlConnectionStringBuilder(template.ConnectionString) { Database = "postgres", Pooling = false };
        // CloneWith keeps the password, which the data source's public connection string leaves out.
        await using var connection = template.CloneWith(maintenance.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, $"CREATE DATABASE \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken)
                .ConfigureAwait(false);
            LogCreatedDatabase(database);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another instance created it a moment ago.
        }
        catch (PostgresException ex)
        {
            throw new InvalidOperationException(
                $"Database '{database}' does not exist and could not be created ({ex.SqlState}: {ex.MessageText}). " +
                $"Create it, or let {PostgresOptions.SectionName}:{nameof(PostgresOptions.ConnectionString)} name one that exists.",
                ex);
        }
    }

    private async Task AcquireLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var tryLock = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        tryLock.Parameters.AddWithValue("key", AdvisoryLockKey);
        if ((bool)(await tryLock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            return;
        }

        LogWaitingForLock();
        await using var waitForLock = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection) { CommandTimeout = 0 };
        waitForLock.Parameters.AddWithValue("key", AdvisoryLockKey);
        await waitForLock.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ReleaseLockAsync(NpgsqlConnection connection)
    {
        try
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", AdvisoryLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            // The connection broke; PostgreSQL releases a session's advisory locks when the session ends anyway.
            LogUnlockFailed(ex);
        }
    }

    private static async Task<Dictionary<int, AppliedMigration>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT version, name, checksum, applied_at FROM schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var applied = new Dictionary<int, AppliedMigration>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var record = new AppliedMigration(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3));
            applied[record.Version] = record;
        }

        return applied;
    }

    private async Task ApplyAsync(NpgsqlConnection connection, Migration migration, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            // No timeout: a migration that rewrites a big table may take long; the cancellation token still stops it.
            await using (var script = new NpgsqlCommand(migration.Sql, connection, transaction) { CommandTimeout = 0 })
            {
                await script.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = new NpgsqlCommand(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (@version, @name, @checksum)",
                connection,
                transaction))
            {
                record.Parameters.AddWithValue("version", migration.Version);
                record.Parameters.AddWithValue("name", migration.Name);
                record.Parameters.AddWithValue("checksum", migration.Checksum);
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            LogMigrationFailed(ex, migration.Name);
            throw new InvalidOperationException(
                $"Migration {migration.Name} failed and was rolled back: {ex.SqlState}: {ex.MessageText}{DescribeStatement(ex)}", ex);
        }

        LogApplied(migration.Name, stopwatch.Elapsed.TotalMilliseconds);
    }

    /// <summary>Npgsql runs a script statement by statement; naming the failing one saves a hunt through the file.</summary>
    private static string DescribeStatement(PostgresException ex)
    {
        var statement = ex.BatchCommand?.CommandText.Trim();
        if (string.IsNullOrEmpty(statement))
        {
            return "";
        }

        var firstLines = string.Join(' ', statement.Split('\n', 3, StringSplitOptions.TrimEntries).Take(2));
        return $" in the statement starting \"{(firstLines.Length <= 160 ? firstLines : firstLines[..160] + "…")}\"";
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Host, port and database, for messages: the connection string itself may hold a password.</summary>
    private string DescribeTarget()
    {
        var builder = new NpgsqlConnectionStringBuilder(_dataSource.ConnectionString);
        return $"{builder.Host}:{builder.Port}/{builder.Database}";
    }

    private sealed record AppliedMigration(int Version, string Name, string Checksum, DateTimeOffset AppliedAt);

    [LoggerMessage(1, LogLevel.Warning, "PostgreSQL at {Target} is not answering yet (attempt {Attempt}); retrying for up to {RemainingSeconds:0.#} s more")]
    private partial void LogNotAnswering(Exception exception, string target, int attempt, double remainingSeconds);

    [LoggerMessage(2, LogLevel.Information, "PostgreSQL at {Target} answered after {Attempt} attempts ({ElapsedSeconds:0.#} s)")]
    private partial void LogPostgresAnswered(string target, int attempt, double elapsedSeconds);

    [LoggerMessage(3, LogLevel.Error, "PostgreSQL at {Target} did not answer within {TimeoutSeconds:0.#} s ({Attempt} attempts); giving up")]
    private partial void LogGaveUp(Exception exception, string target, int attempt, double timeoutSeconds);

    [LoggerMessage(4, LogLevel.Information, "Created database {Database}")]
    private partial void LogCreatedDatabase(string database);

    [LoggerMessage(5, LogLevel.Information, "Waiting for another instance to finish migrating the database")]
    private partial void LogWaitingForLock();

    [LoggerMessage(6, LogLevel.Information, "Applied migration {Migration} in {ElapsedMilliseconds:0} ms")]
    private partial void LogApplied(string migration, double elapsedMilliseconds);

    [LoggerMessage(7, LogLevel.Error, "Migration {Migration} failed and was rolled back")]
    private partial void LogMigrationFailed(Exception exception, string migration);

    [LoggerMessage(8, LogLevel.Information, "Database schema is up to date ({AppliedNow} of {Total} migrations applied now)")]
    private partial void LogUpToDate(int appliedNow, int total);

    [LoggerMessage(9, LogLevel.Warning, "The database lists migration {Migration} (version {Version}), which this build does not know; a newer build has migrated it")]
    private partial void LogUnknownMigration(string migration, int version);

    [LoggerMessage(10, LogLevel.Warning, "Could not release the migration lock; it goes with the connection")]
    private partial void LogUnlockFailed(Exception exception);
}
