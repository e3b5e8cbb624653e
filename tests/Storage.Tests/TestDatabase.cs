using Analytics.TestInfrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Storage.Tests;

/// <summary>Helpers that give a test its own database.</summary>
internal static class TestDatabase
{
    public static DatabaseMigrator Migrator(
        NpgsqlDataSource dataSource,
        TimeSpan? startupTimeout = null,
        ILogger<DatabaseMigrator>? logger = null)
        => new(
            dataSource,
            Options.Create(new PostgresOptions
            {
                ConnectionString = dataSource.ConnectionString,
                StartupTimeout = startupTimeout ?? TimeSpan.FromSeconds(30),
            }),
            logger ?? NullLogger<DatabaseMigrator>.Instance);

    /// <summary>A fresh database with every migration applied; dispose the data source at the end of the test.</summary>
    public static async Task<NpgsqlDataSource> CreateMigratedAsync(PostgresServer server)
    {
        var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await Migrator(dataSource).MigrateAsync(CancellationToken.None);
        return dataSource;
    }

    public static async Task<T?> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        var result = await command.ExecuteScalarAsync();
        return result is null or DBNull ? default : (T)result;
    }

    public static async Task<List<T>> ListAsync<T>(NpgsqlDataSource dataSource, string sql, Func<NpgsqlDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>A data source for a port where nothing listens: any round trip fails.</summary>
    public static NpgsqlDataSource Unreachable(int port) => NpgsqlDataSource.Create(
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = port, Username = "postgres", Database = "nowhere", Timeout = 2 }.ConnectionString);
}

/// <summary>Keeps what was logged, so that tests can check what an operator would see.</summary>
internal sealed class CollectingLogger<T> : ILogger<T>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message, Exception? Exception)> Entries => _entries.ToArray();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _entries.Enqueue((logLevel, formatter(state, exception), exception));
}
