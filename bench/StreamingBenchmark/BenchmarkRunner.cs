using System.Globalization;
using Analytics.LocalBroker;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Report;
using Analytics.StreamingBenchmark.Workload;

namespace Analytics.StreamingBenchmark;

/// <summary>A report that prints a table and writes JSON.</summary>
internal interface IBenchmarkReport
{
    void WriteTable(TextWriter output);

    Task WriteJsonAsync(string path);
}

/// <summary>What every benchmark run does around its phases: the machine line, the broker and data set, the report, and the errors.</summary>
internal static class BenchmarkRunner
{
    public const string Topic = "user_events";

    /// <summary>Prints the machine, runs <paramref name="run"/>, prints its report (and writes it to <paramref name="jsonPath"/>); returns the exit code.</summary>
    public static async Task<int> RunAsync(TextWriter output, TextWriter progress, string? jsonPath, Func<Machine, Task<IBenchmarkReport>> run)
    {
        var machine = Machine.Current();
        output.WriteLine($"machine: {machine}");
        try
        {
            var report = await run(machine);
            report.WriteTable(output);
            if (jsonPath is not null)
            {
                await report.WriteJsonAsync(jsonPath);
                output.WriteLine($"JSON: {jsonPath}");
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

    /// <summary>Starts the in-process broker with topic <see cref="Topic"/> and produces the data set into it.</summary>
    public static (MockKafkaCluster Cluster, DataSet DataSet) StartBrokerWithDataSet(int partitions, EventGenerator generator, long events, TextWriter progress)
    {
        var cluster = MockKafkaCluster.Start(1);
        try
        {
            cluster.CreateTopic(Topic, partitions);
            progress.WriteLine($"local broker (librdkafka mock cluster) at {cluster.BootstrapServers}, topic {Topic} with {partitions} partitions");
            var dataSet = DataSetProducer.Produce(cluster.BootstrapServers, Topic, partitions, generator, events, progress);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[produce] {dataSet.Events:N0} events ({dataSet.AveragePayloadBytes:0} bytes each, {dataSet.DistinctUsers:N0} users) in {dataSet.Seconds:0.0} s; every partition starts at offset 0"));
            return (cluster, dataSet);
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Collects what the previous phase left behind, so that it is not collected on the next one's clock.</summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
