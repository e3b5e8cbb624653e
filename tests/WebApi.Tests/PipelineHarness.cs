using System.Globalization;
using Analytics.Churn;
using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Users;
using Analytics.LocalBroker;
using Analytics.Storage;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Analytics.WebApi.Tests;

/// <summary>
/// The pipeline behind the web API, for real: a throwaway PostgreSQL, the local Kafka-protocol broker, the real silo
/// program (hosted in the test process) that ingests a known set of events, a churn model directory, and the real web
/// API on Kestrel (real HTTP on a free port) as an Orleans client of that silo.
/// </summary>
public sealed class PipelineHarness : IAsyncLifetime
{
    public const int Users = 24;
    public const string Topic = "user_events";
    public const int Partitions = 4;

    private readonly PostgresFixture _postgres = new();
    private MockKafkaCluster? _kafka;
    private SiloFactory? _silo;
    private readonly List<IDisposable> _webApis = [];

    public string Database { get; private set; } = "";

    public string ModelDirectory { get; } = Directory.CreateTempSubdirectory("webapi-models-").FullName;

    /// <summary>The events produced, by user.</summary>
    public IReadOnlyDictionary<string, List<UserEvent>> EventsByUser { get; private set; } = new Dictionary<string, List<UserEvent>>();

    public int GatewayPort { get; } = FreePorts.Next();

    /// <summary>The web API's base address.</summary>
    public Uri ApiAddress { get; private set; } = new("http://127.0.0.1/");

    public IServiceProvider ApiServices { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        await _postgres.InitializeAsync();
        Database = await _postgres.Server.CreateDatabaseAsync();
        _kafka = MockKafkaCluster.Start(1);
        _kafka.CreateTopic(Topic, Partitions);

        // A model exists before anything starts: both the silo's scorer and the API load it at start-up.
        await SaveModelAsync(seed: 1);

        _silo = new SiloFactory(new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _kafka.BootstrapServers,
            ["Kafka:Topic"] = Topic,
            ["Kafka:Partitions"] = Partitions.ToString(CultureInfo.InvariantCulture),
            ["Kafka:ConsumerGroup"] = "webapi-tests",
            ["Kafka:CommitInterval"] = "00:00:00.200",
            ["Urls"] = "http://127.0.0.1:0",
            ["Postgres:ConnectionString"] = Database,
            ["Orleans:SiloPort"] = FreePorts.NextAsText(),
            ["Orleans:GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture),
            ["Orleans:ClusterId"] = "webapi-tests",
            ["Churn:ModelDirectory"] = ModelDirectory,
            ["Churn:ModelCheckInterval"] = "00:00:00.200",
        });
        _ = _silo.Server; // starts the silo

        var events = MakeEvents();
        EventsByUser = events.GroupBy(e => e.UserId).ToDictionary(g => g.Key, g => g.ToList());
        await ProduceAsync(events);
        await using (var data = NpgsqlDataSource.Create(Database))
        {
            // Every user's features are in churn_features once the user grains have flushed them: the scorer's active users.
            await Eventually.UntilAsync(
                async () => (long)(await data.CreateCommand("SELECT count(*) FROM churn_features").ExecuteScalarAsync())! == Users
                    && (long)(await data.CreateCommand("SELECT count(*) FROM raw_events").ExecuteScalarAsync())! == events.Count,
                TimeSpan.FromSeconds(60),
                "every event in raw_events and every user in churn_features");
        }

        var api = StartWebApi(ModelDirectory);
        ApiAddress = api.Address;
        ApiServices = api.Services;
    }

