using Analytics.Grains.Interfaces.Churn;

namespace Analytics.Grains.Churn;

/// <summary>Where the scoring grain finds its users and keeps its predictions (the silo provides it on PostgreSQL).</summary>
public interface IChurnPredictionStore
{
    /// <summary>Users with an event at or after <paramref name="since"/>, with their last event time.</summary>
    Task<IReadOnlyList<(string UserId, DateTimeOffset LastEventTime)>> ReadActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>The newest prediction of every user.</summary>
    Task<IReadOnlyList<ChurnPrediction>> ReadLatestAsync(CancellationToken cancellationToken);

    Task WriteAsync(IReadOnlyCollection<ChurnPrediction> predictions, CancellationToken cancellationToken);
}
