namespace Analytics.Grains.Interfaces.Churn;

/// <summary>One user's churn prediction: a row of <c>churn_predictions</c>.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.ChurnPrediction")]
public sealed record ChurnPrediction(
    [property: Id(0)] string UserId,
    [property: Id(1)] double Probability,
    [property: Id(2)] bool Churned,
    [property: Id(3)] string ModelVersion,
    [property: Id(4)] DateTimeOffset ScoredAt);
