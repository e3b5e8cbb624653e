using Microsoft.Extensions.Hosting;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>
/// Replaces the console lifetime of the silo's host. That one turns Ctrl+C and SIGTERM into a silo shutdown and keeps
/// the process alive, so the grains would stop counting and the run would sit until its timeout; the benchmark owns
/// the process, so signals end it at once.
/// </summary>
internal sealed class BenchmarkHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
