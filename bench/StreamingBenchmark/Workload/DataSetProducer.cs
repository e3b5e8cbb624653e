using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Analytics.StreamingBenchmark.Workload;

/// <summary>What producing the data set gave.</summary>
/// <param name="Events">Messages delivered (= the events every phase must read).</param>
/// <param name="DistinctUsers">Users with at least one event.</param>
/// <param name="WarmUpEvents">How many of the first events are the warm-up (one per user); 0 without one.</param>
/// <param name="AveragePayloadBytes">Mean JSON size.</param>
/// <param name="Seconds">Time to produce and flush.</param>
/// <param name="WireBytes">Bytes the producer sent to the broker (lz4 batches and request overhead).</param>
/// <param name="PartitionCounts">Messages per partition.</param>
internal sealed record DataSet(long Events, int DistinctUsers, long WarmUpEvents, double AveragePayloadBytes, double Seconds, long WireBytes, IReadOnlyList<long> PartitionCounts);

/// <summary>
/// Produces the whole data set before anything reads it, then checks with the watermarks that the broker still holds
/// every message: the mock keeps only about 5 MiB of (compressed) batches per partition and silently drops older ones.
/// </summary>
internal static class DataSetProducer
{
    /// <summary>The mock's hard-coded per-partition retention (librdkafka <c>rdkafka_mock.c</c>).</summary>
    public const long BrokerRetentionBytes = 5 * 1024 * 1024;

    public static DataSet Produce(string bootstrapServers, string topic, int partitions, EventGenerator generator, long events, TextWriter progress)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            // Compressed, in large batches, so that as much as possible fits the mock's retention.
            CompressionType = CompressionType.Lz4,
            LingerMs = 20,
            BatchSize = 1_000_000,
            BatchNumMessages = 100_000,
            EnableIdempotence = true,
            Acks = Acks.All,
            StatisticsIntervalMs = 500,
        };
        long delivered = 0, failed = 0;
        string? firstError = null;
        string? lastStatistics = null;
        using var producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) progress.WriteLine($"librdkafka producer {m.Level}: {m.Message}"); })
            .SetStatisticsHandler((_, json) => Volatile.Write(ref lastStatistics, json))
            .Build();
        Action<DeliveryReport<byte[], byte[]>> onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.CompareExchange(ref firstError, report.Error.Reason, null);
                Interlocked.Increment(ref failed);
            }
            else
            {
                Interlocked.Increment(ref delivered);
            }
        };

        var stopwatch = Stopwatch.StartNew();
        var nextReport = TimeSpan.FromSeconds(2);
        for (long i = 0; i < events; i++)
        {
            var (key, value) = generator.Next();
            var message = new Message<byte[], byte[]> { Key = key, Value = value };
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, onDelivery);
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50)); // librdkafka's queue is full: let it drain
                }
            }

            if ((i & 1023) == 0 && stopwatch.Elapsed >= nextReport)
            {
                nextReport += TimeSpan.FromSeconds(2);
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[produce] {stopwatch.Elapsed.TotalSeconds,5:0.0} s: {i:N0} of {events:N0} events handed over, {Interlocked.Read(ref delivered):N0} delivered"));
            }
        }

        while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[produce] flushing: {Interlocked.Read(ref delivered):N0} delivered"));
        }

        // Flush can return a moment before the last delivery handlers ran.
        var deadline = Stopwatch.StartNew();
        while (Interlocked.Read(ref delivered) + Interlocked.Read(ref failed) < events && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            producer.Poll(TimeSpan.FromMilliseconds(10));
        }

        var seconds = stopwatch.Elapsed.TotalSeconds;
        if (failed > 0 || delivered != events)
        {
            throw new BenchmarkException(
                $"producing the data set failed: {delivered:N0} of {events:N0} events delivered, {failed:N0} failed (first error: {firstError ?? "none reported"}).");
        }

        // One more statistics report, so that the wire byte count includes the last batches.
        var statisticsBefore = Volatile.Read(ref lastStatistics);
        var wait = Stopwatch.StartNew();
        while (ReferenceEquals(Volatile.Read(ref lastStatistics), statisticsBefore) && wait.Elapsed < TimeSpan.FromSeconds(2))
        {
            producer.Poll(TimeSpan.FromMilliseconds(50));
        }

        var counts = VerifyNothingExpired(bootstrapServers, topic, partitions, events);
        return new DataSet(events, generator.DistinctUsers, Math.Min(events, generator.WarmUpEvents), (double)generator.PayloadBytes / events, seconds, WireBytes(Volatile.Read(ref lastStatistics)), counts);
    }

    /// <summary>
    /// Every partition must still start at offset 0 and together hold every message; otherwise the mock dropped the
    /// oldest data (retention) and the phases would read different, smaller data sets.
    /// </summary>
    private static long[] VerifyNothingExpired(string bootstrapServers, string topic, int partitions, long events)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "bench-watermarks-" + Guid.NewGuid().ToString("N"),
        }).Build();
        var counts = new long[partitions];
        var expired = new List<string>();
        for (var p = 0; p < partitions; p++)
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            counts[p] = watermarks.High.Value - watermarks.Low.Value;
            if (watermarks.Low.Value != 0)
            {
                expired.Add(string.Create(CultureInfo.InvariantCulture, $"partition {p} starts at {watermarks.Low.Value:N0} of {watermarks.High.Value:N0}"));
            }
        }

        if (expired.Count > 0)
        {
            var kept = counts.Sum();
            var suggestion = (long)(kept * 0.8 / 10_000) * 10_000;
            throw new BenchmarkException(
                $"the local broker dropped the oldest messages ({events - kept:N0} of {events:N0}: {string.Join("; ", expired)}). " +
                $"librdkafka's mock keeps only ~5 MiB of compressed batches per partition, so this data set does not fit; " +
                $"run with fewer events, e.g. --events {Math.Max(suggestion, 10_000)}.");
        }

        if (counts.Sum() != events)
        {
            throw new BenchmarkException($"the topic holds {counts.Sum():N0} messages but {events:N0} were delivered; is another producer writing to it?");
        }

        return counts;
    }

    /// <summary>Bytes sent to every broker, from librdkafka's statistics JSON (0 when none arrived).</summary>
    private static long WireBytes(string? statistics)
    {
        if (statistics is null) return 0;
        using var document = JsonDocument.Parse(statistics);
        long total = 0;
        foreach (var broker in document.RootElement.GetProperty("brokers").EnumerateObject())
        {
            total += broker.Value.GetProperty("txbytes").GetInt64();
        }

        return total;
    }
}
