using Analytics.Grains.Interfaces.Churn;

namespace Analytics.Silo.Churn;

/// <summary>Once the silo is active, makes sure the cluster's scoring reminder exists (and has the configured interval).</summary>
internal sealed partial class ChurnScoringStarter(IGrainFactory grains, ILogger<ChurnScoringStarter> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
        => lifecycle.Subscribe(nameof(ChurnScoringStarter), ServiceLifecycleStage.Active, StartAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await grains.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).StartAsync().WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Another silo (or this one's next start) registers it; scoring is not a reason to refuse start-up.
            LogStartFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 3604, Level = LogLevel.Warning, Message = "Could not register the churn scoring reminder ({ErrorType}: {Error})")]
    private static partial void LogStartFailed(ILogger logger, string errorType, string error);
}
