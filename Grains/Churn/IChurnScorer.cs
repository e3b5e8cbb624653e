using Analytics.Grains.Interfaces.Users;

namespace Analytics.Grains.Churn;

/// <summary>The churn model as the grains see it (the model itself lives in the Churn library, which hosts provide).</summary>
public interface IChurnScorer
{
    /// <summary>Scores <paramref name="features"/> with the current model; null while there is no model.</summary>
    ChurnScore? Score(ChurnFeatures features);
}

/// <summary>One user's score.</summary>
/// <param name="Probability">The model's churn probability.</param>
/// <param name="Churned">True when <paramref name="Probability"/> is at least the configured threshold.</param>
/// <param name="Threshold">That threshold.</param>
/// <param name="ModelVersion">The model that scored.</param>
/// <param name="Inputs">The model's inputs, in the order of its feature names.</param>
/// <param name="FeatureNames">The feature names of that model.</param>
public sealed record ChurnScore(
    double Probability, bool Churned, double Threshold, string ModelVersion, IReadOnlyList<float> Inputs, IReadOnlyList<string> FeatureNames);
