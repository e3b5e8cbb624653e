using Analytics.Trainer;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await TrainerApp.RunAsync(args, Console.Out, Console.Error, cancellationToken: stop.Token);
