using System.Diagnostics;
using Confluent.Kafka;

namespace Analytics.PipelineBenchmark.Latency;

/// <summary>What one paced production gave.</summary>
/// <param name="SentAt">When each event was handed to the Kafka client (<see cref="Stopwatch"/> ticks), in order.</param>
/// <param name="Seconds">From the first event to the last handed over.</param>
/// <param name="Delivered">Events the broker acknowledged.</param>
/// <param name="Failed">Events whose delivery failed.</param>
/// <param name="FirstError">Why the first failure failed; null without failures.</param>
internal sealed record Production(long[] SentAt, double Seconds, long Delivered, long Failed, string? FirstError);

/// <summary>
/// Produces events at a fixed rate, the way a shop's servers would: each millisecond it hands over the events due by
/// then (rate × elapsed), with the Producer's own Kafka settings, and remembers when each one was handed over.
/// </summary>
internal static class PacedProducer
{
    public static Production Run(string bootstrapServers, string topic, LiveEventSource events, int rate, long count, TextWriter progress, CancellationToken cancellationToken)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            // As the Producer's KafkaSink sends: nothing here may make the pipeline look faster than it is.
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            BatchSize = 1_000_000,
            CompressionType = CompressionType.Lz4,
            QueueBufferingMaxMessages = 2_000_000,
        };
        long delivered = 0, failed = 0;
        string? firstError = null;
        using var producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) progress.WriteLine($"librdkafka producer {m.Level}: {m.Message}"); })
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

        var sentAt = new long[count];
        var started = Stopwatch.GetTimestamp();
        var nextReport = 5.0;
        long sent = 0;
        while (sent < count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var due = Math.Min(count, (long)(elapsed * rate) + 1);
            while (sent < due)
            {
                var (key, value) = events.Next();
                sentAt[sent] = Stopwatch.GetTimestamp();
                try
                {
                    producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value }, onDelivery);
                    sent++;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }

            if (elapsed >= nextReport)
            {
                progress.WriteLine($"    {elapsed:0} s: {sent:N0} events handed over, {Interlocked.Read(ref delivered):N0} acknowledged");
                nextReport += 5;
            }

            Thread.Sleep(1);
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        producer.Flush(TimeSpan.FromSeconds(60));
        return new Production(sentAt, seconds, Interlocked.Read(ref delivered), Interlocked.Read(ref failed), firstError);
    }
}
