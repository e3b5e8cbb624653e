using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;

namespace Analytics.Churn;

/// <summary>What a model file says about itself (<c>model.json</c>, beside <c>model.zip</c>).</summary>
public sealed record ChurnModelMetadata
{
    public required string Version { get; init; }

    public required DateTimeOffset TrainedAt { get; init; }

    /// <summary>The data set's cutoff: features from events up to it.</summary>
    public required DateTimeOffset Cutoff { get; init; }

    /// <summary>The label horizon: churned = no event in (cutoff, cutoff + horizon].</summary>
    public required TimeSpan Horizon { get; init; }

    public required IReadOnlyList<string> Features { get; init; }

    public required int TrainingUsers { get; init; }

    public required int TestUsers { get; init; }

    /// <summary>The model on the held-out users.</summary>
    public required ChurnMetrics Metrics { get; init; }

    /// <summary>A logistic regression on recency alone, on the same users.</summary>
    public required ChurnMetrics Baseline { get; init; }

    /// <summary>
    /// The model and the baseline on the held-out users against the simulator's hidden truth (churned by cutoff +
    /// horizon); null when the training had no truth file.
    /// </summary>
    public ChurnTruthMetrics? TruthMetrics { get; init; }
}

/// <summary>
/// A trained model on disk: <c>model.zip</c> (ML.NET) and <c>model.json</c> (<see cref="ChurnModelMetadata"/>) in one
/// directory. Both are written to temporary files and moved into place, metadata last, so a reader that watches
/// <c>model.json</c> never sees a half-written model.
/// </summary>
public static class ChurnModelFile
{
    public const string ModelName = "model.zip";
    public const string MetadataName = "model.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The serialiser settings of <c>model.json</c> (camelCase), also used for the metrics in <c>churn_models</c>.</summary>
    internal static JsonSerializerOptions JsonOptions => Json;

    /// <summary>Writes <paramref name="result"/> into <paramref name="directory"/> and returns its metadata.</summary>
    public static async Task<ChurnModelMetadata> SaveAsync(
        ChurnTrainingResult result, DateTimeOffset cutoff, TimeSpan horizon, string directory, TimeProvider time, CancellationToken cancellationToken = default)
    {
        var metadata = Describe(result, cutoff, horizon, time);
        await SaveAsync(result, metadata, directory, cancellationToken).ConfigureAwait(false);
        return metadata;
    }

    /// <summary>
    /// The metadata of <paramref name="result"/>, trained now, with a new version: <c>churn-</c>, the UTC training time
    /// to the millisecond and four random hex digits (<c>churn-20260601T120000.123Z-3f9a</c>), so two trainings in the
    /// same millisecond still get different versions.
    /// </summary>
    public static ChurnModelMetadata Describe(
        ChurnTrainingResult result, DateTimeOffset cutoff, TimeSpan horizon, TimeProvider time, ChurnTruthMetrics? truthMetrics = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(time);
        var trainedAt = time.GetUtcNow();
        return new ChurnModelMetadata
        {
            Version = "churn-" + trainedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fff'Z'", CultureInfo.InvariantCulture)
                + "-" + RandomNumberGenerator.GetHexString(4, lowercase: true),
            TrainedAt = trainedAt,
            Cutoff = cutoff,
            Horizon = horizon,
            Features = ChurnModelInput.FeatureNames,
            TrainingUsers = result.TrainingUsers,
            TestUsers = result.TestUsers,
            Metrics = result.Metrics,
            Baseline = result.Baseline,
            TruthMetrics = truthMetrics,
        };
    }

    /// <summary>Writes <paramref name="result"/>'s model and <paramref name="metadata"/> into <paramref name="directory"/>.</summary>
    public static async Task SaveAsync(ChurnTrainingResult result, ChurnModelMetadata metadata, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(metadata);
        Directory.CreateDirectory(directory);
        var modelPath = Path.Combine(directory, ModelName);
        var modelTemp = modelPath + ".tmp";
        new MLContext().Model.Save(result.Model, result.InputSchema, modelTemp);
        File.Move(modelTemp, modelPath, overwrite: true);

        var metadataPath = Path.Combine(directory, MetadataName);
        var metadataTemp = metadataPath + ".tmp";
        await File.WriteAllTextAsync(metadataTemp, JsonSerializer.Serialize(metadata, Json), cancellationToken).ConfigureAwait(false);
        File.Move(metadataTemp, metadataPath, overwrite: true);
    }

    /// <summary>Reads the model and its metadata from <paramref name="directory"/>.</summary>
    public static async Task<(ITransformer Model, ChurnModelMetadata Metadata)> LoadAsync(MLContext ml, string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ml);
        var metadata = JsonSerializer.Deserialize<ChurnModelMetadata>(
            await File.ReadAllTextAsync(Path.Combine(directory, MetadataName), cancellationToken).ConfigureAwait(false), Json)
            ?? throw new InvalidDataException($"{Path.Combine(directory, MetadataName)} is empty.");
        var model = ml.Model.Load(Path.Combine(directory, ModelName), out _);
        return (model, metadata);
    }
}
