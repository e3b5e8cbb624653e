using Analytics.Grains.Interfaces.Users;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Analytics.Churn;

/// <summary>The model's input: a user's churn features as numbers (undefined ones as 0), and the label.</summary>
public sealed class ChurnModelInput
{
    /// <summary>The feature names, in the order of <see cref="Features"/>.</summary>
    public static readonly IReadOnlyList<string> FeatureNames =
    [
        "total_views", "total_add_to_carts", "total_purchases", "session_count", "avg_session_seconds",
        "avg_events_per_session", "seconds_since_last_event", "total_spend", "avg_order_value", "distinct_products",
        "distinct_categories", "cart_abandonments", "cart_to_purchase_ratio", "events_last_7d", "events_prev_7d",
        "activity_trend", "recency_days", "frequency_per_day", "monetary",
    ];

    public const int FeatureCount = 19;

    [VectorType(FeatureCount)]
    public float[] Features { get; set; } = new float[FeatureCount];

    /// <summary>Days since the last event alone: the recency baseline's only input.</summary>
    [VectorType(1)]
    public float[] Recency { get; set; } = new float[1];

    public bool Label { get; set; }

    public static ChurnModelInput From(ChurnFeatures f, bool churned = false)
    {
        ArgumentNullException.ThrowIfNull(f);
        return new ChurnModelInput
        {
            Features =
            [
                f.TotalViews, f.TotalAddToCarts, f.TotalPurchases, f.SessionCount, (float)(f.AvgSessionSeconds ?? 0),
                (float)(f.AvgEventsPerSession ?? 0), (float)(f.SecondsSinceLastEvent ?? 0), (float)f.TotalSpend,
                (float)(f.AvgOrderValue ?? 0), f.DistinctProducts, f.DistinctCategories, f.CartAbandonments,
                (float)(f.CartToPurchaseRatio ?? 0), f.EventsLast7Days, f.EventsPrevious7Days, (float)f.ActivityTrend,
                (float)(f.RecencyDays ?? 0), (float)f.FrequencyPerDay, (float)f.Monetary,
            ],
            Recency = [(float)(f.RecencyDays ?? 0)],
            Label = churned,
        };
    }
}

/// <summary>The model's output for one user.</summary>
public sealed class ChurnModelOutput
{
    /// <summary>The model's own decision (probability at least 0.5); serving applies its configured threshold to <see cref="Probability"/>.</summary>
    [ColumnName("PredictedLabel")]
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }
}

/// <summary>Binary-classification metrics on the held-out users.</summary>
public sealed record ChurnMetrics(double Auc, double Accuracy, double Precision, double Recall, double F1, double LogLoss)
{
    public static ChurnMetrics From(CalibratedBinaryClassificationMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new ChurnMetrics(m.AreaUnderRocCurve, m.Accuracy, m.PositivePrecision, m.PositiveRecall, m.F1Score, m.LogLoss);
    }
}

/// <summary>A trained model with its held-out metrics and the recency-only baseline's on the same users.</summary>
/// <param name="Model">The churn model (input <see cref="ChurnModelInput"/>, output <see cref="ChurnModelOutput"/>).</param>
/// <param name="InputSchema">The schema of <see cref="ChurnModelInput"/>, needed to save the model.</param>
/// <param name="TrainingUsers">Users the model was fitted on.</param>
/// <param name="TestUsers">Users held out (<see cref="ChurnTrainer.IsHeldOut"/> with <paramref name="TestFraction"/>).</param>
/// <param name="Metrics">The model on the held-out users.</param>
/// <param name="Baseline">The recency-only baseline on the same users.</param>
/// <param name="BaselineModel">The recency-only baseline itself (reads <see cref="ChurnModelInput.Recency"/>), to score it on other labels.</param>
/// <param name="TestFraction">The share of users held out, which decides who <see cref="ChurnTrainer.IsHeldOut"/> says was.</param>
public sealed record ChurnTrainingResult(
    ITransformer Model,
    DataViewSchema InputSchema,
    int TrainingUsers,
    int TestUsers,
    ChurnMetrics Metrics,
    ChurnMetrics Baseline,
    ITransformer BaselineModel,
    double TestFraction);

/// <summary>
/// Trains the churn model: min-max normalisation of the features, then an L-BFGS logistic regression. Users are split
/// into training and test sets by a hash of their id (stable across runs, and a user is never on both sides); a
/// logistic regression on recency alone, trained and tested on the same split, is the baseline to beat.
/// </summary>
public sealed class ChurnTrainer(int seed = 42)
{
    private readonly MLContext _ml = new(seed);

    /// <summary>Trains on <paramref name="examples"/>, holding out about <paramref name="testFraction"/> of the users.</summary>
    public ChurnTrainingResult Train(IReadOnlyList<ChurnExample> examples, double testFraction = 0.2)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (testFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "Must be in (0, 1).");
        var training = new List<ChurnModelInput>();
        var test = new List<ChurnModelInput>();
        foreach (var example in examples)
        {
            (IsHeldOut(example.Features.UserId, testFraction) ? test : training).Add(ChurnModelInput.From(example.Features, example.Churned));
        }

        if (training.Select(t => t.Label).Distinct().Count() < 2 || test.Select(t => t.Label).Distinct().Count() < 2)
        {
            throw new InvalidOperationException(
                $"Both the training users ({training.Count}) and the test users ({test.Count}) need churned and retained examples; choose another cutoff or horizon, or more history.");
        }

        var trainingData = _ml.Data.LoadFromEnumerable(training);
        var testData = _ml.Data.LoadFromEnumerable(test);
        var model = Pipeline(nameof(ChurnModelInput.Features)).Fit(trainingData);
        var baseline = Pipeline(nameof(ChurnModelInput.Recency)).Fit(trainingData);
        return new ChurnTrainingResult(
            model,
            trainingData.Schema,
            training.Count,
            test.Count,
            ChurnMetrics.From(_ml.BinaryClassification.Evaluate(model.Transform(testData))),
            ChurnMetrics.From(_ml.BinaryClassification.Evaluate(baseline.Transform(testData))),
            baseline,
            testFraction);
    }

    /// <summary>
    /// Whether <see cref="Train"/> holds <paramref name="userId"/> out of training with this
    /// <paramref name="testFraction"/>: about that share of all users, the same ones every time.
    /// </summary>
    public static bool IsHeldOut(string userId, double testFraction)
    {
        ArgumentNullException.ThrowIfNull(userId);
        // FNV-1a of the id: stable across runs and machines, unlike string.GetHashCode.
        var hash = 2166136261u;
        foreach (var c in userId)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return hash < testFraction * uint.MaxValue;
    }

    private IEstimator<ITransformer> Pipeline(string featureColumn)
        => _ml.Transforms.NormalizeMinMax("NormalizedFeatures", featureColumn)
            .Append(_ml.BinaryClassification.Trainers.LbfgsLogisticRegression(
                labelColumnName: nameof(ChurnModelInput.Label), featureColumnName: "NormalizedFeatures"));
}
