using System.Globalization;
using Analytics.LocalBroker;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Phases;
using Analytics.StreamingBenchmark.Report;
using Analytics.StreamingBenchmark.Workload;

namespace Analytics.StreamingBenchmark;

/// <summary>The run, in order: broker, data set, plain consumer, Orleans (headline settings, then the sweep), report.</summary>
internal static class BenchmarkRun
{
    private const string Topic = "user_events";

    public static async Task<int> RunAsync(BenchmarkOptions options, TextWriter output, TextWriter progress)
    {
        var machine = Machine.Current();
        output.WriteLine($"machine: {machine}");
        try
        {
            using var cluster = MockKafkaCluster.Start(1);
            cluster.CreateTopic(Topic, options.Partitions);
            progress.WriteLine($"local broker (librdkafka mock cluster) at {cluster.BootstrapServers}, topic {Topic} with {options.Partitions} partitions");

            var dataSet = DataSetProducer.Produce(
                cluster.BootstrapServers, Topic, options.Partitions, new EventGenerator(options.Users, options.Seed, options.WarmUp), options.Events, progress);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[produce] {dataSet.Events:N0} events ({dataSet.AveragePayloadBytes:0} bytes each, {dataSet.DistinctUsers:N0} users) in {dataSet.Seconds:0.0} s; every partition starts at offset 0"));

            Settle();
            var plain = await PlainConsumerPhase.RunAsync(cluster.BootstrapServers, Topic, options.Partitions, dataSet, options.Timeout, progress);

            Settle();
            var orleans = await OrleansProviderPhase.RunAsync(
                cluster.BootstrapServers, Topic, options.Partitions, dataSet, options.Provider, options.Timeout, progress);

            var sweep = new List<OrleansRun>();
            var refused = new List<SweepFailure>();
            if (options.Sweep)
            {
                sweep.Add(orleans);
                foreach (var settings in ProviderSettings.SweepList)
                {
                    Settle();
                    try
                    {
                        sweep.Add(await OrleansProviderPhase.RunAsync(
                            cluster.BootstrapServers, Topic, options.Partitions, dataSet, settings, options.Timeout, progress));
                    }
                    catch (Exception ex)
                    {
                        // One setting the provider refuses (or that is too slow) must not cost the others their figures.
                        await progress.WriteLineAsync($"[sweep] {settings.Name}: {ex.GetType().Name}: {ex.Message}");
                        refused.Add(new SweepFailure(settings, $"{ex.GetType().Name}: {ex.Message}"));
                    }
                }
            }

            var report = new BenchmarkReport(machine, options, dataSet, plain, orleans, sweep, refused);
            report.WriteTable(output);
            if (options.Output is { } path)
            {
                await report.WriteJsonAsync(path);
                output.WriteLine($"JSON: {path}");
            }

            return ExitCodes.Ok;
        }
        catch (BenchmarkException ex)
        {
            await progress.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            // Anything else (the silo refused its settings, Kafka failed): the whole exception, to diagnose it.
            await progress.WriteLineAsync($"error: {ex}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>Collects what the previous phase left behind, so that it is not collected on the next one's clock.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
