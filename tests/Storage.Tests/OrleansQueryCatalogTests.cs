using System.Data;
using Analytics.TestInfrastructure;
using Npgsql;

namespace Analytics.Storage.Tests;

/// <summary>
/// The stored Orleans queries run directly, with parameters typed the way the ADO.NET providers type them (DbType from
/// the .NET type, DateTime as DbType.DateTime in UTC). This covers the paths a short-lived test silo never takes:
/// lost races, bulk clean-up, wrapped reminder ranges, deleting a deployment.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OrleansQueryCatalogTests(PostgresFixture fixture)
{
    private const int Active = 3;
    private const int Dead = 6;
    private static readonly DateTime T0 = new(2026, 3, 1, 12, 0, 0, 123, DateTimeKind.Utc);

    [Fact]
    public async Task Catalog_HoldsEveryKeyTheOrleans10Providers_Read()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);

        var keys = await TestDatabase.ListAsync(dataSource, "SELECT QueryKey FROM OrleansQuery", r => r.GetString(0));

        string[] expected =
        [
            // Clustering (all required at start-up, CleanupDefunctSiloEntryKey optional but preferred)
            "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey",
            "UpdateIAmAlivetimeKey", "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey",
            "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
            // Persistence (DeleteStorageKey only needed with DeleteStateOnClear)
            "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
            // Reminders
            "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
            "DeleteReminderRowKey", "DeleteReminderRowsKey",
        ];
        Assert.Equal(expected.Order(), keys.Order());
    }

    [Fact]
    public async Task MembershipQueries_ConditionalWrites_SucceedOnlyWithTheCurrentVersion()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        const string deployment = "cluster-a";

        Assert.Equal(1, await SingleIntAsync(dataSource, "InsertMembershipVersionKey", Deployment(deployment)));
        Assert.Equal(0, await SingleIntAsync(dataSource, "InsertMembershipVersionKey", Deployment(deployment)));

        Assert.Equal(1, await SingleIntAsync(dataSource, "InsertMembershipKey", Member(deployment, 11111, Active, version: 0)));
        // Stale version, and the same silo twice: both refused, and neither bumps the version.
        Assert.Equal(0, await SingleIntAsync(dataSource, "InsertMembershipKey", Member(deployment, 11112, Active, version: 0)));
        Assert.Equal(0, await SingleIntAsync(dataSource, "InsertMembershipKey", Member(deployment, 11111, Active, version: 1)));

        var all = await RunAsync(dataSource, "MembershipReadAllKey", Deployment(deployment));
        var row = Assert.Single(all);
        Assert.Equal(1, row["Version"]);
        Assert.Equal("127.0.0.1", row["Address"]);
        Assert.Equal(T0, row["StartTime"]);

        Assert.Equal(1, await SingleIntAsync(dataSource, "UpdateMembershipKey", Update(deployment, 11111, Dead, "127.0.0.1:11112@1,2026-03-01 12:00:01.000 GMT", version: 1)));
        Assert.Equal(0, await SingleIntAsync(dataSource, "UpdateMembershipKey", Update(deployment, 11111, Active, null, version: 1)));
        Assert.Equal(0, await SingleIntAsync(dataSource, "UpdateMembershipKey", Update(deployment, 22222, Active, null, version: 2)));

        await RunAsync(
            dataSource,
            "UpdateIAmAlivetimeKey",
            [.. Deployment(deployment), .. Silo(11111), ("IAmAliveTime", T0.AddMinutes(5), DbType.DateTime)]);
        var one = Assert.Single(await RunAsync(dataSource, "MembershipReadRowKey", [.. Deployment(deployment), .. Silo(11111)]));
        Assert.Equal((Dead, 2, T0.AddMinutes(5)), ((int)one["Status"]!, (int)one["Version"]!, (DateTime)one["IAmAliveTime"]!));

        // A silo that has no row yet still gets the version.
        var none = Assert.Single(await RunAsync(dataSource, "MembershipReadRowKey", [.. Deployment(deployment), .. Silo(33333)]));
        Assert.Equal(DBNull.Value, none["StartTime"]);
        Assert.Equal(2, none["Version"]);
    }

    [Fact]
    public async Task MembershipQueries_CleanUpGatewaysAndDeletion_TouchOnlyWhatTheyShould()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        const string deployment = "cluster-b";
        await SingleIntAsync(dataSource, "InsertMembershipVersionKey", Deployment(deployment));
        await SingleIntAsync(dataSource, "InsertMembershipKey", Member(deployment, 1, Active, version: 0));
        await SingleIntAsync(dataSource, "InsertMembershipKey", Member(deployment, 2, Active, version: 1));
        await SingleIntAsync(dataSource, "InsertMembershipKey", Member(deployment, 3, Active, version: 2));
        await SingleIntAsync(dataSource, "UpdateMembershipKey", Update(deployment, 2, Dead, null, version: 3));
        await SingleIntAsync(dataSource, "UpdateMembershipKey", Update(deployment, 3, Dead, null, version: 4));

        var gateways = await RunAsync(dataSource, "GatewaysQueryKey", [.. Deployment(deployment), ("Status", Active, DbType.Int32)]);
        Assert.Equal(30001, Assert.Single(gateways)["ProxyPort"]);

        // Per-row clean-up deletes only a row that is still exactly what the caller saw.
        Assert.Equal(0, await RunNonQueryAsync(dataSource, "CleanupDefunctSiloEntryKey", CapturedRow(deployment, 2, iAmAliveTime: T0.AddMinutes(1))));
        Assert.Equal(1, await RunNonQueryAsync(dataSource, "CleanupDefunctSiloEntryKey", CapturedRow(deployment, 2, iAmAliveTime: T0)));

        // Bulk clean-up deletes dead rows older than the cut-off and leaves active ones.
        Assert.Equal(1, await RunNonQueryAsync(
            dataSource,
            "CleanupDefunctSiloEntriesKey",
            [.. Deployment(deployment), ("IAmAliveTime", T0.AddHours(1), DbType.DateTime)]));
        Assert.Equal(1L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM OrleansMembershipTable"));

        await RunNonQueryAsync(dataSource, "DeleteMembershipTableEntriesKey", Deployment(deployment));
        Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM OrleansMembershipTable"));
        Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM OrleansMembershipVersionTable"));
    }

    [Fact]
    public async Task StorageQueries_Versions_DetectLostRaces()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);

        Assert.Equal(1, await WriteAsync(dataSource, expectedVersion: null, [1]));
        // A second "first write" loses: the caller gets its own (null) version back.
        Assert.Null(await WriteAsync(dataSource, expectedVersion: null, [9]));
        Assert.Equal(2, await WriteAsync(dataSource, expectedVersion: 1, [2]));
        // A stale version loses: the caller gets its own version back.
        Assert.Equal(1, await WriteAsync(dataSource, expectedVersion: 1, [3]));

        var read = Assert.Single(await RunAsync(dataSource, "ReadFromStorageKey", GrainKey()));
        Assert.Equal([2], (byte[])read["PayloadBinary"]!);
        Assert.Equal(2, read["Version"]);

        var cleared = Assert.Single(await RunAsync(dataSource, "ClearStorageKey", [.. GrainKey(), ("GrainStateVersion", 2, DbType.Int32)]));
        Assert.Equal(3, cleared["NewGrainStateVersion"]);
        var afterClear = Assert.Single(await RunAsync(dataSource, "ReadFromStorageKey", GrainKey()));
        Assert.Equal(DBNull.Value, afterClear["PayloadBinary"]);
        Assert.Equal(3, afterClear["Version"]);

        Assert.Empty(await RunAsync(dataSource, "DeleteStorageKey", [.. GrainKey(), ("GrainStateVersion", 2, DbType.Int32)]));
        var deleted = Assert.Single(await RunAsync(dataSource, "DeleteStorageKey", [.. GrainKey(), ("GrainStateVersion", 3, DbType.Int32)]));
        Assert.Equal(4, deleted["NewGrainStateVersion"]);
        Assert.Empty(await RunAsync(dataSource, "ReadFromStorageKey", GrainKey()));
    }

    [Fact]
    public async Task StorageQueries_ConcurrentFirstWrites_CreateOneRow()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => WriteAsync(dataSource, null, [(byte)i]))));

        Assert.Single(results, r => r == 1);
        Assert.Equal(1L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM OrleansStorage"));
    }

    [Fact]
    public async Task ReminderQueries_UpsertRangesAndDeletes_Work()
    {
        await using var dataSource = await TestDatabase.CreateMigratedAsync(fixture.Server);
        foreach (var (grain, hash) in new[] { ("g/low", int.MinValue + 10), ("g/mid", 0), ("g/high", int.MaxValue - 10) })
        {
            var version = await SingleIntAsync(dataSource, "UpsertReminderRowKey", Reminder(grain, hash, TimeSpan.FromMinutes(1)));
            Assert.Equal(0, version);
        }

        Assert.Equal(1, await SingleIntAsync(dataSource, "UpsertReminderRowKey", Reminder("g/mid", 0, TimeSpan.FromDays(30))));
        var mid = Assert.Single(await RunAsync(dataSource, "ReadReminderRowKey", [Service, ("GrainId", "g/mid", DbType.AnsiString), ("ReminderName", "r", DbType.String)]));
        Assert.Equal((TimeSpan.FromDays(30).TotalMilliseconds, 1), (Convert.ToDouble(mid["Period"]), (int)mid["Version"]!));

        var inner = await RunAsync(dataSource, "ReadRangeRows1Key", [Service, ("BeginHash", -100, DbType.Int32), ("EndHash", 100, DbType.Int32)]);
        Assert.Equal(["g/mid"], inner.Select(r => (string)r["GrainId"]!));
        var wrapped = await RunAsync(dataSource, "ReadRangeRows2Key", [Service, ("BeginHash", 100, DbType.Int32), ("EndHash", -100, DbType.Int32)]);
        Assert.Equal(["g/high", "g/low"], wrapped.Select(r => (string)r["GrainId"]!).Order());
        Assert.Single(await RunAsync(dataSource, "ReadReminderRowsKey", [Service, ("GrainId", "g/low", DbType.AnsiString)]));

        Assert.Equal(0, await SingleIntAsync(dataSource, "DeleteReminderRowKey", [Service, ("GrainId", "g/mid", DbType.AnsiString), ("ReminderName", "r", DbType.String), ("Version", 0, DbType.Int32)]));
        Assert.Equal(1, await SingleIntAsync(dataSource, "DeleteReminderRowKey", [Service, ("GrainId", "g/mid", DbType.AnsiString), ("ReminderName", "r", DbType.String), ("Version", 1, DbType.Int32)]));
        await RunNonQueryAsync(dataSource, "DeleteReminderRowsKey", [Service]);
        Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM OrleansRemindersTable"));
    }

    private static readonly (string, object?, DbType) Service = ("ServiceId", "svc", DbType.String);

    private static (string, object?, DbType)[] Deployment(string deployment) => [("DeploymentId", deployment, DbType.String)];

    private static (string, object?, DbType)[] Silo(int port) =>
        [("Address", "127.0.0.1", DbType.AnsiString), ("Port", port, DbType.Int32), ("Generation", 7, DbType.Int32)];

    private static (string, object?, DbType)[] Member(string deployment, int port, int status, int version) =>
    [
        .. Deployment(deployment), .. Silo(port),
        ("SiloName", $"silo-{port}", DbType.String), ("HostName", "host", DbType.String), ("Status", status, DbType.Int32),
        ("ProxyPort", 30000 + port, DbType.Int32), ("StartTime", T0, DbType.DateTime), ("IAmAliveTime", T0, DbType.DateTime),
        ("Version", version, DbType.Int32),
    ];

    private static (string, object?, DbType)[] Update(string deployment, int port, int status, string? suspectTimes, int version) =>
    [
        .. Deployment(deployment), .. Silo(port),
        ("Status", status, DbType.Int32), ("SuspectTimes", suspectTimes, DbType.String), ("IAmAliveTime", T0, DbType.DateTime),
        ("Version", version, DbType.Int32),
    ];

    private static (string, object?, DbType)[] CapturedRow(string deployment, int port, DateTime iAmAliveTime) =>
    [
        .. Deployment(deployment), .. Silo(port), ("SuspectTimes", null, DbType.String),
        ("StartTime", T0, DbType.DateTime), ("IAmAliveTime", iAmAliveTime, DbType.DateTime),
    ];

    private static (string, object?, DbType)[] GrainKey() =>
    [
        ("GrainIdHash", 12345, DbType.Int32), ("GrainIdN0", 0L, DbType.Int64), ("GrainIdN1", 0L, DbType.Int64),
        ("GrainTypeHash", 678, DbType.Int32), ("GrainTypeString", "Tests.CounterGrain", DbType.String),
        ("GrainIdExtensionString", "counter-1", DbType.String), ("ServiceId", "svc", DbType.String),
    ];

    private static (string, object?, DbType)[] Reminder(string grain, int hash, TimeSpan period) =>
    [
        Service, ("GrainId", grain, DbType.AnsiString), ("ReminderName", "r", DbType.String), ("StartTime", T0, DbType.DateTime),
        // The provider sends an int when the period fits in one, a long otherwise.
        period.TotalMilliseconds <= int.MaxValue ? ("Period", (int)period.TotalMilliseconds, DbType.Int32) : ("Period", (long)period.TotalMilliseconds, DbType.Int64),
        ("GrainHash", hash, DbType.Int32),
    ];

    private static async Task<int?> WriteAsync(NpgsqlDataSource dataSource, int? expectedVersion, byte[] payload)
    {
        var row = Assert.Single(await RunAsync(
            dataSource,
            "WriteToStorageKey",
            [.. GrainKey(), ("GrainStateVersion", expectedVersion, DbType.Int32), ("PayloadBinary", payload, DbType.Binary)]));
        return row["NewGrainStateVersion"] is int version ? version : null;
    }

    private static async Task<int> SingleIntAsync(NpgsqlDataSource dataSource, string key, (string, object?, DbType)[] parameters)
        => Convert.ToInt32(Assert.Single(Assert.Single(await RunAsync(dataSource, key, parameters)).Values));

    private static async Task<int> RunNonQueryAsync(NpgsqlDataSource dataSource, string key, (string, object?, DbType)[] parameters)
    {
        await using var command = await CommandAsync(dataSource, key, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<Dictionary<string, object?>>> RunAsync(NpgsqlDataSource dataSource, string key, (string, object?, DbType)[] parameters)
    {
        await using var command = await CommandAsync(dataSource, key, parameters);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
        {
            // Orleans reads columns by name, ignoring case; PostgreSQL returns them in lower case.
            var row = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    private static async Task<NpgsqlCommand> CommandAsync(NpgsqlDataSource dataSource, string key, (string Name, object? Value, DbType Type)[] parameters)
    {
        var text = await TestDatabase.ScalarAsync<string>(dataSource, "SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key", ("key", key))
            ?? throw new InvalidOperationException($"No query {key}.");
        var command = dataSource.CreateCommand(text);
        foreach (var (name, value, type) in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { ParameterName = name, Value = value ?? DBNull.Value, DbType = type });
        }

        return command;
    }
}
