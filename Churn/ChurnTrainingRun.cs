using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Analytics.Storage;

namespace Analytics.Churn;

/// <summary>What one training run does (the Trainer's section <c>Training</c>, or an admin's retrain request).</summary>
public sealed record ChurnTrainingOptions
{
    /// <summary>The default label horizon: 3 days (see <see cref="Horizon"/>).</summary>
    public static readonly TimeSpan DefaultHorizon = TimeSpan.FromDays(3);

    /// <summary>
    /// Label horizon H: a user churned if no event came in (cutoff, cutoff + H]. Default 3 days: long enough that a
    /// loyal user is rarely silent that long, short enough that a few weeks of history leave data before the cutoff.
    /// </summary>
    public TimeSpan Horizon { get; init; } = DefaultHorizon;

    /// <summary>The cutoff T; by default (null) the newest stored event minus the horizon (the latest T with a full horizon of data).</summary>
    public DateTimeOffset? Cutoff { get; init; }

    /// <summary>Where model.zip and model.json are written (replacing the previous model there). Default <c>models</c>.</summary>
    public string ModelDirectory { get; init; } = "models";

    /// <summary>Share of the users held out for the metrics, in (0, 1). Default 0.2.</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Seed of the trainer's randomness. Default 42.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Optional: the shop simulator's truth file (<c>--truth</c>) of the run that produced the events. When set, the
    /// held-out users are also scored against the hidden truth (churned by cutoff + horizon). Default none (null or
    /// blank: configuration turns a JSON null into an empty string).
    /// </summary>
    public string? TruthFile { get; init; }

