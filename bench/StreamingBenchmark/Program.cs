using Analytics.StreamingBenchmark;
using Analytics.StreamingBenchmark.Cli;

return await BenchmarkCli.RunAsync(
    args,
    Console.Error,
    options => BenchmarkRun.RunAsync(options, Console.Out, Console.Error),
    options => UsersBenchmarkRun.RunAsync(options, Console.Out, Console.Error));
