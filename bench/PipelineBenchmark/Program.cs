using Analytics.PipelineBenchmark.Cli;
using Analytics.PipelineBenchmark.Latency;
using Analytics.PipelineBenchmark.Throughput;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the run cleanly; a second one kills.
    e.Cancel = !stop.IsCancellationRequested;
    stop.Cancel();
};

return await PipelineBenchmarkCli.RunAsync(
    args,
    Console.Error,
    options => LatencyBenchmarkRun.RunAsync(options, Console.Out, Console.Error, stop.Token),
    options => ThroughputBenchmarkRun.RunAsync(options, Console.Out, Console.Error, stop.Token),
    options => BareConsumer.RunAsync(options, Console.Out, Console.Error, stop.Token));
