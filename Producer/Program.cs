using System.Runtime.InteropServices;
using Analytics.Producer.Cli;

// First Ctrl+C (or SIGTERM): stop generating, send what is held back, flush, summarise. A second Ctrl+C kills.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (stop.IsCancellationRequested) return;
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

return await ProducerCli.RunAsync(args, Console.Out, Console.Error, stop.Token);
