using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Analytics.LocalBroker.Tests;

/// <summary>Clients in the test process talking to the LocalBroker program in another process.</summary>
[Collection(LocalBrokerProcessCollection.Name)]
public sealed class LocalBrokerProcessTests(LocalBrokerProcessFixture fixture, ITestOutputHelper output)
{
    private const string ProblemJson = "application/problem+json";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private LocalBrokerProcess Broker => fixture.Broker;

    [Fact]
    public async Task Process_TenThousandMessages_AllConsumedBackAcrossProcesses()
    {
        const int count = 10_000;
        var topic = await CreateTopicAsync(partitions: 8);
        var stopwatch = Stopwatch.StartNew();

        using (var producer = new ProducerBuilder<string, string>(KafkaTestClients.IdempotentLz4Producer(Broker.BootstrapServers)).Build())
        {
            var failures = new ConcurrentQueue<Error>();
            for (var i = 0; i < count; i++)
            {
                producer.Produce(
                    topic,
                    new Message<string, string> { Key = $"user-{i % 100}", Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    report =>
                    {
                        if (report.Error.IsError)
                        {
                            failures.Enqueue(report.Error);
                        }
                    });
            }

            Assert.Equal(0, producer.Flush(Deadline));
            Assert.Empty(failures);
        }

        var produced = stopwatch.Elapsed;
        using var consumer = new ConsumerBuilder<string, string>(KafkaTestClients.GroupConsumer(Broker.BootstrapServers)).Build();
        consumer.Subscribe(topic);
        var received = KafkaTestClients.ConsumeUntil(consumer, r => r.Count >= count, Deadline, $"{count} messages from {topic}");
        consumer.Close();

        output.WriteLine($"produced {count} in {produced.TotalMilliseconds:0} ms, consumed back after {stopwatch.ElapsedMilliseconds} ms");
        Assert.Equal(Enumerable.Range(0, count), received.Select(r => int.Parse(r.Message.Value, System.Globalization.CultureInfo.InvariantCulture)).Order());
        Assert.Equal(8, received.Select(r => r.Partition.Value).Distinct().Count());
    }

    [Fact]
    public async Task Process_BrokerDownThenUp_ProducerReportsErrorsThenRecovers()
    {
        var topic = await CreateTopicAsync(partitions: 1);
        var errors = new ConcurrentQueue<Error>();
        var config = new ProducerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            MessageTimeoutMs = 3_000,

            // librdkafka backs off up to 10 s between reconnects by default; keep recovery quick.
            ReconnectBackoffMs = 100,
            ReconnectBackoffMaxMs = 500,
        };
        using var producer = new ProducerBuilder<Null, string>(config)
            .SetErrorHandler((_, e) => errors.Enqueue(e))
            .SetLogHandler((_, log) => output.WriteLine($"librdkafka {log.Level} {log.Facility}: {log.Message}"))
            .Build();
        await producer.ProduceAsync(topic, new Message<Null, string> { Value = "before" }).WaitAsync(Deadline);

        try
        {
            var stopwatch = Stopwatch.StartNew();
            await PostOkAsync("/brokers/1/down");
            Assert.Equal("Degraded", (await GetHealthAsync()).GetProperty("status").GetString());

            await Eventually.UntilAsync(() => !errors.IsEmpty, TimeSpan.FromSeconds(10), "the producer to report the broker down");
            output.WriteLine($"error reported after {stopwatch.ElapsedMilliseconds} ms: {string.Join(" | ", errors.Select(e => $"{e.Code}: {e.Reason}"))}");

            stopwatch.Restart();
            var failure = await Assert.ThrowsAsync<ProduceException<Null, string>>(() =>
                producer.ProduceAsync(topic, new Message<Null, string> { Value = "during" }).WaitAsync(TimeSpan.FromSeconds(15)));
            output.WriteLine($"delivery failed after {stopwatch.ElapsedMilliseconds} ms: {failure.Error.Code}");
            Assert.Equal(ErrorCode.Local_MsgTimedOut, failure.Error.Code);

            stopwatch.Restart();
            await PostOkAsync("/brokers/1/up");
            var delivered = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "after" }).WaitAsync(Deadline);
            output.WriteLine($"delivered again {stopwatch.ElapsedMilliseconds} ms after the broker came up");
            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            Assert.Equal("Healthy", (await GetHealthAsync()).GetProperty("status").GetString());

