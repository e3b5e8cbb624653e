using Analytics.Grains.Churn;
using Analytics.Grains.Interfaces.Users;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Microsoft.ML;

namespace Analytics.Churn.Serving;

/// <summary>
/// The current churn model of this process, with a pool of prediction engines (an ML.NET engine is not thread-safe and
/// costly to create; the model is). It checks the model directory every
/// <see cref="ChurnServingOptions.ModelCheckInterval"/> and swaps in a new model atomically: a prediction in flight
/// finishes on the engine it took, the next one uses the new model. A model that fails to load is reported and the
/// previous one stays.
/// </summary>
public sealed partial class ChurnModelProvider(
    IOptions<ChurnServingOptions> options, TimeProvider time, ILogger<ChurnModelProvider> logger) : BackgroundService, IChurnScorer
{
    private readonly ChurnServingOptions _options = options.Value;
    private readonly MLContext _ml = new();
    private volatile LoadedModel? _current;
    private DateTime _seenWriteTime;

    /// <summary>The metadata of the model in use; null while there is none.</summary>
    public ChurnModelMetadata? Current => _current?.Metadata;

    public double Threshold => _options.Threshold;

    /// <inheritdoc />
    public ChurnScore? Score(ChurnFeatures features)
    {
        ArgumentNullException.ThrowIfNull(features);
        var model = _current;
        if (model is null) return null;
        var input = ChurnModelInput.From(features);
        var engine = model.Engines.Get();
        float probability;
        try
        {
            probability = engine.Predict(input).Probability;
        }
        finally
        {
            model.Engines.Return(engine);
        }

        return new ChurnScore(probability, probability >= _options.Threshold, _options.Threshold, model.Metadata.Version, input.Features, model.Metadata.Features);
    }

    /// <summary>Loads the model in the directory if it is new; true when a new model was loaded.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var metadataFile = new FileInfo(Path.Combine(_options.ModelDirectory, ChurnModelFile.MetadataName));
        if (!metadataFile.Exists || metadataFile.LastWriteTimeUtc == _seenWriteTime) return false;
        var writeTime = metadataFile.LastWriteTimeUtc;
        try
        {
            var (model, metadata) = await ChurnModelFile.LoadAsync(_ml, _options.ModelDirectory, cancellationToken).ConfigureAwait(false);
            // A training that finished meanwhile may have replaced model.zip after model.json was read: then this pair
            // may not match, and the next check loads the new pair (model.json is written last).
            metadataFile.Refresh();
            if (metadataFile.LastWriteTimeUtc == writeTime) _seenWriteTime = writeTime;
            if (_current?.Metadata.Version == metadata.Version) return false;
            var previous = _current?.Metadata.Version;
            _current = new LoadedModel(metadata, new DefaultObjectPool<PredictionEngine<ChurnModelInput, ChurnModelOutput>>(
                new EnginePolicy(_ml, model), Environment.ProcessorCount * 4));
            LogLoaded(logger, metadata.Version, previous ?? "none", metadata.Metrics.Auc, metadata.TrainedAt);
            return true;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or InvalidOperationException or System.Text.Json.JsonException or FormatException or UnauthorizedAccessException)
        {
            // Probably caught between two writes of a new model: the next check tries again.
            LogLoadFailed(logger, _options.ModelDirectory, ex.GetType().Name, ex.Message);
            return false;
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        if (_current is null) LogNoModel(logger, Path.GetFullPath(_options.ModelDirectory));
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.ModelCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private sealed record LoadedModel(ChurnModelMetadata Metadata, ObjectPool<PredictionEngine<ChurnModelInput, ChurnModelOutput>> Engines);

    private sealed class EnginePolicy(MLContext ml, ITransformer model) : PooledObjectPolicy<PredictionEngine<ChurnModelInput, ChurnModelOutput>>
    {
        public override PredictionEngine<ChurnModelInput, ChurnModelOutput> Create() => ml.Model.CreatePredictionEngine<ChurnModelInput, ChurnModelOutput>(model);

        public override bool Return(PredictionEngine<ChurnModelInput, ChurnModelOutput> obj) => true;
    }

    [LoggerMessage(EventId = 3701, Level = LogLevel.Information, Message = "Churn model {Version} loaded (was {Previous}; held-out AUC {Auc:0.000}, trained {TrainedAt:O})")]
    private static partial void LogLoaded(ILogger logger, string version, string previous, double auc, DateTimeOffset trainedAt);

    [LoggerMessage(EventId = 3702, Level = LogLevel.Warning, Message = "Could not load the churn model in {Directory} ({ErrorType}: {Error}); the current one stays, and the next check tries again")]
    private static partial void LogLoadFailed(ILogger logger, string directory, string errorType, string error);

    [LoggerMessage(EventId = 3703, Level = LogLevel.Information, Message = "No churn model in {Directory} yet: predictions wait for one (it is picked up as soon as it is written)")]
    private static partial void LogNoModel(ILogger logger, string directory);
}