    /// <summary>Another web API on the same cluster, with its own settings; disposed with the harness.</summary>
    public (Uri Address, IServiceProvider Services) StartWebApi(string modelDirectory, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = Database,
            ["Kafka:BootstrapServers"] = _kafka!.BootstrapServers,
            ["Kafka:Topic"] = Topic,
            ["Orleans:GatewayPort"] = GatewayPort.ToString(CultureInfo.InvariantCulture),
            ["Orleans:ClusterId"] = "webapi-tests",
            ["Churn:ModelDirectory"] = modelDirectory,
            ["Churn:ModelCheckInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        var api = new WebApiFactory(all);
        api.UseKestrel(FreePorts.Next());
        try
        {
            api.StartServer();
        }
        catch
        {
            // A web API that refuses to start (a test of its start-up checks) is not left running.
            api.Dispose();
            throw;
        }

        _webApis.Add(api);
        return (api.ClientOptions.BaseAddress, api.Services);
    }

    /// <summary>Trains a small model on synthetic users (its weights depend on <paramref name="seed"/>) into <see cref="ModelDirectory"/>.</summary>
    public async Task<ChurnModelMetadata> SaveModelAsync(int seed)
    {
        var random = new Random(seed);
        var asOf = DateTimeOffset.UtcNow;
        var examples = Enumerable.Range(0, 400).Select(i =>
        {
            var views = random.Next(0, 40);
            var recencyDays = random.NextDouble() * 14;
            var churned = random.NextDouble() < 1 / (1 + Math.Exp(-(recencyDays * (seed % 2 == 0 ? 0.2 : 0.6) - views * 0.05)));
            return new ChurnExample(new ChurnFeatures
            {
                UserId = $"synthetic_{i}",
                AsOf = asOf,
                TotalViews = views,
                RecencyDays = recencyDays,
                SecondsSinceLastEvent = recencyDays * 86_400,
                EventsLast7Days = random.Next(0, 20),
            }, churned);
        }).ToList();
        var result = new ChurnTrainer(seed).Train(examples);
        return await ChurnModelFile.SaveAsync(result, asOf, TimeSpan.FromDays(3), ModelDirectory, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        foreach (var api in _webApis) api.Dispose();
        _silo?.Dispose();
        _kafka?.Dispose();
        await _postgres.DisposeAsync();
        Directory.Delete(ModelDirectory, recursive: true);
    }

    /// <summary>
    /// Users <c>web_0</c>…: user k has 2 + k events spread over k/2 days, so their features differ; even users are
    /// active up to now, odd ones stopped three days ago (so a model trained with a one-day horizon sees both classes).
    /// </summary>
    private static List<UserEvent> MakeEvents()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var types = new[] { UserEventType.View, UserEventType.View, UserEventType.AddToCart, UserEventType.Purchase };
        var events = new List<UserEvent>();
        for (var user = 0; user < Users; user++)
        {
            var count = 2 + user;
            var span = TimeSpan.FromHours(12 * user + 1);
            for (var i = 0; i < count; i++)
            {
                events.Add(new UserEvent
                {
                    EventId = Guid.CreateVersion7(),
                    UserId = $"web_{user}",
                    SessionId = $"s-{user}-{i / 5}",
                    EventType = types[(user + i) % types.Length],
                    ProductId = $"p-{i % 7}",
                    Category = i % 2 == 0 ? "books" : "toys",
                    Price = 5m + i,
                    EventTime = now - span + span / count * i - (user % 2 == 1 ? TimeSpan.FromDays(3) : TimeSpan.Zero),
                    Device = "mobile",
                    Channel = "organic",
                });
            }
        }

        return events;
    }

    /// <summary>Sends <paramref name="events"/> to the topic the silo reads, keyed by user, and waits for every acknowledgement.</summary>
    public async Task ProduceAsync(IEnumerable<UserEvent> events)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _kafka!.BootstrapServers, EnableIdempotence = true }).Build();
        foreach (var e in events)
        {
            await producer.ProduceAsync(Topic, new Message<string, byte[]> { Key = e.UserId, Value = UserEventJson.ToUtf8Bytes(e) });
        }
    }

    // Typed by a Silo type rather than Program: the entry point only has to be in the silo's assembly.
    private sealed class SiloFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Analytics.Silo.Hosting.SiloOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
        }
    }

    private sealed class WebApiFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Analytics.WebApi.Hosting.OrleansClientOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineHarness>
{
    public const string Name = "pipeline";
}
