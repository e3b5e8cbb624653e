using System.Globalization;
using Npgsql;

namespace Analytics.ChurnBenchmark.Training;

/// <summary>
/// A database of its own on the given server for one run: created empty, dropped (with any connection still open to
/// it) when disposed, so a run never sees another's data and leaves nothing behind.
/// </summary>
internal sealed class ScratchDatabase : IAsyncDisposable
{
    private readonly string _serverConnectionString;
    private readonly TextWriter _progress;

    private ScratchDatabase(string serverConnectionString, string name, TextWriter progress)
    {
        _serverConnectionString = serverConnectionString;
        _progress = progress;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>The database's name, e.g. <c>churn_bench_20250101T120000_1a2b3c</c>.</summary>
    public string Name { get; }

    /// <summary>The server's connection string with this database.</summary>
    public string ConnectionString { get; }

    /// <summary>Server version and the settings that bear on a bulk load and a big sort.</summary>
    public required string ServerDescription { get; init; }

    /// <summary>Creates the database through <paramref name="serverConnectionString"/> (any database of that server).</summary>
    public static async Task<ScratchDatabase> CreateAsync(string serverConnectionString, TextWriter progress, CancellationToken cancellationToken)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"churn_bench_{DateTime.UtcNow:yyyyMMdd'T'HHmmss}_{Random.Shared.Next(0x1000000):x6}");
        await using var connection = await OpenServerAsync(serverConnectionString, cancellationToken).ConfigureAwait(false);
        await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var description = await DescribeServerAsync(connection, cancellationToken).ConfigureAwait(false);
        var builder = new NpgsqlConnectionStringBuilder(serverConnectionString);
        await progress.WriteLineAsync($"database {name} created on {builder.Host}:{builder.Port} ({description})").ConfigureAwait(false);
        return new ScratchDatabase(serverConnectionString, name, progress) { ServerDescription = description };
    }

    public async ValueTask DisposeAsync()
    {
        // Pooled connections of this process to the database would make DROP wait; FORCE ends any that remain.
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = await OpenServerAsync(_serverConnectionString, CancellationToken.None).ConfigureAwait(false);
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection) { CommandTimeout = 120 };
            await drop.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            await _progress.WriteLineAsync($"database {Name} dropped").ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            await _progress.WriteLineAsync($"warning: could not drop database {Name}: {ex.Message}").ConfigureAwait(false);
        }
    }

    private static async Task<NpgsqlConnection> OpenServerAsync(string serverConnectionString, CancellationToken cancellationToken)
    {
        // Unpooled: CREATE/DROP DATABASE cannot run in a transaction block, and this connection must not linger.
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(serverConnectionString) { Pooling = false }.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<string> DescribeServerAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT name, setting, coalesce(unit, '') FROM pg_settings
            WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'work_mem', 'max_wal_size')
            """,
            connection);
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                settings[reader.GetString(0)] = WithUnit(reader.GetString(1), reader.GetString(2));
            }
        }

        string Get(string key) => settings.TryGetValue(key, out var value) ? value : "?";
        return $"PostgreSQL {Get("server_version")}, fsync {Get("fsync")}, synchronous_commit {Get("synchronous_commit")}, shared_buffers {Get("shared_buffers")}, work_mem {Get("work_mem")}, max_wal_size {Get("max_wal_size")}";
    }

    /// <summary>pg_settings gives sizes in units (e.g. 16384 × 8kB): in MiB or kiB.</summary>
    private static string WithUnit(string setting, string unit)
    {
        var bytesPerUnit = unit switch { "8kB" => 8192L, "kB" => 1024L, "MB" => 1L << 20, _ => 0L };
        if (bytesPerUnit == 0 || !long.TryParse(setting, NumberStyles.Integer, CultureInfo.InvariantCulture, out var units)) return setting + unit;
        var bytes = units * bytesPerUnit;
        return bytes >= 1 << 20
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1 << 20):0.#} MiB")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} kiB");
    }
}
