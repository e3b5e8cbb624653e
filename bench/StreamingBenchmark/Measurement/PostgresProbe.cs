using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Analytics.StreamingBenchmark.Measurement;

/// <summary>What the server runs with, as it says itself (so the report states how durable its writes were).</summary>
internal sealed record PostgresSettings(
    string Version, string Fsync, string SynchronousCommit, string FullPageWrites, string WalSyncMethod, string SharedBuffers,
    string MaxWalSize, int MaxConnections, string? DataFileSystem)
{
    /// <summary>Every write is flushed to disk at commit, as in production.</summary>
    public bool Durable => Fsync == "on" && SynchronousCommit is "on" or "remote_apply" or "remote_write" or "local";

    public string Describe() => $"PostgreSQL {Version}: fsync={Fsync}, synchronous_commit={SynchronousCommit}, full_page_writes={FullPageWrites}, " +
        $"wal_sync_method={WalSyncMethod}, shared_buffers={SharedBuffers}, max_wal_size={MaxWalSize}, max_connections={MaxConnections}" +
        (DataFileSystem is null ? "" : $", data on {DataFileSystem}") +
        (Durable ? " (durable: every commit waits for its WAL flush)" : " (NOT durable: commits do not wait for the disk; writes/s are flattering)");
}

/// <summary>
/// PostgreSQL's own counts: <c>pg_stat_database</c> of one database, and the server-wide <c>pg_stat_wal</c> and
/// checkpoints. PostgreSQL publishes a backend's counts when its transaction ends, at most once a second, so a
/// reading is settled (see <see cref="PostgresProbe.ReadSettledAsync"/>) before it is compared.
/// </summary>
internal sealed record PostgresStats(
    long XactCommit, long XactRollback, long TupInserted, long TupUpdated, long TupDeleted, long BlocksRead, long BlocksHit,
    long Deadlocks, long? WalRecords, long? WalFullPageImages, long? WalBytes, long? WalWrites, long? WalSyncs, long? Checkpoints)
{
    public PostgresStats Minus(PostgresStats before) => new(
        XactCommit - before.XactCommit, XactRollback - before.XactRollback, TupInserted - before.TupInserted,
        TupUpdated - before.TupUpdated, TupDeleted - before.TupDeleted, BlocksRead - before.BlocksRead, BlocksHit - before.BlocksHit,
        Deadlocks - before.Deadlocks, WalRecords - before.WalRecords, WalFullPageImages - before.WalFullPageImages, WalBytes - before.WalBytes,
        WalWrites - before.WalWrites, WalSyncs - before.WalSyncs, Checkpoints - before.Checkpoints);

    public PostgresStats WithoutOwnTransactions(long transactions) => this with { XactCommit = XactCommit - transactions };

    private bool SameDatabaseCounts(PostgresStats other) =>
        XactCommit == other.XactCommit && XactRollback == other.XactRollback && TupInserted == other.TupInserted
        && TupUpdated == other.TupUpdated && TupDeleted == other.TupDeleted;

    internal static bool Settled(PostgresStats a, PostgresStats b) => a.SameDatabaseCounts(b);
}

/// <summary>
/// The benchmark's side door into the PostgreSQL server: its settings, a fresh database per run, statistics, and the
/// CPU time of its processes (when it runs on this machine). Its statistics queries run in the maintenance database
/// of the connection string, so that they are not counted in a run's database.
/// </summary>
internal sealed class PostgresProbe : IAsyncDisposable
{
    /// <summary>Name of the probe's own data sources, so that their statements are told apart from the silo's.</summary>
    public const string PoolName = "users-benchmark-probe";

    // Linux reports process CPU in clock ticks of USER_HZ, 100 on every mainstream build.
    private const double TicksPerSecond = 100;

    private readonly NpgsqlDataSource _admin;
    private readonly string _connectionString;
    private int? _postmasterPid;

    private PostgresProbe(string connectionString)
    {
        _connectionString = connectionString;
        _admin = Build(connectionString);
    }

    public PostgresSettings Settings { get; private set; } = null!;

