namespace Analytics.Grains.Interfaces.Churn;

/// <summary>
/// Scores every active user with the current churn model, periodically (a reminder), into <c>churn_predictions</c>,
/// and keeps the totals of the latest pass for the dashboard. One per cluster: key <see cref="Key"/>.
/// </summary>
[Alias("Analytics.IChurnScoringGrain")]
public interface IChurnScoringGrain : IGrainWithIntegerKey
{
    /// <summary>The only key in use.</summary>
    public const long Key = 0;

    /// <summary>Registers the scoring reminder (idempotent); each silo calls it at start-up.</summary>
    [Alias("Start")]
    Task StartAsync();

    /// <summary>The totals of the latest finished pass (empty before the first).</summary>
    [Alias("GetTotals")]
    Task<ChurnTotals> GetTotalsAsync();

    /// <summary>Runs a pass now (or waits for the one running) and returns its totals.</summary>
    [Alias("ScoreNow")]
    Task<ChurnTotals> ScoreNowAsync();
}
