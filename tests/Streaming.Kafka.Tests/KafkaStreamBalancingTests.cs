using System.Net;
using System.Text;
using Analytics.Streaming.Kafka.Hosting;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>Two silos of one cluster share the queues (Orleans balances them; Kafka's group protocol plays no part).</summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaStreamBalancingTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TwoSilos_ShareThePartitions_EveryMessageHandled()
    {
        var topic = "balanced_" + Guid.NewGuid().ToString("N")[..12];
        fixture.Cluster.CreateTopic(topic, KafkaSiloFixture.Partitions);
        var clusterId = Guid.NewGuid().ToString("N");
        var group = "balanced-" + Guid.NewGuid().ToString("N");
        var primaryPort = FreePorts.Next();
        var sinks = new[] { new RecordingMessageSink(), new RecordingMessageSink() };
        using var first = BuildSilo(topic, group, clusterId, primaryPort, primaryPort, sinks[0]);
        await first.StartAsync();
        using var second = BuildSilo(topic, group, clusterId, FreePorts.Next(), primaryPort, sinks[1]);
        await second.StartAsync();
        try
        {
            // Queues move to the second silo some time after it joins; until both read, send another round.
            using var producer = fixture.CreateProducer();
            var sent = new List<(int Partition, long Offset)>();
            await Eventually.UntilAsync(
                async () =>
                {
                    for (var partition = 0; partition < KafkaSiloFixture.Partitions; partition++)
                    {
                        var result = await producer.ProduceAsync(
                            new TopicPartition(topic, partition),
                            new Message<string, byte[]> { Key = "bad", Value = Encoding.UTF8.GetBytes("not json") });
                        sent.Add((partition, result.Offset.Value));
                    }

                    await Eventually.UntilAsync(
                        () => sinks.Sum(s => s.DeadLetters().Count) >= sent.Count, Deadline, $"{sent.Count} dead letters handled");
                    return sinks.All(s => s.DeadLetters().Count > 0);
                },
                Deadline,
                "both silos reading some of the partitions");

            // None lost. Not asserted: none twice. Orleans does not fence a queue's hand-over between silos, so a message
            // read by the old owner just before it lets go may be read again by the new one (at least once).
            var handled = sinks.SelectMany(s => s.DeadLetters()).Select(d => (d.Partition, d.Offset)).ToHashSet();
            Assert.Equal(sent.Order(), handled.Order());
        }
        finally
        {
            await second.StopAsync();
            await first.StopAsync();
        }
    }

    private IHost BuildSilo(string topic, string group, string clusterId, int siloPort, int primaryPort, RecordingMessageSink sink)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter(category: null, LogLevel.Warning); // over the Information default of the appsettings.json copied in from LocalBroker
        builder.Services.AddSingleton(new ReceivedEvents());
        builder.Services.AddSingleton(new PoisonLog());
        builder.Services.AddSingleton(new ReceivedNotes());
        builder.Services.AddSingleton<IKafkaMessageSink>(sink);
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort, FreePorts.Next(), new IPEndPoint(IPAddress.Loopback, primaryPort), "kafka-balancing", clusterId)
            .AddKafkaStreams(KafkaSiloFixture.ProviderName, options =>
            {
                options.BootstrapServers = fixture.Cluster.BootstrapServers;
                options.Topic = topic;
                options.ConsumerGroup = group;
                options.Partitions = KafkaSiloFixture.Partitions;
            }));
        return builder.Build();
    }
}
