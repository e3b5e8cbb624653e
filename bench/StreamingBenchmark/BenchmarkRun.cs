using Analytics.LocalBroker;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Phases;
using Analytics.StreamingBenchmark.Report;
using Analytics.StreamingBenchmark.Workload;
using static Analytics.StreamingBenchmark.StreamingBroker;

namespace Analytics.StreamingBenchmark;

/// <summary>The run, in order: broker, data set, plain consumer, Orleans (headline settings, then the sweep), report.</summary>
internal static class BenchmarkRun
{
    public static Task<int> RunAsync(BenchmarkOptions options, TextWriter output, TextWriter progress)
        => BenchmarkRunner.RunAsync(output, progress, options.Output, async machine =>
        {
            var (cluster, dataSet) = StartBrokerWithDataSet(options.Partitions, new EventGenerator(options.Users, options.Seed, options.WarmUp), options.Events, progress);
            using var broker = cluster;

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

            return new BenchmarkReport(machine, options, dataSet, plain, orleans, sweep, refused);
        }, CancellationToken.None, Machine.Current() with { Librdkafka = MockKafkaCluster.LibrdkafkaVersion });
}
