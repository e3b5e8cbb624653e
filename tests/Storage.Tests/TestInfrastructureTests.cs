using System.Globalization;
using Analytics.TestInfrastructure;
using Npgsql;

namespace Analytics.Storage.Tests;

/// <summary>The shared test fixtures other test projects rely on.</summary>
public sealed class TestInfrastructureTests
{
    [Fact]
    public async Task PostgresFixture_Disposed_LeavesNoProcessAndNoDirectory()
    {
        var fixture = new PostgresFixture();
        await fixture.InitializeAsync();
        var server = fixture.Server;
        string dataDirectory;
        List<int> pids;
        await using (var dataSource = NpgsqlDataSource.Create(server.ConnectionString))
        {
            dataDirectory = (await TestDatabase.ScalarAsync<string>(dataSource, "SHOW data_directory"))!;
            // The postmaster and every process it started: backends and background workers alike.
            pids = await TestDatabase.ListAsync(dataSource, "SELECT pid FROM pg_stat_activity", r => r.GetInt32(0));
        }

        pids.Add(int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture));
        Assert.True(pids.Count >= 3, $"Expected several server processes, saw {pids.Count}.");

        await fixture.DisposeAsync();

        Assert.False(Directory.Exists(dataDirectory), $"{dataDirectory} is still there.");
        Assert.False(Directory.Exists(Path.GetDirectoryName(dataDirectory)), "The server's own directory is still there.");
        Assert.DoesNotContain(pids, IsRunning);
        Assert.Empty(ProcessesMentioning(dataDirectory));
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());
    }

    [Fact]
    public async Task PostgresServer_StoppedAndStartedAgain_KeepsPortAndData()
    {
        await using var server = await PostgresServer.StartAsync();
        var port = server.Port;
        var connectionString = await server.CreateDatabaseAsync("kept");
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await TestDatabase.ScalarAsync<object>(dataSource, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
        }

        await server.StopAsync();
        NpgsqlConnection.ClearAllPools();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());
        }

        await server.StartAgainAsync();

        Assert.Equal(port, server.Port);
        await using var again = NpgsqlDataSource.Create(connectionString);
        Assert.Equal(42, await TestDatabase.ScalarAsync<int>(again, "SELECT v FROM t"));
    }

    [Fact]
    public async Task PostgresServer_CreateDatabase_GivesFreshEmptyDatabases()
    {
        await using var server = await PostgresServer.StartAsync();

        var first = await server.CreateDatabaseAsync();
        var second = await server.CreateDatabaseAsync();

        Assert.NotEqual(first, second);
        await using var dataSource = NpgsqlDataSource.Create(second);
        Assert.Equal(0L, await TestDatabase.ScalarAsync<long>(dataSource, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
        await Assert.ThrowsAsync<ArgumentException>(() => server.CreateDatabaseAsync("Robert'); DROP TABLE Students;--"));
    }

    [Fact]
    public async Task Eventually_ConditionNeverHolds_ThrowsSayingWhatAndHowLong()
    {
        var error = await Assert.ThrowsAsync<TimeoutException>(
            () => Eventually.UntilAsync(() => false, TimeSpan.FromMilliseconds(200), "the moon to turn blue"));

        Assert.Equal("Timed out after 0.2s waiting for: the moon to turn blue", error.Message);
    }

    [Fact]
    public async Task Eventually_ConditionHoldsLater_Returns()
    {
        var calls = 0;

        await Eventually.UntilAsync(() => Task.FromResult(++calls >= 3), TimeSpan.FromSeconds(10), "the third call");

        Assert.Equal(3, calls);
    }

    [Fact]
    public void RepositoryPaths_PointIntoThisRepository()
    {
        Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, "Analytics.sln")));
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        Assert.Equal(
            Path.Combine(RepositoryPaths.Root, "LocalBroker", "bin", configuration, "net10.0"),
            RepositoryPaths.BuildOutput("LocalBroker"));
    }

    private static bool IsRunning(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[text.LastIndexOf(')') + 2] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static List<string> ProcessesMentioning(string path)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || !IsRunning(pid))
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(path, StringComparison.Ordinal))
                {
                    found.Add($"{pid}: {commandLine}");
                }
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
