using System.Collections.Concurrent;
using System.Net;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Analytics.Storage.Tests;

/// <summary>
/// A real silo on a migrated database, clustered, persisting and keeping reminders through the Orleans ADO.NET
/// providers, plus an external client that finds it through the membership table, as the web API does.
/// </summary>
public sealed class OrleansClusterFixture : IAsyncLifetime
{
    public const string StorageName = "analytics";
    private const string Invariant = "Npgsql";

    private PostgresServer? _server;
    private NpgsqlDataSource? _dataSource;
    private IHost? _silo;
    private IHost? _client;

    public string ClusterId { get; } = "storage-tests-" + Guid.NewGuid().ToString("N")[..8];

    public string ServiceId { get; } = "storage-tests";

    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("Not initialised.");

    public IClusterClient Client => _client?.Services.GetRequiredService<IClusterClient>() ?? throw new InvalidOperationException("Not initialised.");

    public int SiloPort { get; private set; }

    public int GatewayPort { get; private set; }

    /// <summary>Warnings and errors of the silos and the client, for the test output.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        ConnectionString = await _server.CreateDatabaseAsync();
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        await TestDatabase.Migrator(_dataSource).MigrateAsync(CancellationToken.None);

        SiloPort = FreePorts.Next();
        GatewayPort = FreePorts.Next();
        _silo = await StartSiloAsync(SiloPort, GatewayPort);
        _client = await StartClientAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var host in new[] { _client, _silo })
        {
            if (host is not null)
            {
                await host.StopAsync();
                host.Dispose();
            }
        }

        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Starts a silo of this cluster; returns once it is active.</summary>
    public async Task<IHost> StartSiloAsync(int siloPort, int gatewayPort)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:ConnectionString"] = ConnectionString });
        ConfigureLogging(builder.Logging, $"silo:{siloPort}");
        builder.Services.AddAnalyticsStorage(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);

            // The providers take the connection string from the app's validated PostgresOptions: one setting for all.
            silo.UseAdoNetClustering((OptionsBuilder<AdoNetClusteringSiloOptions> options) =>
                options.Configure<IOptions<PostgresOptions>>((o, postgres) =>
                {
                    o.Invariant = Invariant;
                    o.ConnectionString = postgres.Value.ConnectionString;
                }));
            silo.AddAdoNetGrainStorage(StorageName, (OptionsBuilder<AdoNetGrainStorageOptions> options) =>
                options.Configure<IOptions<PostgresOptions>>((o, postgres) =>
                {
                    o.Invariant = Invariant;
                    o.ConnectionString = postgres.Value.ConnectionString;
                }));
            silo.UseAdoNetReminderService((OptionsBuilder<AdoNetReminderTableOptions> options) =>
                options.Configure<IOptions<PostgresOptions>>((o, postgres) =>
                {
                    o.Invariant = Invariant;
                    o.ConnectionString = postgres.Value.ConnectionString;
                }));

            // Remove dead silos' rows at once rather than after an hour, so that a test sees the per-row clean-up query
            // (CleanupDefunctSiloEntryKey) run.
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.MaxDefunctSiloEntries = 0;
                o.DefunctSiloMinimumRetention = TimeSpan.Zero;
            });
        });

        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private async Task<IHost> StartClientAsync()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        ConfigureLogging(builder.Logging, "client");
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = Invariant;
                o.ConnectionString = ConnectionString;
            });
        });

        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private void ConfigureLogging(ILoggingBuilder logging, string source)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddProvider(new QueueLoggerProvider(Log, source));
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> queue, string source) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(queue, $"{source} {categoryName}");

        public void Dispose()
        {
        }
    }

    private sealed class QueueLogger(ConcurrentQueue<string> queue, string prefix) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => queue.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {prefix}: {formatter(state, exception)}{(exception is null ? "" : Environment.NewLine + exception)}");
    }
}
