using Analytics.Grains.Churn;
using Analytics.Grains.Interfaces.Churn;
using Analytics.Storage;

namespace Analytics.Silo.Churn;

/// <summary>The scoring grain's <see cref="IChurnPredictionStore"/>: <c>churn_predictions</c> and <c>churn_features</c> on PostgreSQL.</summary>
internal sealed class PostgresChurnPredictionStore(ChurnPredictionStore store) : IChurnPredictionStore
{
    public Task<IReadOnlyList<(string UserId, DateTimeOffset LastEventTime)>> ReadActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken)
        => store.ReadActiveUsersAsync(since, cancellationToken);

    public Task<IReadOnlyList<ChurnPrediction>> ReadLatestAsync(CancellationToken cancellationToken) => store.ReadLatestAsync(cancellationToken);

    public Task WriteAsync(IReadOnlyCollection<ChurnPrediction> predictions, CancellationToken cancellationToken)
        => store.WriteAsync(predictions, cancellationToken);
}
