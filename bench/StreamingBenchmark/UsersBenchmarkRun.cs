using Analytics.LocalBroker;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Phases;
using Analytics.StreamingBenchmark.Report;
using Analytics.StreamingBenchmark.Workload;
using static Analytics.StreamingBenchmark.StreamingBroker;

namespace Analytics.StreamingBenchmark;

/// <summary>The users benchmark, in order: PostgreSQL's settings, broker, data set, one silo run per commit interval, report.</summary>
internal static class UsersBenchmarkRun
{
    public static Task<int> RunAsync(UsersBenchmarkOptions options, TextWriter output, TextWriter progress)
        => BenchmarkRunner.RunAsync(output, progress, options.Output, async machine =>
        {
            await using var postgres = await PostgresProbe.ConnectAsync(options.Postgres);
            progress.WriteLine(postgres.Settings.Describe());
            if (!postgres.MeasuresCpu) progress.WriteLine("PostgreSQL is not on this machine (or not reachable through /proc): its CPU time is not measured.");

            var (cluster, dataSet) = StartBrokerWithDataSet(options.Partitions, new EventGenerator(options.Users, options.Seed, warmUp: true), options.Events, progress);
            using var broker = cluster;

            var runs = new List<UsersRun>();
            var failures = new List<UsersFailure>();
            var number = 0;
            foreach (var interval in options.CommitIntervals)
            {
                Settle();
                number++;
                try
                {
                    runs.Add(await UserGrainsPhase.RunAsync(
                        cluster.BootstrapServers, Topic, options.Partitions, dataSet, interval, postgres, number, options.Timeout, progress));
                }
                catch (Exception ex) when (number > 1)
                {
                    // A sweep run that fails must not cost the headline its figures.
                    await progress.WriteLineAsync($"[sweep] commit interval {interval}: {ex.GetType().Name}: {ex.Message}");
                    failures.Add(new UsersFailure(interval, $"{ex.GetType().Name}: {ex.Message}"));
                }
            }

            return new UsersReport(machine, options, dataSet, postgres.Settings, postgres.MeasuresCpu, runs, failures);
        }, CancellationToken.None, Machine.Current() with { Librdkafka = MockKafkaCluster.LibrdkafkaVersion });
}
