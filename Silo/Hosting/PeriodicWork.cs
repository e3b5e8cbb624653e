namespace Analytics.Silo.Hosting;

/// <summary>The loop of the silo's background writers: do the work every interval until stopped; a failed round is reported and the next one tries again.</summary>
internal static class PeriodicWork
{
    public static async Task RunAsync(
        TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> work, Action<Exception> onFailure, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await work(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    onFailure(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
