using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Analytics.LocalBroker.Hosting;

/// <summary>
/// Runs the <see cref="MockKafkaCluster"/> for the lifetime of the host: started (with its topics) before the
/// control API listens, announced once it does, destroyed after the API has stopped.
/// </summary>
public sealed class MockKafkaClusterService(
    IOptions<LocalBrokerOptions> options,
    IServer server,
    ILogger<MockKafkaClusterService> logger) : IHostedLifecycleService, IDisposable
{
    private MockKafkaCluster? _cluster;
    private string? _writtenBootstrapFile;

    /// <summary>The running cluster.</summary>
    /// <exception cref="InvalidOperationException">The host has not started it yet, or has stopped it.</exception>
    public MockKafkaCluster Cluster =>
        Volatile.Read(ref _cluster) ?? throw new InvalidOperationException("The mock Kafka cluster is not running.");

    /// <summary>Where the control API actually listens (resolves port 0), once the server has started.</summary>
    public string ControlUrl =>
        server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Value.ControlUrl;

    /// <summary>Starts the cluster and creates the configured topics before any hosted service (Kestrel) starts.</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var cluster = MockKafkaCluster.Start(settings.Brokers);
        try
        {
            cluster.SetGroupInitialRebalanceDelay(settings.GroupInitialRebalanceDelay);
            foreach (var topic in settings.TopicNames)
            {
                cluster.CreateTopic(topic, settings.Partitions);
                Log.TopicCreated(logger, topic, settings.Partitions);
            }
        }
        catch
        {
            cluster.Dispose();
            throw;
        }

        Volatile.Write(ref _cluster, cluster);
        Log.ClusterStarted(
            logger, cluster.BrokerCount, cluster.BootstrapServers, MockKafkaCluster.LibrdkafkaVersion, MockKafkaCluster.LibrdkafkaPath);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Announces the bootstrap address once the control API listens too, so whoever reads it can use both.</summary>
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var bootstrap = Cluster.BootstrapServers;

        // The plain line is the contract for scripts; the log event is the structured twin.
        await Console.Out.WriteLineAsync($"Kafka bootstrap: {bootstrap}".AsMemory(), cancellationToken);
        await Console.Out.FlushAsync(cancellationToken);
        Log.Ready(logger, bootstrap, ControlUrl);

        if (options.Value.BootstrapFile is { } file)
        {
            var path = Path.GetFullPath(file);
            await WriteAtomicallyAsync(path, bootstrap + "\n", cancellationToken);
            _writtenBootstrapFile = path;
            Log.BootstrapFileWritten(logger, path);
        }
    }

    /// <summary>Withdraws the bootstrap file first, so nobody picks up an address that is about to vanish.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        DeleteBootstrapFile();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Destroys the cluster after the control API has stopped taking requests.</summary>
    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Also reached when start-up fails half-way, so a started cluster never outlives the host.</summary>
    public void Dispose()
    {
        DeleteBootstrapFile();
        var cluster = Interlocked.Exchange(ref _cluster, null);
        if (cluster is not null)
        {
            cluster.Dispose();
            Log.ClusterStopped(logger);
        }
    }

    private static async Task WriteAtomicallyAsync(string path, string content, CancellationToken cancellationToken)
    {
        // Written beside the target and renamed over it: a rename within one directory is atomic, so a reader
        // sees either no file or the whole address.
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            await File.WriteAllTextAsync(temporary, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private void DeleteBootstrapFile()
    {
        var path = Interlocked.Exchange(ref _writtenBootstrapFile, null);
        if (path is null)
        {
            return;
        }

        try
        {
            File.Delete(path);
            Log.BootstrapFileDeleted(logger, path);
        }
        catch (IOException ex)
        {
            Log.BootstrapFileDeleteFailed(logger, path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            Log.BootstrapFileDeleteFailed(logger, path, ex);
        }
    }
}
