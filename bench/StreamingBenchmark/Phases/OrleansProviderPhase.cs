using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Analytics.Grains.Users;
using Analytics.Streaming.Kafka.Hosting;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Subscribers;
using Analytics.StreamingBenchmark.Workload;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Streams;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>One Orleans run: the settings, what was measured, and the grains it took.</summary>
/// <param name="Settings">The provider settings of the run.</param>
/// <param name="Result">Rate, CPU, memory (first event to last).</param>
/// <param name="Activations">Subscriber grains activated.</param>
/// <param name="StartSeconds">How long the host took to start (silo up, queues assigned).</param>
/// <param name="StopSeconds">How long the host took to stop (every grain deactivated).</param>
internal sealed record OrleansRun(ProviderSettings Settings, PhaseResult Result, long Activations, double StartSeconds, double StopSeconds);

/// <summary>A setting of the sweep that gave no figures, and why (refused at start-up, timed out).</summary>
internal sealed record SweepFailure(ProviderSettings Settings, string Reason);

/// <summary>
/// A silo in this process (localhost clustering on free ports) with the Kafka stream provider, implicit-only pub/sub
/// and <see cref="CountingUserGrain"/>; it reads the topic from the beginning under a consumer group of its own.
/// Measured from the host's start until the grains have counted every event; warm once every user's grain is active.
/// </summary>
internal static class OrleansProviderPhase
{
    public const string Name = "orleans provider";

    public static async Task<OrleansRun> RunAsync(
        string bootstrapServers, string topic, int partitions, DataSet dataSet, ProviderSettings settings, TimeSpan timeout, TextWriter progress)
    {
        CountingUserGrain.Delivered.Reset();
        CountingUserGrain.Activations.Reset();
        using var host = BuildSilo(bootstrapServers, topic, partitions, settings);

        var phase = $"{Name}: {settings.Name}";
        PhaseResult result;
        double startSeconds;
        using (var meter = PhaseMeter.Start(
            phase,
            dataSet.Events,
            () => CountingUserGrain.Delivered.Value,
            progress,
            isWarm: () => CountingUserGrain.Activations.Value >= dataSet.DistinctUsers,
            detail: () => string.Create(CultureInfo.InvariantCulture, $"{CountingUserGrain.Activations.Value:N0} activations")))
        {
            var start = Stopwatch.StartNew();
            await host.StartAsync().ConfigureAwait(false);
            startSeconds = start.Elapsed.TotalSeconds;
            try
            {
                result = await meter.WaitAsync(timeout).ConfigureAwait(false);
            }
            catch (BenchmarkException)
            {
                await host.StopAsync().ConfigureAwait(false);
                throw;
            }
        }

        var stop = Stopwatch.StartNew();
        await host.StopAsync().ConfigureAwait(false);
        return new OrleansRun(settings, result, CountingUserGrain.Activations.Value, startSeconds, stop.Elapsed.TotalSeconds);
    }

    private static IHost BuildSilo(string bootstrapServers, string topic, int partitions, ProviderSettings settings)
    {
        // No command-line arguments: the benchmark's own options are not host configuration.
        var builder = Host.CreateApplicationBuilder([]);
        // Warnings and errors only, so that logging never weighs on the measurement.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(1));
        builder.Services.AddSingleton<IHostLifetime, BenchmarkHostLifetime>();
        var consumerGroup = "bench-orleans-" + Guid.NewGuid().ToString("N");
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(siloPort: FreePort(), gatewayPort: FreePort(), serviceId: "streaming-benchmark", clusterId: Guid.NewGuid().ToString("N"))
            .Exclude<UserGrain>()
            .AddKafkaStreams(SubscriberNames.StreamProvider, configurator =>
            {
                configurator.ConfigureKafka(ob => ob.Configure(options =>
                {
                    options.BootstrapServers = bootstrapServers;
                    options.Topic = topic;
                    options.ConsumerGroup = consumerGroup;
                    options.Partitions = partitions;
                    options.AutoOffsetReset = AutoOffsetReset.Earliest;
                    options.PollBatchSize = settings.PollBatchSize;
                    options.CacheSize = settings.CacheSize;
                }));
                configurator.ConfigurePullingAgent(ob => ob.Configure(options =>
                {
                    options.GetQueueMsgsTimerPeriod = settings.TimerPeriod;
                    options.BatchContainerBatchSize = settings.BatchContainerBatchSize;
                }));
                // Every subscriber is implicit: no pub/sub grain and no PubSubStore on the path of a new stream.
                configurator.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
            }));
        return builder.Build();
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
