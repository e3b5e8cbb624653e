using Analytics.Grains.Interfaces.Events;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Workload;
using Confluent.Kafka;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>
/// The yardstick: one Confluent consumer, every partition assigned from the beginning, reading on one thread and
/// parsing each value with the contract's parser, as the provider's receivers do, but with nothing after that.
/// </summary>
internal static class PlainConsumerPhase
{
    public const string Name = "plain consumer";

    public static async Task<PhaseResult> RunAsync(string bootstrapServers, string topic, int partitions, DataSet dataSet, TimeSpan timeout, TextWriter progress)
    {
        var expected = dataSet.Events;
        var counter = new EventCounter();
        var invalid = 0L;
        // Its steady window covers the same events as the Orleans one: those after the warm-up.
        using var meter = PhaseMeter.Start(
            Name, expected, () => counter.Value, progress, dataSet.WarmUpEvents > 0 ? () => counter.Value >= dataSet.WarmUpEvents : null);
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "bench-plain-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        })
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) progress.WriteLine($"librdkafka consumer {m.Level}: {m.Message}"); })
            .Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

        // The loop runs on a thread of its own, like a consumer service's loop; the meter decides when it is done.
        using var stop = new CancellationTokenSource();
        var loop = Task.Factory.StartNew(
            () =>
            {
                while (counter.Value < expected && !stop.IsCancellationRequested)
                {
                    var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                    if (result?.Message is null) continue;
                    if (!UserEventJson.TryParse(result.Message.Value, DateTimeOffset.UtcNow, out _, out _)) invalid++;
                    counter.Increment();
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        PhaseResult measured;
        try
        {
            measured = await meter.WaitAsync(timeout).ConfigureAwait(false);
        }
        finally
        {
            // On a timeout the loop is still reading: stop it before the consumer is disposed.
            await stop.CancelAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(false);
        }

        consumer.Close();
        if (invalid > 0)
        {
            throw new BenchmarkException($"{Name}: {invalid:N0} of {expected:N0} events were refused by UserEventJson.TryParse; the generator must only make valid events.");
        }

        return measured;
    }
}