    public static async Task<PostgresProbe> ConnectAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var probe = new PostgresProbe(connectionString);
        try
        {
            probe.Settings = await probe.ReadSettingsAsync(cancellationToken).ConfigureAwait(false);
            probe._postmasterPid = await probe.FindPostmasterAsync(cancellationToken).ConfigureAwait(false);
            return probe;
        }
        catch (NpgsqlException ex)
        {
            await probe.DisposeAsync().ConfigureAwait(false);
            throw new BenchmarkException($"PostgreSQL at {Describe(connectionString)} did not answer: {ex.Message}");
        }
    }

    /// <summary>True when PostgreSQL runs on this machine and its processes' CPU time can be read.</summary>
    public bool MeasuresCpu => _postmasterPid is not null;

    /// <summary>Creates an empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync($"CREATE DATABASE \"{name}\"", cancellationToken).ConfigureAwait(false);
        return new NpgsqlConnectionStringBuilder(_connectionString) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// Drops the database once the backends of connections closed a moment ago have exited (up to 5 s; then it forces
    /// them out), so that the server's log is not filled with terminated connections.
    /// </summary>
    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await using var command = _admin.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0) break;
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A data source on <paramref name="connectionString"/> named <see cref="PoolName"/>, for the run's own queries.</summary>
    public static NpgsqlDataSource Build(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { Name = PoolName };
        builder.ConnectionStringBuilder.ApplicationName = PoolName;
        return builder.Build();
    }

    /// <summary>
    /// Reads the statistics every 300 ms until two readings of the database agree, at least 1.5 s after the first:
    /// a backend publishes its counts once a second at most (and an idle one within about a second).
    /// </summary>
    public async Task<PostgresStats> ReadSettledAsync(string database, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var previous = await ReadAsync(database, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken).ConfigureAwait(false);
            var current = await ReadAsync(database, cancellationToken).ConfigureAwait(false);
            if ((PostgresStats.Settled(previous, current) && clock.Elapsed >= TimeSpan.FromSeconds(1.5)) || clock.Elapsed >= TimeSpan.FromSeconds(15))
            {
                return current;
            }

            previous = current;
        }
    }

    /// <summary>
    /// CPU time, in microseconds, of the server's processes: the postmaster, every live child (backends, WAL writer,
    /// checkpointer…) and the children it has reaped. 0 when the server is not on this machine.
    /// </summary>
    public long CpuMicroseconds()
    {
        if (_postmasterPid is not { } postmaster) return 0;
        var ticks = 0L;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(directory);
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (ReadStat(pid) is not { } stat) continue;
            if (pid == postmaster) ticks += stat.OwnTicks + stat.ReapedChildrenTicks;
            else if (stat.ParentPid == postmaster) ticks += stat.OwnTicks + stat.ReapedChildrenTicks;
        }

        return (long)(ticks / TicksPerSecond * 1e6);
    }

    public async ValueTask DisposeAsync() => await _admin.DisposeAsync().ConfigureAwait(false);

    private async Task<PostgresStats> ReadAsync(string database, CancellationToken cancellationToken)
    {
        await using var connection = await _admin.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        long xactCommit = 0, xactRollback = 0, inserted = 0, updated = 0, deleted = 0, blocksRead = 0, blocksHit = 0, deadlocks = 0;
        await using (var command = new NpgsqlCommand(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, blks_read, blks_hit, deadlocks FROM pg_stat_database WHERE datname = $1",
            connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = database });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                xactCommit = reader.GetInt64(0);
                xactRollback = reader.GetInt64(1);
                inserted = reader.GetInt64(2);
                updated = reader.GetInt64(3);
                deleted = reader.GetInt64(4);
                blocksRead = reader.GetInt64(5);
                blocksHit = reader.GetInt64(6);
                deadlocks = reader.GetInt64(7);
            }
        }

        // pg_stat_wal exists from PostgreSQL 14; checkpoints moved to pg_stat_checkpointer in 17.
        var wal = await TryReadAsync(connection, "SELECT wal_records, wal_fpi, wal_bytes::bigint, wal_write, wal_sync FROM pg_stat_wal", 5, cancellationToken).ConfigureAwait(false);
        var checkpoints = await TryReadAsync(connection, "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter", 1, cancellationToken).ConfigureAwait(false)
            ?? await TryReadAsync(connection, "SELECT num_timed + num_requested FROM pg_stat_checkpointer", 1, cancellationToken).ConfigureAwait(false);
        return new PostgresStats(
            xactCommit, xactRollback, inserted, updated, deleted, blocksRead, blocksHit, deadlocks,
            wal?[0], wal?[1], wal?[2], wal?[3], wal?[4], checkpoints?[0]);
    }

    private static async Task<long[]?> TryReadAsync(NpgsqlConnection connection, string sql, int columns, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
            var values = new long[columns];
            for (var i = 0; i < columns; i++) values[i] = reader.GetInt64(i);
            return values;
        }
        catch (PostgresException)
        {
            return null;
        }
    }

    private async Task<PostgresSettings> ReadSettingsAsync(CancellationToken cancellationToken)
    {
        await using var command = _admin.CreateCommand("""
            SELECT name, setting, unit FROM pg_settings
            WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'shared_buffers', 'max_wal_size', 'max_connections', 'data_directory', 'block_size')
            """);
        var values = new Dictionary<string, (string Setting, string? Unit)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                values[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
            }
        }

        string Get(string name) => values.TryGetValue(name, out var v) ? v.Setting : "?";
        return new PostgresSettings(
            Get("server_version"),
            Get("fsync"),
            Get("synchronous_commit"),
            Get("full_page_writes"),
            Get("wal_sync_method"),
            Size(values.GetValueOrDefault("shared_buffers")),
            Size(values.GetValueOrDefault("max_wal_size")),
            int.TryParse(Get("max_connections"), NumberStyles.None, CultureInfo.InvariantCulture, out var max) ? max : 0,
            // data_directory is shown to superusers only; without it the file system stays unknown.
            values.TryGetValue("data_directory", out var directory) ? FileSystemOf(directory.Setting) : null);
    }

    /// <summary>A size setting in its unit (8kB pages, MB) as text, e.g. "128 MiB".</summary>
    private static string Size((string Setting, string? Unit) value)
    {
        if (!long.TryParse(value.Setting, NumberStyles.None, CultureInfo.InvariantCulture, out var amount)) return value.Setting ?? "?";
        var bytes = value.Unit switch
        {
            "8kB" => amount * 8 * 1024,
            "kB" => amount * 1024,
            "MB" => amount * 1024 * 1024,
            _ => amount,
        };
        return bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GiB" : $"{bytes / (double)(1 << 20):0} MiB";
    }

    /// <summary>The mount that holds <paramref name="path"/>, as "ext4 (/dev/vda)", from /proc/mounts.</summary>
    private static string? FileSystemOf(string path)
    {
        const string Mounts = "/proc/mounts";
        if (!File.Exists(Mounts)) return null;
        var best = File.ReadLines(Mounts)
            .Select(line => line.Split(' '))
            .Where(f => f.Length >= 3 && (path == f[1] || path.StartsWith(f[1].TrimEnd('/') + "/", StringComparison.Ordinal)))
            .MaxBy(f => f[1].Length);
        return best is null ? null : $"{best[2]} ({best[0]})";
    }

    /// <summary>The postmaster is the parent of our own backend; null when the server is not on this machine.</summary>
    private async Task<int?> FindPostmasterAsync(CancellationToken cancellationToken)
    {
        var host = new NpgsqlConnectionStringBuilder(_connectionString).Host ?? "";
        if (host is not ("127.0.0.1" or "localhost" or "::1") && !host.StartsWith('/')) return null;
        await using var command = _admin.CreateCommand("SELECT pg_backend_pid()");
        var backend = (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        return ReadStat(backend)?.ParentPid;
    }

    private static ProcessStat? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
            return new ProcessStat(
                int.Parse(fields[1], CultureInfo.InvariantCulture),
                long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture),
                long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null; // it exited meanwhile
        }
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = _admin.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}";
    }

    private sealed record ProcessStat(int ParentPid, long OwnTicks, long ReapedChildrenTicks);
}
