using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Producer.Sending;
using Analytics.TestInfrastructure;

namespace Analytics.Producer.Tests;

[Collection(KafkaCollection.Name)]
public sealed class KafkaTests(KafkaFixture kafka)
{
    private static readonly string[] Generation =
    [
        "--users", "200", "--start", "2025-03-01T00:00:00Z", "--seed", "5",
        "--duplicate-fraction", "0.02", "--malformed-fraction", "0.03", "--late-fraction", "0.02", "--quiet",
    ];

    [Fact]
    public async Task Send_ConsumedBack_EqualsTheNdjsonLines_KeyedByUser()
    {
        var file = TestStreams.TempFile("expected.ndjson");
        Assert.Equal(0, (await TestStreams.RunCliAsync([.. Generation, "--events", "4000", "--output", file])).ExitCode);
        var expected = (await File.ReadAllLinesAsync(file)).ToList();

        var topic = kafka.CreateTopic("events");
        var (code, error) = await TestStreams.RunCliAsync(
            [.. Generation, "--events", "4000", "--bootstrap-servers", kafka.BootstrapServers, "--topic", topic, "--speed", "0", "--rate", "0"]);
        Assert.True(code == 0, error);
        Assert.Contains($"delivered {expected.Count:N0}, errors 0", error, StringComparison.Ordinal);

        var partitions = kafka.ConsumeAll(topic, expected.Count, TimeSpan.FromSeconds(20));
        var received = partitions.Values.SelectMany(p => p).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), received.Select(m => Encoding.UTF8.GetString(m.Value)).Order(StringComparer.Ordinal));

        foreach (var (key, value) in received)
        {
            var expectedKey = MessageKeys.FromPayload(value);
            Assert.Equal(expectedKey is null ? null : Encoding.UTF8.GetString(expectedKey), key);
        }

        // One user's events share a partition and keep the file's order there.
        var fileByKey = ByKey(expected);
        foreach (var partition in partitions.Values)
        {
            foreach (var user in partition.Where(m => m.Key is not null).GroupBy(m => m.Key!))
                Assert.Equal(fileByKey[user.Key], user.Select(m => Encoding.UTF8.GetString(m.Value)));
        }

        // Keys spread over the partitions; one key never spans two.
        Assert.True(partitions.Values.Count(p => p.Count > 0) > 1, "all messages landed in one partition");
        var keyPartitions = partitions.SelectMany(p => p.Value.Where(m => m.Key is not null).Select(m => (m.Key, Partition: p.Key))).Distinct().ToList();
        Assert.Equal(keyPartitions.Count, keyPartitions.Select(k => k.Key).Distinct().Count());
        Assert.DoesNotContain("warning", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromFile_ReplaysTheFileUnchanged()
    {
        // A recorded file with events, malformed lines, a CRLF line ending and an empty line (skipped).
        var generated = TestStreams.TempFile("generated.ndjson");
        Assert.Equal(0, (await TestStreams.RunCliAsync([.. Generation, "--events", "1500", "--output", generated])).ExitCode);
        var lines = (await File.ReadAllLinesAsync(generated)).ToList();
        var file = TestStreams.TempFile("recorded.ndjson");
        await File.WriteAllTextAsync(file, string.Join("\n", lines.Take(10)) + "\r\n\n" + string.Join("\n", lines.Skip(10)));

        var topic = kafka.CreateTopic("replay");
        var (code, error) = await TestStreams.RunCliAsync("--from-file", file, "--bootstrap-servers", kafka.BootstrapServers, "--topic", topic, "--quiet");
        Assert.True(code == 0, error);
        Assert.Contains($"replayed {lines.Count:N0}", error, StringComparison.Ordinal);

        var partitions = kafka.ConsumeAll(topic, lines.Count, TimeSpan.FromSeconds(20));
        var received = partitions.Values.SelectMany(p => p).ToList();
        Assert.Equal(lines.Order(StringComparer.Ordinal), received.Select(m => Encoding.UTF8.GetString(m.Value)).Order(StringComparer.Ordinal));
        Assert.Contains(received, m => m.Key is null);
        foreach (var (key, value) in received)
        {
            var expectedKey = MessageKeys.FromPayload(value);
            Assert.Equal(expectedKey is null ? null : Encoding.UTF8.GetString(expectedKey), key);
        }

        // Per key, the file's order.
        var fileByKey = ByKey(lines);
        foreach (var user in received.Where(m => m.Key is not null).GroupBy(m => m.Key!))
            Assert.Equal(fileByKey[user.Key], user.Select(m => Encoding.UTF8.GetString(m.Value)));
    }

    [Fact]
    public async Task Interrupt_StopsGenerating_SendsHeldBackLateEvents_FlushesAndSummarises()
    {
        var topic = kafka.CreateTopic("interrupt");
        var truthPath = TestStreams.TempFile("truth.jsonl");
        using var stop = new CancellationTokenSource();
        var run = TestStreams.RunCliAsync(
            [
                "--bootstrap-servers", kafka.BootstrapServers, "--topic", topic, "--users", "100", "--start", "-2d",
                "--speed", "0", "--rate", "2000", "--late-fraction", "0.2", "--truth", truthPath, "--quiet",
            ],
            stop.Token);

        // No limit: it runs until interrupted.
        await Eventually.UntilAsync(() => kafka.CountMessages(topic) >= 300 || run.IsCompleted, TimeSpan.FromSeconds(20), "300 messages on the topic");
        Assert.False(run.IsCompleted, "the run ended by itself");
        await stop.CancelAsync();
        var (code, error) = await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(code == 0, error);

        var summary = Regex.Match(error, @"summary: ([\d,]+) messages");
        Assert.True(summary.Success, error);
        var sent = int.Parse(summary.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        Assert.Contains($"delivered {sent:N0}, errors 0", error, StringComparison.Ordinal);
        Assert.Matches(@"late [1-9]", error);

        // Everything generated reached the topic, held-back late events included: the truth counts every event sent.
        var received = kafka.ConsumeAll(topic, sent, TimeSpan.FromSeconds(20)).Values.Sum(p => p.Count);
        var truthTotal = (await File.ReadAllLinesAsync(truthPath))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Sum(t => t.GetProperty("views").GetInt32() + t.GetProperty("add_to_carts").GetInt32() + t.GetProperty("purchases").GetInt32());
        Assert.Equal(sent, received);
        Assert.Equal(sent, truthTotal);
    }

    [Fact]
    public async Task RejectedDeliveries_AreCounted_ExitCode1()
    {
        var topic = kafka.CreateTopic("rejected", partitions: 1);
        // The broker refuses the first produce requests with a permanent error: their messages fail, the rest go through.
        kafka.Cluster.PushRequestErrors(LocalBroker.KafkaApiKey.Produce, Enumerable.Repeat(Confluent.Kafka.ErrorCode.TopicAuthorizationFailed, 3).ToArray());
        try
        {
            var (code, error) = await TestStreams.RunCliAsync(
                "--bootstrap-servers", kafka.BootstrapServers, "--topic", topic, "--events", "200", "--users", "50",
                "--start", "2025-03-01", "--speed", "0", "--quiet");
            Assert.True(code == 1, error);
            Assert.Matches(@"errors [1-9][\d,]* \(first: .+\)", error);
        }
        finally
        {
            kafka.Cluster.ClearRequestErrors(LocalBroker.KafkaApiKey.Produce);
        }
    }

    [Fact]
    public async Task UnreachableBroker_ExitCode3_WithinTheTimeout()
    {
        // A port that was just free: nothing listens there.
        var servers = $"127.0.0.1:{FreePorts.Next()}";

        var stopwatch = Stopwatch.StartNew();
        var (code, error) = await TestStreams.RunCliAsync("--bootstrap-servers", servers, "--connect-timeout", "2s", "--events", "10");
        stopwatch.Stop();

        Assert.Equal(3, code);
        Assert.Contains($"cannot reach Kafka at {servers}: ", error, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(6), $"took {stopwatch.Elapsed.TotalSeconds:0.0} s for a 2 s timeout");
    }

    /// <summary>The lines of each key, in file order.</summary>
    private static Dictionary<string, List<string>> ByKey(IEnumerable<string> lines)
        => lines.Select(l => (Key: MessageKeys.FromPayload(Encoding.UTF8.GetBytes(l)), Line: l))
            .Where(x => x.Key is not null)
            .GroupBy(x => Encoding.UTF8.GetString(x.Key!), x => x.Line)
            .ToDictionary(g => g.Key, g => g.ToList());
}
