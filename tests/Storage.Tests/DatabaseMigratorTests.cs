using Analytics.TestInfrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Analytics.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class DatabaseMigratorTests(PostgresFixture fixture)
{
    /// <summary>The column contract of the app tables: what users query with psql and other components use by name.</summary>
    public static TheoryData<string, string[]> ContractColumns => new()
    {
        {
            "raw_events",
            ["event_id", "user_id", "session_id", "event_type", "product_id", "category", "price", "event_time", "device",
             "channel", "kafka_partition", "kafka_offset", "kafka_epoch", "ingested_at"]
        },
        {
            "funnel_summary",
            ["window_start", "window_end", "views", "add_to_carts", "purchases", "unique_viewers", "unique_carters",
             "unique_purchasers", "revenue", "late_events", "is_final", "updated_at"]
        },
        {
            "churn_features",
            ["user_id", "total_views", "total_add_to_carts", "total_purchases", "session_count", "avg_session_seconds",
             "avg_events_per_session", "first_event_time", "last_event_time", "seconds_since_last_event", "total_spend",
             "avg_order_value", "distinct_products", "distinct_categories", "cart_abandonments", "cart_to_purchase_ratio",
             "favourite_category", "events_last_7d", "events_prev_7d", "activity_trend", "recency_days",
             "frequency_per_day", "monetary", "as_of", "updated_at"]
        },
        { "churn_predictions", ["id", "user_id", "churn_probability", "churned", "model_version", "scored_at"] },
        { "dead_letters", ["id", "topic", "kafka_partition", "kafka_offset", "payload", "reason", "received_at"] },
    };

    [Fact]
    public void MigrationNames_AreTheEmbeddedScriptsInOrder()
    {
        Assert.Equal(["001_orleans_adonet.sql", "002_analytics_tables.sql", "003_raw_events_positions.sql", "004_funnel_windows.sql", "005_churn_models.sql", "006_kpi_indexes.sql", "007_drop_user_time_index.sql"], DatabaseMigrator.MigrationNames);
    }

    [Fact]
    public async Task Migrate_FreshDatabase_RecordsEveryMigration()
    {
        await using var dataSource = NpgsqlDataSource.Create(await fixture.Server.CreateDatabaseAsync());

        await TestDatabase.Migrator(dataSource).MigrateAsync(CancellationToken.None);

        var recorded = await TestDatabase.ListAsync(
            dataSource,
            "SELECT version, name, length(checksum) FROM schema_migrations ORDER BY version",
            r => (r.GetInt32(0), r.GetString(1), r.GetInt32(2)));
        Assert.Equal([(1, "001_orleans_adonet.sql", 64), (2, "002_analytics_tables.sql", 64), (3, "003_raw_events_positions.sql", 64), (4, "004_funnel_windows.sql", 64), (5, "005_churn_models.sql", 64), (6, "006_kpi_indexes.sql", 64), (7, "007_drop_user_time_index.sql", 64)], recorded);
    }

    [Fact]
    public async Task Migrate_Twice_IsIdempotent()
    {
        await using var dataSource = NpgsqlDataSource.Create(await fixture.Server.CreateDatabaseAsync());
        var logger = new CollectingLogger<DatabaseMigrator>();

        await TestDatabase.Migrator(dataSource).MigrateAsync(CancellationToken.None);
        await TestDatabase.Migrator(dataSource, logger: logger).MigrateAsync(CancellationToken.None);

        Assert.Equal((long)DatabaseMigrator.MigrationNames.Count, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM schema_migrations"));
        Assert.Contains(logger.Entries, e => e.Message.Contains($"up to date (0 of {DatabaseMigrator.MigrationNames.Count} migrations applied now)", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ContractColumns))]
    public async Task Migrate_FreshDatabase_AppTableHasContractColumns(string table, string[] columns)
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);

        var actual = await TestDatabase.ListAsync(
            dataSource,
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = @table",
            r => r.GetString(0),
            ("table", table));

        Assert.Empty(columns.Except(actual));
    }

    [Fact]
    public async Task Migrate_FreshDatabase_RawEventsHasContractTypesAndIndexes()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);

        var types = (await TestDatabase.ListAsync(
            dataSource,
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns WHERE table_name = 'raw_events'",
            r => (Column: r.GetString(0), Type: r.GetString(1), Nullable: r.GetString(2)))).ToDictionary(c => c.Column);
        Assert.Equal("uuid", types["event_id"].Type);
        Assert.Equal("numeric", types["price"].Type);
        Assert.Equal("timestamp with time zone", types["event_time"].Type);
        Assert.Equal("YES", types["device"].Nullable);
        Assert.Equal("YES", types["channel"].Nullable);
        Assert.Equal("bigint", types["kafka_offset"].Type);

        var indexes = await TestDatabase.ListAsync(
            dataSource,
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'raw_events'",
            r => r.GetString(0));
        Assert.Contains(indexes, i => i.EndsWith("(event_time)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.EndsWith("(user_id, kafka_epoch, kafka_partition, kafka_offset)", StringComparison.Ordinal));
        Assert.DoesNotContain(indexes, i => i.EndsWith("(user_id, event_time)", StringComparison.Ordinal)); // 007: every query by user uses the one above
        Assert.Equal(4, indexes.Count); // each index costs every insert: event_id (key), event_time, user position, ingested_at
        Assert.Contains(indexes, i => i.Contains("UNIQUE", StringComparison.Ordinal) && i.EndsWith("(event_id)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Migrate_AppliedMigrationChanged_FailsNamingTheMigration()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        await TestDatabase.ScalarAsync<object>(dataSource, "UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 2");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => TestDatabase.Migrator(dataSource).MigrateAsync(CancellationToken.None));

        Assert.Contains("Migration 002_analytics_tables.sql has changed since it was applied", error.Message, StringComparison.Ordinal);
        Assert.Contains("tampered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_ThreeMigratorsAtOnce_AllSucceed()
    {
        var connectionString = await fixture.Server.CreateDatabaseAsync();
        // Separate data sources: three silos starting at once share nothing but the database.
        var dataSources = Enumerable.Range(0, 3).Select(_ => NpgsqlDataSource.Create(connectionString)).ToArray();
        try
        {
            await Task.WhenAll(dataSources.Select(d => Task.Run(() => TestDatabase.Migrator(d).MigrateAsync(CancellationToken.None))));

            Assert.Equal((long)DatabaseMigrator.MigrationNames.Count, await TestDatabase.ScalarAsync<long>(dataSources[0], "SELECT count(*) FROM schema_migrations"));
            Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(dataSources[0], "SELECT count(*) FROM raw_events"));
        }
        finally
        {
            foreach (var dataSource in dataSources)
            {
                await dataSource.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Migrate_DatabaseMissing_CreatesIt()
    {
        var missing = new NpgsqlConnectionStringBuilder(fixture.Server.ConnectionString) { Database = "created_" + Guid.NewGuid().ToString("N") };
        await using var dataSource = NpgsqlDataSource.Create(missing.ConnectionString);
        var logger = new CollectingLogger<DatabaseMigrator>();

        await TestDatabase.Migrator(dataSource, logger: logger).MigrateAsync(CancellationToken.None);

        Assert.Equal((long)DatabaseMigrator.MigrationNames.Count, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM schema_migrations"));
        Assert.Contains(logger.Entries, e => e.Message == $"Created database {missing.Database}");
    }

    [Fact]
    public async Task MigrateAnalyticsDatabase_HostConfiguredByEnvironmentVariable_MigratesThatDatabase()
    {
        var connectionString = await fixture.Server.CreateDatabaseAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["POSTGRES_CONNECTION"] = connectionString })
            .Build();
        await using var services = new ServiceCollection().AddLogging().AddAnalyticsStorage(configuration).BuildServiceProvider();

        await services.MigrateAnalyticsDatabaseAsync();

        Assert.Equal((long)DatabaseMigrator.MigrationNames.Count, await TestDatabase.ScalarAsync<long>(services.GetRequiredService<NpgsqlDataSource>(), "SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Migrate_NothingListening_TimesOutNamingTheSettingAndLogsEachAttempt()
    {
        await using var dataSource = TestDatabase.Unreachable(FreePorts.Next());
        var logger = new CollectingLogger<DatabaseMigrator>();

        var error = await Assert.ThrowsAsync<TimeoutException>(
            () => TestDatabase.Migrator(dataSource, TimeSpan.FromSeconds(1.5), logger).MigrateAsync(CancellationToken.None));

        Assert.Contains("did not answer within 1.5s (Postgres:StartupTimeout)", error.Message, StringComparison.Ordinal);
        var attempts = logger.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("is not answering yet (attempt", StringComparison.Ordinal)).ToList();
        Assert.True(attempts.Count >= 2, $"Expected a warning per failed attempt, got {attempts.Count}.");
        Assert.All(attempts, a => Assert.NotNull(a.Exception));
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("giving up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Migrate_ServerStartsLate_WaitsForItThenMigrates()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var dataSource = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await server.StopAsync();
        var logger = new CollectingLogger<DatabaseMigrator>();

        var migration = TestDatabase.Migrator(dataSource, TimeSpan.FromSeconds(30), logger).MigrateAsync(CancellationToken.None);
        await Eventually.UntilAsync(
            () => logger.Entries.Any(e => e.Message.Contains("is not answering yet", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10),
            "the migrator to report a refused connection");
        Assert.False(migration.IsCompleted);
        await server.StartAgainAsync();
        await migration;

        Assert.Equal((long)DatabaseMigrator.MigrationNames.Count, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM schema_migrations"));
        Assert.Contains(logger.Entries, e => e.Message.Contains("answered after", StringComparison.Ordinal));
    }
}
