using Analytics.TestInfrastructure;
using Xunit.Abstractions;

namespace Analytics.Storage.Tests;

/// <summary>Migration 001 is what the Orleans 10.4.2 ADO.NET providers need: proven with a real silo and client.</summary>
public sealed class OrleansSchemaTests(OrleansClusterFixture cluster, ITestOutputHelper output)
    : IClassFixture<OrleansClusterFixture>, IDisposable
{
    private const int Active = 3;
    private const int Dead = 6;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly int _logMark = cluster.Log.Count;

    [Fact]
    public async Task Silo_Started_IsActiveInMembershipTable()
    {
        var rows = await TestDatabase.ListAsync(
            cluster.DataSource,
            "SELECT Address, Status, ProxyPort FROM OrleansMembershipTable WHERE DeploymentId = @cluster AND Port = @port",
            r => (Address: r.GetString(0), Status: r.GetInt32(1), ProxyPort: r.GetInt32(2)),
            ("cluster", cluster.ClusterId),
            ("port", cluster.SiloPort));

        var row = Assert.Single(rows);
        Assert.Equal(("127.0.0.1", Active, cluster.GatewayPort), row);
        Assert.True(
            await TestDatabase.ScalarAsync<int>(cluster.DataSource, "SELECT Version FROM OrleansMembershipVersionTable WHERE DeploymentId = @cluster", ("cluster", cluster.ClusterId)) >= 1,
            "Joining the cluster must have bumped the membership version.");
    }

    [Fact]
    public async Task GrainState_AfterDeactivation_IsReadBackFromDatabase()
    {
        var key = UniqueKey();
        var grain = cluster.Client.GetGrain<IStateTestGrain>(key);
        await grain.SetAsync("first");
        await grain.SetAsync("second");
        var before = await grain.GetAsync();

        await grain.DeactivateAsync();
        StateSnapshot? after = null;
        await Eventually.UntilAsync(
            async () => (after = await grain.GetAsync()).ActivationId != before.ActivationId,
            Patience,
            "the grain to come back as a new activation");

        Assert.Equal("second", after!.Value);
        Assert.Equal("2", after.ETag);
        Assert.True(after.RecordExists);
        var stored = await TestDatabase.ListAsync(
            cluster.DataSource,
            "SELECT Version, PayloadBinary IS NOT NULL FROM OrleansStorage WHERE GrainIdExtensionString = @key",
            r => (Version: r.GetInt32(0), HasPayload: r.GetBoolean(1)),
            ("key", key));
        Assert.Equal((2, true), Assert.Single(stored));
    }

    [Fact]
    public async Task GrainState_Cleared_KeepsRowWithoutPayload()
    {
        var key = UniqueKey();
        var grain = cluster.Client.GetGrain<IStateTestGrain>(key);
        await grain.SetAsync("doomed");

        await grain.ClearAsync();
        await grain.DeactivateAsync();
        await grain.SetAsync("reborn");

        Assert.Equal("reborn", (await grain.GetAsync()).Value);
        Assert.Equal(
            3,
            await TestDatabase.ScalarAsync<int>(cluster.DataSource, "SELECT Version FROM OrleansStorage WHERE GrainIdExtensionString = @key", ("key", key)));
    }

    [Fact]
    public async Task Reminder_Registered_IsStoredFiresAndIsDeletedWhenUnregistered()
    {
        var key = Guid.NewGuid().ToString("N");
        var grain = cluster.Client.GetGrain<IReminderTestGrain>(key);
        var grainId = grain.GetGrainId().ToString();

        await grain.StartAsync(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

        var rows = await TestDatabase.ListAsync(
            cluster.DataSource,
            "SELECT ReminderName, Period FROM OrleansRemindersTable WHERE ServiceId = @service AND GrainId = @grain",
            r => (Name: r.GetString(0), Period: r.GetInt64(1)),
            ("service", cluster.ServiceId),
            ("grain", grainId));
        Assert.Equal((ReminderTestGrain.ReminderName, 60_000L), Assert.Single(rows));

        await Eventually.UntilAsync(
            () => ReminderTestGrain.Ticks.GetValueOrDefault(key) >= 1,
            Patience,
            "the reminder to fire");

        await grain.StopAsync();
        Assert.Equal(
            0L,
            await TestDatabase.ScalarAsync<long>(cluster.DataSource, "SELECT count(*) FROM OrleansRemindersTable WHERE GrainId = @grain", ("grain", grainId)));
    }

    [Fact]
    public async Task SecondSilo_JoinsThenLeaves_IsMarkedDeadAndItsRowCleanedUp()
    {
        var siloPort = FreePorts.Next();
        var second = await cluster.StartSiloAsync(siloPort, FreePorts.Next());
        try
        {
            Assert.Equal(Active, await StatusOfSiloAsync(siloPort));
            Assert.Equal(2L, await TestDatabase.ScalarAsync<long>(
                cluster.DataSource,
                "SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = @cluster AND Status = 3",
                ("cluster", cluster.ClusterId)));
        }
        finally
        {
            await second.StopAsync();
            second.Dispose();
        }

        // Leaving marks the row Dead (UpdateMembershipKey); the first silo then deletes it (CleanupDefunctSiloEntryKey),
        // which can happen before we look, hence "or gone".
        await Eventually.UntilAsync(
            async () => await StatusOfSiloAsync(siloPort) is Dead or null,
            Patience,
            "the departed silo's row to be marked dead");
        await Eventually.UntilAsync(
            async () => await StatusOfSiloAsync(siloPort) is null,
            Patience,
            "the first silo to delete the dead silo's row");
        Assert.Equal(Active, await StatusOfSiloAsync(cluster.SiloPort));
    }

    public void Dispose()
    {
        // What the silos complained about during this test: the first place to look when it fails.
        foreach (var line in cluster.Log.Skip(_logMark))
        {
            output.WriteLine(line);
        }
    }

    /// <summary>Not a bare GUID: the storage provider would take that for a GUID key and keep it in GrainIdN0/N1,
    /// and the tests find rows by GrainIdExtensionString, where string keys go.</summary>
    private static string UniqueKey() => "key-" + Guid.NewGuid().ToString("N");

    private Task<int?> StatusOfSiloAsync(int siloPort) => TestDatabase.ScalarAsync<int?>(
        cluster.DataSource,
        "SELECT Status FROM OrleansMembershipTable WHERE DeploymentId = @cluster AND Port = @port",
        ("cluster", cluster.ClusterId),
        ("port", siloPort));
}