            using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
            {
                BootstrapServers = Broker.BootstrapServers,
                GroupId = "unused-" + Guid.NewGuid().ToString("N"),
                EnableAutoCommit = false,
            }).Build();
            consumer.Assign(delivered.TopicPartitionOffset);
            var read = Consume(consumer, "the message produced after recovery");
            Assert.Equal("after", read.Message.Value);
        }
        finally
        {
            // The other tests of the collection need the broker.
            using var up = await Broker.Http.PostAsync(new Uri("/brokers/1/up", UriKind.Relative), content: null);
        }
    }

    [Fact]
    public async Task ControlApi_Health_ReportsBootstrapAndBrokers()
    {
        var health = await GetHealthAsync();

        Assert.Equal(Broker.BootstrapServers, health.GetProperty("bootstrapServers").GetString());
        Assert.Equal("2.16.0", health.GetProperty("librdkafkaVersion").GetString());
        var broker = Assert.Single(health.GetProperty("brokers").EnumerateArray());
        Assert.Equal(1, broker.GetProperty("id").GetInt32());
        Assert.Contains("user_events", health.GetProperty("topics").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(Broker.BootstrapServers, await Broker.Http.GetStringAsync(new Uri("/bootstrap", UriKind.Relative)));
    }

    [Fact]
    public async Task ControlApi_DefaultTopic_HasEightPartitions()
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Broker.BootstrapServers }).Build();

        var topic = Assert.Single(admin.GetMetadata("user_events", TimeSpan.FromSeconds(10)).Topics);

        Assert.Equal(8, topic.Partitions.Count);
    }

    [Theory]
    [InlineData("/brokers/2/down")]
    [InlineData("/brokers/0/up")]
    [InlineData("/brokers/99/down")]
    public async Task ControlApi_UnknownBroker_Returns404ProblemJson(string path)
    {
        using var response = await Broker.Http.PostAsync(new Uri(path, UriKind.Relative), content: null);

        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"name": "", "partitions": 3}""")]
    [InlineData("""{"name": "has space", "partitions": 3}""")]
    [InlineData("""{"name": "ok", "partitions": 0}""")]
    [InlineData("""{"name": "ok"}""")]
    [InlineData("""{"name": "ok", "partitions": "eight"}""")]
    [InlineData("""{"name": """)]
    [InlineData("not json")]
    public async Task ControlApi_BadTopicBody_Returns400ProblemJson(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Broker.Http.PostAsync(new Uri("/topics", UriKind.Relative), content);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ControlApi_ExistingTopic_Returns409ProblemJson()
    {
        using var response = await Broker.Http.PostAsJsonAsync(
            new Uri("/topics", UriKind.Relative), new { name = "user_events", partitions = 8 });

        await AssertProblemAsync(response, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ControlApi_InjectedProduceError_FailsTheNextDelivery()
    {
        var topic = await CreateTopicAsync(partitions: 1);
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = Broker.BootstrapServers }).Build();
        await producer.ProduceAsync(topic, new Message<Null, string> { Value = "warm-up" }).WaitAsync(Deadline);

        try
        {
            using (var injected = await Broker.Http.PostAsJsonAsync(
                new Uri("/request-errors", UriKind.Relative), new { apiKey = "Produce", errors = new[] { "MsgSizeTooLarge" } }))
            {
                Assert.Equal(HttpStatusCode.OK, injected.StatusCode);
            }

            var failure = await Assert.ThrowsAsync<ProduceException<Null, string>>(() =>
                producer.ProduceAsync(topic, new Message<Null, string> { Value = "rejected" }).WaitAsync(Deadline));
            Assert.Equal(ErrorCode.MsgSizeTooLarge, failure.Error.Code);
        }
        finally
        {
            // A leftover injected error would fail another test's produce request.
            using var cleared = await Broker.Http.DeleteAsync(new Uri("/request-errors/Produce", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NoContent, cleared.StatusCode);
        }
    }

    [Theory]
    [InlineData("""{"apiKey": "NoSuchRequest", "errors": ["MsgSizeTooLarge"]}""")]
    [InlineData("""{"apiKey": "Produce", "errors": []}""")]
    [InlineData("""{"apiKey": "Produce", "errors": ["Local_MsgTimedOut"]}""")]
    [InlineData("""{"errors": ["MsgSizeTooLarge"]}""")]
    public async Task ControlApi_BadRequestErrorsBody_Returns400ProblemJson(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Broker.Http.PostAsync(new Uri("/request-errors", UriKind.Relative), content);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    private async Task<string> CreateTopicAsync(int partitions)
    {
        var name = "tests-" + Guid.NewGuid().ToString("N");
        using var response = await Broker.Http.PostAsJsonAsync(new Uri("/topics", UriKind.Relative), new { name, partitions });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return name;
    }

    private async Task PostOkAsync(string path)
    {
        using var response = await Broker.Http.PostAsync(new Uri(path, UriKind.Relative), content: null);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<JsonElement> GetHealthAsync()
    {
        using var response = await Broker.Http.GetAsync(new Uri("/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal(ProblemJson, response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal((int)expected, problem.RootElement.GetProperty("status").GetInt32());
    }

    private static ConsumeResult<Ignore, string> Consume(IConsumer<Ignore, string> consumer, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } result)
            {
                return result;
            }
        }

        throw new TimeoutException($"Timed out after {Deadline.TotalSeconds}s waiting for: {what}");
    }
}
