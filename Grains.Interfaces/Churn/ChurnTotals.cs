namespace Analytics.Grains.Interfaces.Churn;

/// <summary>The result of one scoring pass over the active users.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.ChurnTotals")]
public sealed record ChurnTotals
{
    public static ChurnTotals None { get; } = new();

    /// <summary>The model that scored them; null before the first pass with a model.</summary>
    [Id(0)] public string? ModelVersion { get; init; }

    /// <summary>When the pass began: every user was scored as of this time.</summary>
    [Id(1)] public DateTimeOffset? ScoredAt { get; init; }

    [Id(2)] public int ScoredUsers { get; init; }

    /// <summary>Users at or above the threshold.</summary>
    [Id(3)] public int Churned { get; init; }

    [Id(4)] public int NotChurned { get; init; }

    /// <summary>The probability from which a user counts as churned.</summary>
    [Id(5)] public double Threshold { get; init; }

    /// <summary>The most likely to churn, most likely first.</summary>
    [Id(6)] public IReadOnlyList<AtRiskUser> AtRisk { get; init; } = [];

    /// <summary>Users the pass could not score (their grain did not answer); they keep their previous prediction.</summary>
    [Id(7)] public int Failed { get; init; }

    /// <summary>How long the pass took.</summary>
    [Id(8)] public TimeSpan Duration { get; init; }

    /// <summary>Rows written to <c>churn_predictions</c>: only users whose prediction changed.</summary>
    [Id(9)] public int Written { get; init; }
}

/// <summary>One of the users most likely to churn.</summary>
[GenerateSerializer, Immutable]
[Alias("Analytics.AtRiskUser")]
public sealed record AtRiskUser(
    [property: Id(0)] string UserId,
    [property: Id(1)] double Probability,
    [property: Id(2)] DateTimeOffset? LastEventTime);