    /// <summary>Every problem, each naming its setting after <paramref name="prefix"/> (e.g. <c>Training:</c>); empty when usable.</summary>
    public IReadOnlyList<string> Problems(string prefix = "")
    {
        var problems = new List<string>();
        if (Horizon <= TimeSpan.Zero) problems.Add(Invariant($"{prefix}{nameof(Horizon)} must be positive (was {Horizon})."));
        if (string.IsNullOrWhiteSpace(ModelDirectory)) problems.Add($"{prefix}{nameof(ModelDirectory)} must be set.");
        if (TestFraction is <= 0 or >= 1 || double.IsNaN(TestFraction))
        {
            problems.Add(Invariant($"{prefix}{nameof(TestFraction)} must be between 0 and 1 exclusive (was {TestFraction})."));
        }

        return problems;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a training run produced.</summary>
/// <param name="Metadata">The saved model's metadata (version, metrics, baseline, truth metrics), as in <c>model.json</c>.</param>
/// <param name="Users">Users in the data set.</param>
/// <param name="ChurnedUsers">Of those, labelled churned (no event in the horizon).</param>
/// <param name="BuildTime">Time spent building the data set.</param>
/// <param name="TrainingTime">Time spent training, scoring, saving and registering.</param>
public sealed record ChurnTrainingOutcome(ChurnModelMetadata Metadata, int Users, int ChurnedUsers, TimeSpan BuildTime, TimeSpan TrainingTime);

/// <summary>
/// One training run, as the Trainer and the web API's retrain both do it: the cutoff (by default the newest event
/// minus the horizon), the point-in-time data set from <c>raw_events</c>, training against the recency baseline,
/// optionally scoring against the simulator's hidden truth, the model files, and a row in <c>churn_models</c> written
/// after the files. Runs in one process never overlap (the later one waits): they would write the same files.
/// </summary>
public sealed class ChurnTrainingRun
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    private readonly ChurnHistoryReader _history;
    private readonly ChurnModelRegistry _registry;
    private readonly TimeProvider _time;

    public ChurnTrainingRun(ChurnHistoryReader history, ChurnModelRegistry registry, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(registry);
        _history = history;
        _registry = registry;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Trains, saves and registers a model as <paramref name="options"/> say; <paramref name="progress"/> hears what happens.</summary>
    /// <exception cref="ArgumentException">The options have a problem (<see cref="ChurnTrainingOptions.Problems"/>).</exception>
    /// <exception cref="InvalidOperationException">
    /// No usable data (no events, a horizon past the data, one class only), or the truth file is unreadable or does not
    /// describe the held-out users. Nothing is saved then.
    /// </exception>
    public async Task<ChurnTrainingOutcome> RunAsync(ChurnTrainingOptions options, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problems() is { Count: > 0 } problems) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        await OneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await TrainAsync(options, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    private async Task<ChurnTrainingOutcome> TrainAsync(ChurnTrainingOptions options, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        // The truth first: a bad path should not cost a data set build.
        var truth = string.IsNullOrWhiteSpace(options.TruthFile) ? null : await ReadTruthAsync(options.TruthFile, progress, cancellationToken).ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        var cutoff = options.Cutoff ?? (await _history.ReadLatestEventTimeAsync(cancellationToken).ConfigureAwait(false) is { } latest
            ? latest - options.Horizon
            : throw new InvalidOperationException("raw_events is empty: there is nothing to train on."));
        progress?.Report(Invariant($"building the data set: features as of {cutoff:O}, churned = no event in the following {options.Horizon}"));
        var examples = await new ChurnDatasetBuilder(_history)
            .BuildAsync(cutoff, options.Horizon, progress is null ? null : new Reporter<int>(users => progress.Report(Invariant($"  {users:N0} users"))), cancellationToken)
            .ConfigureAwait(false);
        var churned = examples.Count(e => e.Churned);
        var buildTime = clock.Elapsed;
        progress?.Report(Invariant($"data set: {examples.Count:N0} users, {churned:N0} churned ({(examples.Count == 0 ? 0 : churned / (double)examples.Count):P1}), built in {buildTime.TotalSeconds:0.0} s"));

        var training = Stopwatch.StartNew();
        progress?.Report("training: min-max normalisation, L-BFGS logistic regression; baseline: the same on recency alone");
        var result = new ChurnTrainer(options.Seed).Train(examples, options.TestFraction);
        ChurnTruthMetrics? truthMetrics = null;
        if (truth is not null)
        {
            truthMetrics = truth.Evaluate(result, examples, cutoff, options.Horizon);
            progress?.Report(Invariant(
                $"against the truth: {truthMetrics.Users:N0} held-out users, {truthMetrics.Churned:N0} churned by {cutoff + options.Horizon:O}{(truthMetrics.Unknown > 0 ? $", {truthMetrics.Unknown:N0} not in the truth file" : "")}"));
        }

        var metadata = ChurnModelFile.Describe(result, cutoff, options.Horizon, _time, truthMetrics);
        await ChurnModelFile.SaveAsync(result, metadata, options.ModelDirectory, cancellationToken).ConfigureAwait(false);
        await _registry.RegisterAsync(
            new ChurnModelRecord(
                metadata.Version,
                metadata.TrainedAt,
                metadata.Cutoff,
                metadata.Horizon,
                metadata.TrainingUsers,
                metadata.TestUsers,
                JsonSerializer.Serialize(metadata.Metrics, ChurnModelFile.JsonOptions),
                JsonSerializer.Serialize(metadata.Baseline, ChurnModelFile.JsonOptions),
                metadata.TruthMetrics is null ? null : JsonSerializer.Serialize(metadata.TruthMetrics, ChurnModelFile.JsonOptions),
                Path.GetFullPath(options.ModelDirectory)),
            cancellationToken).ConfigureAwait(false);
        progress?.Report($"saved and registered {metadata.Version}");
        return new ChurnTrainingOutcome(metadata, examples.Count, churned, buildTime, training.Elapsed);
    }

    private static async Task<ChurnTruth> ReadTruthAsync(string path, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        try
        {
            var truth = await ChurnTruth.ReadAsync(path, cancellationToken).ConfigureAwait(false);
            progress?.Report(Invariant($"truth: {truth.Count:N0} users in {path}"));
            return truth;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // InvalidDataException and FileNotFoundException are IOExceptions too.
            throw new InvalidOperationException($"The truth file {path} could not be read: {ex.Message}", ex);
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Reports at once, on the caller's thread: <see cref="Progress{T}"/> would post to the thread pool and reorder lines.</summary>
    private sealed class Reporter<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
