using System.Diagnostics;
using Confluent.Kafka;

namespace Analytics.LocalBroker.Tests;

/// <summary>Client settings shared by the tests, tuned for a broker on this machine.</summary>
internal static class KafkaTestClients
{
    public static ProducerConfig IdempotentLz4Producer(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        CompressionType = CompressionType.Lz4,
        LingerMs = 5,
        MessageTimeoutMs = 30_000,
    };

    public static ConsumerConfig GroupConsumer(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        GroupId = "tests-" + Guid.NewGuid().ToString("N"),
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        EnablePartitionEof = false,
    };

    /// <summary>Consumes until <paramref name="done"/> says so, failing with <paramref name="what"/> at the deadline.</summary>
    public static List<ConsumeResult<string, string>> ConsumeUntil(
        IConsumer<string, string> consumer,
        Func<IReadOnlyList<ConsumeResult<string, string>>, bool> done,
        TimeSpan timeout,
        string what)
    {
        var results = new List<ConsumeResult<string, string>>();
        var stopwatch = Stopwatch.StartNew();
        while (!done(results))
        {
            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"Timed out after {timeout.TotalSeconds:0.#}s waiting for: {what} (consumed {results.Count} so far)");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is { IsPartitionEOF: false, Message: not null })
            {
                results.Add(result);
            }
        }

        return results;
    }
}
