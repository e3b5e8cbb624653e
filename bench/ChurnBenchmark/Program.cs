using Analytics.ChurnBenchmark.Cli;
using Analytics.ChurnBenchmark.Predict;
using Analytics.ChurnBenchmark.Training;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the run cleanly (the scratch database is dropped); a second one kills.
    e.Cancel = !stop.IsCancellationRequested;
    stop.Cancel();
};

return await ChurnBenchmarkCli.RunAsync(
    args,
    Console.Error,
    options => TrainingBenchmarkRun.RunAsync(options, Console.Out, Console.Error, stop.Token),
    options => PredictBenchmarkRun.RunAsync(options, Console.Out, Console.Error, stop.Token));
