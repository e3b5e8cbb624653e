using System.Diagnostics;
using Confluent.Kafka;

namespace Analytics.PipelineBenchmark.Load;

/// <summary>What one paced production gave.</summary>
/// <param name="SentAt">When each event was handed to the Kafka client (<see cref="Stopwatch"/> ticks), in order.</param>
/// <param name="Seconds">From the first event to the last handed over.</param>
/// <param name="Delivered">Events the broker acknowledged.</param>
/// <param name="Failed">Events whose delivery failed.</param>
/// <param name="FirstError">Why the first failure failed; null without failures.</param>
internal sealed record Production(long[] SentAt, double Seconds, long Delivered, long Failed, string? FirstError);

/// <summary>
/// A production watched while it runs: events handed over and acknowledged so far, and a way to end it early (a step
/// whose pipeline has fallen far behind). Written by the producer's threads, read by any.
/// </summary>
internal sealed class ProductionProgress
{
    private long _sent;
    private long _delivered;
    private int _stopRequested;

    /// <summary>Events handed to the Kafka client so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Events the broker acknowledged so far.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Whether <see cref="Stop"/> was called.</summary>
    public bool StopRequested => Volatile.Read(ref _stopRequested) != 0;

    /// <summary>Ends the production after the events handed over so far (they are still flushed and counted).</summary>
    public void Stop() => Volatile.Write(ref _stopRequested, 1);

    internal void OnSent(long sent) => Interlocked.Exchange(ref _sent, sent);

    internal void OnDelivered() => Interlocked.Increment(ref _delivered);
}

/// <summary>
/// Produces events at a fixed rate, the way a shop's servers would: each millisecond it hands over the events due by
/// then (rate × elapsed), with the Producer's own Kafka settings, and remembers when each one was handed over.
/// </summary>
internal static class PacedProducer
{
    /// <param name="bootstrapServers">The broker.</param>
    /// <param name="topic">Where the events go.</param>
    /// <param name="events">What is produced.</param>
    /// <param name="rate">Events per second.</param>
    /// <param name="count">How many.</param>
    /// <param name="progress">Where librdkafka's warnings go, and a line every 5 s without <paramref name="live"/>.</param>
    /// <param name="cancellationToken">Ends the production with an exception.</param>
    /// <param name="live">
    /// Watched by the caller, who then writes its own progress lines (none are written here) and may end the production
    /// early; <see cref="Production.SentAt"/> then holds only the events handed over.
    /// </param>
    /// <param name="lingerMs">librdkafka <c>linger.ms</c> (the Producer's default is 5).</param>
    public static Production Run(
        string bootstrapServers, string topic, LiveEventSource events, int rate, long count, TextWriter progress, CancellationToken cancellationToken, ProductionProgress? live = null, int lingerMs = 5)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            // As the Producer's KafkaSink sends: nothing here may make the pipeline look faster than it is.
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = lingerMs,
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
                live?.OnDelivered();
            }
        };

        var sentAt = new long[count];
        var started = Stopwatch.GetTimestamp();
        var nextReport = 5.0;
        long sent = 0;
        while (sent < count && live?.StopRequested != true)
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

            live?.OnSent(sent);
            if (live is null && elapsed >= nextReport)
            {
                progress.WriteLine($"    {elapsed:0} s: {sent:N0} events handed over, {Interlocked.Read(ref delivered):N0} acknowledged");
                nextReport += 5;
            }

            Thread.Sleep(1);
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        producer.Flush(TimeSpan.FromSeconds(60));
        if (sent < count) Array.Resize(ref sentAt, (int)sent);
        return new Production(sentAt, seconds, Interlocked.Read(ref delivered), Interlocked.Read(ref failed), firstError);
    }
}
