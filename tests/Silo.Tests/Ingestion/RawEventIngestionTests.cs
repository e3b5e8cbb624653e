using System.Net;
using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.LocalBroker;
using Analytics.Silo.Ingestion;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Analytics.Silo.Tests.Ingestion;

/// <summary>Ingestion end to end: Kafka protocol (local broker) → the silo's stream provider → PostgreSQL.</summary>
[Collection(SiloProcessesCollection.Name)]
public sealed class RawEventIngestionTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>, IAsyncLifetime
{
    private const string Topic = "user_events";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private MockKafkaCluster _kafka = null!;
    private string _database = null!;

    public async Task InitializeAsync()
    {
        _kafka = MockKafkaCluster.Start(1);
        _kafka.CreateTopic(Topic, 8);
        _kafka.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
        _database = await postgres.Server.CreateDatabaseAsync();
    }

    public Task DisposeAsync()
    {
        _kafka.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Silo_StoresEveryValidEventOnce_AndDeadLettersTheRestWithReasons()
    {
        var events = MakeEvents(2_000);
        var duplicates = events.Where((_, i) => i % 20 == 0).ToList();
        string[] malformed =
        [
            "{not json",
            """{"event_id":"0193a1b2-0000-7000-8000-000000000001","user_id":"user_1","session_id":"s","event_type":"click","product_id":"p","category":"c","price":1,"event_time":"2026-01-01T00:00:00Z"}""",
            """{"event_id":"0193a1b2-0000-7000-8000-000000000002","user_id":"user_1","session_id":"s","event_type":"view","product_id":"p","category":"c","price":-1,"event_time":"2026-01-01T00:00:00Z"}""",
            """{"event_id":"0193a1b2-0000-7000-8000-000000000003","session_id":"s","event_type":"view","product_id":"p","category":"c","price":1,"event_time":"2026-01-01T00:00:00Z"}""",
        ];

        await ProduceAsync(events.Concat(duplicates).Select(Keyed)
            .Concat(malformed.Select(m => ((string?)null, Encoding.UTF8.GetBytes(m)))));

        using var silo = SiloHost.Start(_kafka.BootstrapServers, _database, $"group-{Guid.NewGuid():N}");

        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == events.Count && await CountAsync("dead_letters") == malformed.Length,
            Deadline, $"{events.Count} raw events and {malformed.Length} dead letters");

        await using var data = NpgsqlDataSource.Create(_database);
        Assert.Equal(events.Count, await ScalarAsync<long>(data, "select count(distinct event_id) from raw_events"));
        Assert.Equal(8, await ScalarAsync<long>(data, "select count(distinct kafka_partition) from raw_events"));

        var sample = events[123];
        await using (var command = data.CreateCommand("select user_id, event_type, price, event_time from raw_events where event_id = $1"))
        {
            command.Parameters.AddWithValue(sample.EventId);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(sample.UserId, reader.GetString(0));
            Assert.Equal(sample.EventType.ToWireName(), reader.GetString(1));
            Assert.Equal(sample.Price, reader.GetDecimal(2));
            Assert.Equal(sample.EventTime, reader.GetFieldValue<DateTimeOffset>(3));
        }

        var reasons = new List<string>();
        await using (var command = data.CreateCommand("select reason from dead_letters order by kafka_partition, kafka_offset"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) reasons.Add(reader.GetString(0));
        }

        Assert.Contains(reasons, r => r.StartsWith("InvalidJson:", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("UnknownEventType:", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("NegativePrice:", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r == "MissingField: missing field 'user_id'");

        var status = silo.Services.GetRequiredService<IngestionStatus>();
        Assert.Equal(events.Count + duplicates.Count + malformed.Length, status.Consumed);
        Assert.Equal(duplicates.Count, status.AlreadyStored);
        Assert.Equal(0, status.MissedOffsets);
    }

    [Fact]
    public async Task Silo_Restarted_ResumesFromTheCommittedOffsetsAndStoresNothingTwice()
    {
        var group = $"group-{Guid.NewGuid():N}";
        var first = MakeEvents(1_500);
        await ProduceAsync(first.Select(Keyed));

        using (SiloHost.Start(_kafka.BootstrapServers, _database, group))
        {
            await Eventually.UntilAsync(async () => await CountAsync("raw_events") == first.Count, Deadline, $"{first.Count} events stored by the first silo");
            // Stored comes before delivered: stop once every event is delivered and committed, so that the restarted
            // silo has nothing to read again.
            await Eventually.UntilAsync(() => CommittedTotal(group) == first.Count, Deadline, $"{first.Count} events committed by the first silo");
        }

        var second = MakeEvents(1_500);
        await ProduceAsync(second.Select(Keyed));

        using var restarted = SiloHost.Start(_kafka.BootstrapServers, _database, group);
        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == first.Count + second.Count, Deadline, "every event stored after the restart");

        // The first silo committed what it stored when it stopped, so the second one reads only the new events.
        var status = restarted.Services.GetRequiredService<IngestionStatus>();
        await Eventually.UntilAsync(() => status.Consumed == second.Count, Deadline, "the restarted silo to read exactly the new events");
        Assert.Equal(0, status.AlreadyStored);
    }

    [Fact]
    public async Task Silo_PostgresDownForAWhile_RetriesThenStoresEverythingOnce()
    {
        var before = MakeEvents(1_000);
        await ProduceAsync(before.Select(Keyed));
        using var silo = SiloHost.Start(_kafka.BootstrapServers, _database, $"group-{Guid.NewGuid():N}",
            new Dictionary<string, string?> { ["Kafka:StoreRetryDelay"] = "00:00:00.200" });
        var status = silo.Services.GetRequiredService<IngestionStatus>();
        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == before.Count, Deadline, "the first events stored");

        await postgres.Server.StopAsync();
        var during = MakeEvents(1_000);
        await ProduceAsync(during.Select(Keyed));
        await Eventually.UntilAsync(() => status.WriteFailures >= 2, Deadline, "the silo to fail and retry while PostgreSQL is down");
        Assert.Equal(before.Count, status.Inserted);

        await postgres.Server.StartAgainAsync();
        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == before.Count + during.Count, Deadline, "every event stored after PostgreSQL came back");

        await using var data = NpgsqlDataSource.Create(_database);
        Assert.Equal(before.Count + during.Count, await ScalarAsync<long>(data, "select count(distinct event_id) from raw_events"));
        Assert.Equal(before.Count + during.Count, status.Inserted);
        Assert.Equal(0, status.MissedOffsets);

        // Reading resumed after the outage: a new event still flows.
        var after = MakeEvents(10);
        await ProduceAsync(after.Select(Keyed));
        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == before.Count + during.Count + after.Count, Deadline, "events after the recovery");
    }

    [Fact]
    public async Task Silo_DataExpiredBeforeItWasRead_CountsAndLogsTheGap()
    {
        // One partition, so that the broker's per-partition retention (newest ~5 MiB) is easy to overrun.
        const string topic = "expiring_events";
        _kafka.CreateTopic(topic, 1);
        var group = $"group-{Guid.NewGuid():N}";
        var settings = new Dictionary<string, string?> { ["Kafka:Topic"] = topic, ["Kafka:Partitions"] = "1" };

        var first = MakeEvents(100);
        await ProduceAsync(first.Select(Keyed), topic);
        using (SiloHost.Start(_kafka.BootstrapServers, _database, group, settings))
        {
            await Eventually.UntilAsync(async () => await CountAsync("raw_events") == first.Count, Deadline, "the first events stored");
            // Stopped only once they are committed, so that the restarted silo resumes exactly after them.
            using var offsets = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = group }).Build();
            await Eventually.UntilAsync(
                () => offsets.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10))[0].Offset.Value == first.Count,
                Deadline, "the first events committed");
        }

        // ~9 MB of poorly compressible events while no silo reads: the oldest of them expire.
        var bulky = MakeEvents(20_000)
            .Select(e => e with { SessionId = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(60)) })
            .ToList();
        await ProduceAsync(bulky.Select(Keyed), topic, CompressionType.None);

        using var restarted = SiloHost.Start(_kafka.BootstrapServers, _database, group, settings);
        var status = restarted.Services.GetRequiredService<IngestionStatus>();
        await Eventually.UntilAsync(() => status.MissedOffsets > 0 && status.Consumed + status.MissedOffsets == bulky.Count,
            Deadline, "the restarted silo to read what is left and count what expired");

        Assert.InRange(status.MissedOffsets, 1, bulky.Count - 1);
        await Eventually.UntilAsync(async () => await CountAsync("raw_events") == first.Count + bulky.Count - status.MissedOffsets,
            Deadline, "every event still in the broker to be stored");
    }

    [Fact]
    public async Task Silo_Ready_OnceTheStreamProviderReadsThePartitions()
    {
        using var silo = SiloHost.Start(_kafka.BootstrapServers, _database, $"group-{Guid.NewGuid():N}");
        using var client = silo.CreateClient();

        await Eventually.UntilAsync(async () => (await client.GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode == HttpStatusCode.OK,
            Deadline, "/health/ready to answer 200");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);

        // One silo owns every queue: it reads all eight partitions.
        await Eventually.UntilAsync(
            async () => (await client.GetStringAsync(new Uri("/health/ingestion", UriKind.Relative))).Contains("\"partitions\":[0,1,2,3,4,5,6,7]", StringComparison.Ordinal),
            Deadline, "/health/ingestion to list partitions 0..7");
    }

    [Theory]
    [InlineData("Kafka:BootstrapServers", "no-port-here", "kafka:BootstrapServers")]
    [InlineData("Kafka:PollBatchSize", "0", "kafka:PollBatchSize")]
    [InlineData("Kafka:CacheSize", "5", "kafka:CacheSize")]
    [InlineData("Kafka:Partitions", "4", "kafka:Partitions is 4 but topic 'user_events' has 8 partitions")]
    [InlineData("Kafka:Topic", "no_such_topic", "kafka:Topic: topic 'no_such_topic' does not exist")]
    [InlineData("Orleans:ClusterId", "", "Orleans:ClusterId")]
    [InlineData("Funnel:ContributionLinger", "00:00:05", "Funnel:ContributionLinger must be between 0 and 1 second")]
    [InlineData("Postgres:ConnectionString", "Host=127.0.0.1;Port=notaport", "Postgres:ConnectionString")]
    public async Task Silo_BadSetting_StopsStartUpNamingTheSetting(string key, string value, string named)
    {
        // The real program, as run_all.sh and the containers start it: settings from the environment.
        var environment = new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = _kafka.BootstrapServers,
            ["Postgres__ConnectionString"] = _database,
            ["Orleans__SiloPort"] = FreePorts.NextAsText(),
            ["Orleans__GatewayPort"] = FreePorts.NextAsText(),
            ["Urls"] = "http://127.0.0.1:0",
        };
        environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var (exitCode, output) = await RunSiloAsync(environment);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(named, output, StringComparison.Ordinal);
        Assert.Matches("OptionsValidationException|OrleansConfigurationException|InvalidOperationException", output);
    }

    [Fact]
    public async Task SiloRewindCommand_MovesTheConsumerGroupAndSaysWhere()
    {
        var group = $"group-{Guid.NewGuid():N}";
        await ProduceAsync(MakeEvents(50).Select(Keyed));
        var environment = new Dictionary<string, string>
        {
            ["Kafka__BootstrapServers"] = _kafka.BootstrapServers,
            ["Kafka__ConsumerGroup"] = group,
        };

        var (exitCode, output) = await RunSiloAsync(environment, "rewind", "--to", "offset:2", "--partition", "5");

        Assert.True(exitCode == 0, output);
        Assert.Contains($"consumer group {group}, topic user_events", output, StringComparison.Ordinal);
        Assert.Contains("partition 5: none -> 2", output, StringComparison.Ordinal);
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = group }).Build();
        var committed = consumer.Committed([.. Enumerable.Range(0, 8).Select(p => new TopicPartition(Topic, p))], TimeSpan.FromSeconds(10));
        Assert.Equal([-1001, -1001, -1001, -1001, -1001, 2, -1001, -1001], committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));

        var (badExit, badOutput) = await RunSiloAsync(environment, "rewind", "--to", "yesterday");
        Assert.Equal(2, badExit);
        Assert.Contains("'yesterday' is not a rewind target", badOutput, StringComparison.Ordinal);
    }

    /// <summary>The sum of the group's committed offsets over the 8 partitions of <see cref="Topic"/> (each starts at 0).</summary>
    private long CommittedTotal(string group)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = group }).Build();
        return consumer.Committed([.. Enumerable.Range(0, 8).Select(p => new TopicPartition(Topic, p))], TimeSpan.FromSeconds(10))
            .Sum(c => c.Offset.IsSpecial ? 0 : c.Offset.Value);
    }

    /// <summary>Runs the real silo program (as run_all.sh and the containers do) and returns its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> RunSiloAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryPaths.BuildOutput("Silo"),
        };
        info.ArgumentList.Add(Path.Combine(RepositoryPaths.BuildOutput("Silo"), "Analytics.Silo.dll"));
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static List<UserEvent> MakeEvents(int count)
    {
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var types = new[] { UserEventType.View, UserEventType.View, UserEventType.View, UserEventType.AddToCart, UserEventType.Purchase };
        return Enumerable.Range(0, count).Select(i => new UserEvent
        {
            EventId = Guid.CreateVersion7(start.AddMilliseconds(i)),
            UserId = $"user_{i % 97}",
            SessionId = $"s-{i % 97}-{i / 500}",
            EventType = types[i % types.Length],
            ProductId = $"p-{i % 13}",
            Category = i % 2 == 0 ? "books" : "toys",
            Price = 10.25m + (i % 7),
            EventTime = DateTimeOffset.FromUnixTimeMilliseconds(start.AddMilliseconds(i * 10).ToUnixTimeMilliseconds()),
            Device = i % 3 == 0 ? null : "mobile",
            Channel = "organic",
        }).ToList();
    }

    private static (string? Key, byte[] Value) Keyed(UserEvent e) => (e.UserId, UserEventJson.ToUtf8Bytes(e));

    private async Task ProduceAsync(IEnumerable<(string? Key, byte[] Value)> messages, string topic = Topic, CompressionType compression = CompressionType.Lz4)
    {
        var config = new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, EnableIdempotence = true, LingerMs = 5, CompressionType = compression };
        using var producer = new ProducerBuilder<string?, byte[]>(config).Build();
        var failures = 0;
        foreach (var (key, value) in messages)
        {
            producer.Produce(topic, new Message<string?, byte[]> { Key = key, Value = value }, report =>
            {
                if (report.Error.IsError) Interlocked.Increment(ref failures);
            });
        }

        await Task.Run(() => producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, failures);
    }

    private async Task<long> CountAsync(string table)
    {
        await using var data = NpgsqlDataSource.Create(_database);
        try
        {
            return await ScalarAsync<long>(data, $"select count(*) from {table}");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return -1; // the silo has not migrated the schema yet
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource data, string sql)
    {
        await using var command = data.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
