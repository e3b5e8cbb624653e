using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Storage.Tests;

public sealed class StorageServiceCollectionExtensionsTests
{
    [Fact]
    public void AddAnalyticsStorage_NothingConfigured_UsesDefaults()
    {
        var options = Resolve<IOptions<PostgresOptions>>([]).Value;

        Assert.Equal("Host=127.0.0.1;Port=5432;Username=postgres;Database=analytics", options.ConnectionString);
        Assert.Equal(TimeSpan.FromSeconds(60), options.StartupTimeout);
    }

    [Fact]
    public void AddAnalyticsStorage_OnlyPostgresConnection_UsesItAsTheConnectionString()
    {
        var options = Resolve<IOptions<PostgresOptions>>(new() { ["POSTGRES_CONNECTION"] = "Host=db;Database=x" }).Value;

        Assert.Equal("Host=db;Database=x", options.ConnectionString);
    }

    [Fact]
    public void AddAnalyticsStorage_ExplicitConnectionString_WinsOverPostgresConnection()
    {
        var options = Resolve<IOptions<PostgresOptions>>(new()
        {
            ["Postgres:ConnectionString"] = "Host=explicit",
            ["Postgres:StartupTimeout"] = "00:00:05",
            ["POSTGRES_CONNECTION"] = "Host=fallback",
        }).Value;

        Assert.Equal("Host=explicit", options.ConnectionString);
        Assert.Equal(TimeSpan.FromSeconds(5), options.StartupTimeout);
    }

    [Theory]
    [InlineData("Host=db;Colour=blue", "Postgres:ConnectionString is not a valid Npgsql connection string:")]
    [InlineData("Database=analytics", "Postgres:ConnectionString names no Host.")]
    public void AddAnalyticsStorage_BadConnectionString_FailsNamingTheSetting(string connectionString, string expected)
    {
        var error = Assert.Throws<OptionsValidationException>(
            () => Resolve<IOptions<PostgresOptions>>(new() { ["Postgres:ConnectionString"] = connectionString }).Value);

        Assert.Contains(error.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void AddAnalyticsStorage_NonPositiveStartupTimeout_FailsNamingTheSetting()
    {
        var error = Assert.Throws<OptionsValidationException>(
            () => Resolve<IOptions<PostgresOptions>>(new() { ["Postgres:StartupTimeout"] = "00:00:00" }).Value);

        Assert.Contains(error.Failures, f => f.StartsWith("Postgres:StartupTimeout must be positive", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddAnalyticsStorage_InvalidSettings_StopTheHostAtStartUp()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:ConnectionString"] = "Host=db;Colour=blue" });
        builder.Services.AddAnalyticsStorage(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Postgres:ConnectionString", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddAnalyticsStorage_RegistersSingletons()
    {
        using var services = Provider(new() { ["Postgres:ConnectionString"] = "Host=db;Database=x" });

        Assert.Same(services.GetRequiredService<NpgsqlDataSource>(), services.GetRequiredService<NpgsqlDataSource>());
        Assert.Same(services.GetRequiredService<DatabaseMigrator>(), services.GetRequiredService<DatabaseMigrator>());
        Assert.Same(services.GetRequiredService<RawEventWriter>(), services.GetRequiredService<RawEventWriter>());
        Assert.Same(services.GetRequiredService<DeadLetterWriter>(), services.GetRequiredService<DeadLetterWriter>());
        Assert.Contains("Host=db", services.GetRequiredService<NpgsqlDataSource>().ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void AddAnalyticsStorage_PooledConnectionsAreNotResetAndHotStatementsArePrepared_UnlessTheConnectionStringSaysOtherwise()
    {
        using var defaults = Provider(new() { ["Postgres:ConnectionString"] = "Host=db;Database=x" });
        using var explicitSettings = Provider(new() { ["Postgres:ConnectionString"] = "Host=db;Database=x;No Reset On Close=false;MaxAutoPrepare=0" });

        var chosen = new NpgsqlConnectionStringBuilder(defaults.GetRequiredService<NpgsqlDataSource>().ConnectionString);
        var given = new NpgsqlConnectionStringBuilder(explicitSettings.GetRequiredService<NpgsqlDataSource>().ConnectionString);

        Assert.Equal((true, 64), (chosen.NoResetOnClose, chosen.MaxAutoPrepare));
        Assert.Equal((false, 0), (given.NoResetOnClose, given.MaxAutoPrepare));
    }

    [Fact]
    public void AddAnalyticsStorage_ConnectionsCarryTheHostsApplicationName_UnlessTheConnectionStringNamesOne()
    {
        static ServiceProvider ForHost(string connectionString)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:ConnectionString"] = connectionString }).Build();
            return new ServiceCollection().AddLogging()
                .AddSingleton<IHostEnvironment>(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { ApplicationName = "Analytics.Silo" })
                .AddAnalyticsStorage(configuration).BuildServiceProvider();
        }

        using var defaults = ForHost("Host=db;Database=x");
        using var explicitName = ForHost("Host=db;Database=x;Application Name=reporting");

        Assert.Equal("Analytics.Silo", new NpgsqlConnectionStringBuilder(defaults.GetRequiredService<NpgsqlDataSource>().ConnectionString).ApplicationName);
        Assert.Equal("reporting", new NpgsqlConnectionStringBuilder(explicitName.GetRequiredService<NpgsqlDataSource>().ConnectionString).ApplicationName);
    }

    private static T Resolve<T>(Dictionary<string, string?> settings) where T : notnull
    {
        // The provider is left to the GC on purpose: T is an options value read before disposal matters.
        var services = Provider(settings);
        return services.GetRequiredService<T>();
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddAnalyticsStorage(configuration).BuildServiceProvider();
    }
}
