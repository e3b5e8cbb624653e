using System.Globalization;
using Analytics.LocalBroker;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Phases;
using Analytics.StreamingBenchmark.Report;
using Analytics.StreamingBenchmark.Workload;

namespace Analytics.StreamingBenchmark;

/// <summary>The users benchmark, in order: PostgreSQL's settings, broker, data set, one silo run per commit interval, report.</summary>
internal static class UsersBenchmarkRun
{
    private const string Topic = "user_events";

    public static async Task<int> RunAsync(UsersBenchmarkOptions options, TextWriter output, TextWriter progress)
    {
        var machine = Machine.Current();
        output.WriteLine($"machine: {machine}");
        try
        {
            await using var postgres = await PostgresProbe.ConnectAsync(options.Postgres);
            progress.WriteLine(postgres.Settings.Describe());
            if (!postgres.MeasuresCpu) progress.WriteLine("PostgreSQL is not on this machine (or not reachable through /proc): its CPU time is not measured.");

            using var cluster = MockKafkaCluster.Start(1);
            cluster.CreateTopic(Topic, options.Partitions);
            progress.WriteLine($"local broker (librdkafka mock cluster) at {cluster.BootstrapServers}, topic {Topic} with {options.Partitions} partitions");

            var dataSet = DataSetProducer.Produce(
                cluster.BootstrapServers, Topic, options.Partitions, new EventGenerator(options.Users, options.Seed, warmUp: true), options.Events, progress);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[produce] {dataSet.Events:N0} events ({dataSet.AveragePayloadBytes:0} bytes each, {dataSet.DistinctUsers:N0} users) in {dataSet.Seconds:0.0} s; every partition starts at offset 0"));

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

            var report = new UsersReport(machine, options, dataSet, postgres.Settings, postgres.MeasuresCpu, runs, failures);
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
            await progress.WriteLineAsync($"error: {ex}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>Collects what the previous run left behind, so that it is not collected on the next one's clock.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
