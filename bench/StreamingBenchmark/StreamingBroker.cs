using System.Globalization;
using Analytics.LocalBroker;
using Analytics.StreamingBenchmark.Workload;

namespace Analytics.StreamingBenchmark;

/// <summary>What every streaming run needs first: the in-process broker with the data set, and a clean heap.</summary>
internal static class StreamingBroker
{
    public const string Topic = "user_events";

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
