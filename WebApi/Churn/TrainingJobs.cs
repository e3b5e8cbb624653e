using System.Collections.Concurrent;
using Analytics.Churn;
using Analytics.Churn.Serving;
using Analytics.Storage;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Churn;

/// <summary>A training run started by this web API, as <c>GET /admin/churn/retrain/{id}</c> shows it.</summary>
public sealed record TrainingJob
{
    public required string Id { get; init; }

    /// <summary>Who asked: <c>api</c> or <c>first start</c>.</summary>
    public required string Reason { get; init; }

    /// <summary><c>running</c>, <c>succeeded</c> or <c>failed</c>.</summary>
    public required string State { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The model trained, once succeeded.</summary>
    public ChurnModelMetadata? Model { get; init; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; init; }

    /// <summary>The run's progress lines, newest last.</summary>
    public IReadOnlyList<string> Progress { get; init; } = [];
}

/// <summary>
/// Runs trainings in the background of the web API, one at a time (<see cref="ChurnTrainingRun"/>), into the served
/// model directory, so the new model is picked up by this API and by the silos reading the same directory. With
/// <see cref="RetrainingOptions.TrainWhenMissing"/> it also trains the first model once the history allows it.
/// </summary>
public sealed partial class TrainingJobs(
    IServiceProvider services,
    IOptions<RetrainingOptions> options,
    IOptions<ChurnTrainingOptions> training,
    IOptions<ChurnServingOptions> serving,
    ChurnModelProvider model,
    TimeProvider time,
    ILogger<TrainingJobs> logger) : BackgroundService
{
    private const int KeptJobs = 20;
    private readonly ConcurrentDictionary<string, TrainingJob> _jobs = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private TrainingJob? _running;

    /// <summary>Starts a training unless one runs; returns the new job, or the running one with <c>started = false</c>.</summary>
    public (TrainingJob Job, bool Started) Start(string reason)
    {
        lock (_gate)
        {
            if (_running is { } running) return (_jobs[running.Id], false);
            var job = new TrainingJob { Id = Guid.NewGuid().ToString("N")[..12], Reason = reason, State = "running", StartedAt = time.GetUtcNow() };
            _running = job;
            _jobs[job.Id] = job;
            foreach (var old in _jobs.Values.OrderByDescending(j => j.StartedAt).Skip(KeptJobs)) _jobs.TryRemove(old.Id, out _);
            _ = Task.Run(() => RunAsync(job));
            return (job, true);
        }
    }

    public TrainingJob? Find(string id) => _jobs.TryGetValue(id, out var job) ? job : null;

    /// <summary>Runs <paramref name="job"/> to its end; never throws (a failure is the job's state).</summary>
    private async Task<TrainingJob> RunAsync(TrainingJob job)
    {
        var lines = new List<string>();
        var progress = new Reporter(line =>
        {
            lock (lines)
            {
                lines.Add(line);
                _jobs[job.Id] = job with { Progress = [.. lines.TakeLast(50)] };
            }

            LogProgress(logger, job.Id, line);
        });
        TrainingJob finished;
        try
        {
            LogStarted(logger, job.Id, job.Reason);
            var trainingOptions = training.Value with { ModelDirectory = serving.Value.ModelDirectory };
            var run = new ChurnTrainingRun(services.GetRequiredService<ChurnHistoryReader>(), services.GetRequiredService<ChurnModelRegistry>(), time);
            var outcome = await run.RunAsync(trainingOptions, progress);
            // Served here at once, not at the next directory check: the caller may ask /predict right away.
            await model.RefreshAsync();
            finished = _jobs[job.Id] with { State = "succeeded", FinishedAt = time.GetUtcNow(), Model = outcome.Metadata };
            LogSucceeded(logger, job.Id, outcome.Metadata.Version, outcome.Metadata.Metrics.Auc, outcome.Metadata.Baseline.Auc);
        }
        catch (Exception ex)
        {
            finished = _jobs[job.Id] with { State = "failed", FinishedAt = time.GetUtcNow(), Error = ex.Message };
            LogFailed(logger, job.Id, ex.GetType().Name, ex.Message);
        }

        lock (_gate)
        {
            _jobs[job.Id] = finished;
            _running = null;
        }

        return finished;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.TrainWhenMissing) return;
        var history = services.GetRequiredService<ChurnHistoryReader>();
        var minimum = options.Value.MinimumHistory ?? training.Value.Horizon + RetrainingOptions.DefaultFeatureHistory;
        string? waitingFor = null;
        using var timer = new PeriodicTimer(options.Value.CheckInterval, time);
        try
        {
            do
            {
                if (model.Current is not null) return;
                string? reason;
                try
                {
                    reason = await ReasonToWaitAsync(history, minimum, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    reason = $"the history could not be read ({ex.Message})";
                }

                if (reason is null)
                {
                    var (job, _) = Start("first start");
                    while (Find(job.Id) is { State: "running" }) await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
                    if (model.Current is not null) return;
                    reason = "the last training failed; trying again";
                }

                if (reason != waitingFor) LogWaiting(logger, reason);
                waitingFor = reason;
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    // Null when a first model can be trained now; otherwise what it waits for.
    private async Task<string?> ReasonToWaitAsync(ChurnHistoryReader history, TimeSpan minimum, CancellationToken cancellationToken)
    {
        if (await history.ReadEventTimeRangeAsync(cancellationToken) is not { } range) return "no events stored yet";
        if (range.Latest - range.Earliest < minimum) return $"{minimum.TotalDays:0.#} days of history (stored so far: {(range.Latest - range.Earliest).TotalDays:0.0})";
        var behind = time.GetUtcNow() - range.Latest;
        if (behind > options.Value.CaughtUpWithin) return $"the history to catch up with the present (newest event {behind.TotalMinutes:0} minutes old)";
        return null;
    }

    private sealed class Reporter(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Churn training {JobId} started ({Reason})")]
    private static partial void LogStarted(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Churn training {JobId}: {Line}")]
    private static partial void LogProgress(ILogger logger, string jobId, string line);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Churn training {JobId} done: model {Version}, held-out AUC {Auc:0.000} (recency baseline {BaselineAuc:0.000})")]
    private static partial void LogSucceeded(ILogger logger, string jobId, string version, double auc, double baselineAuc);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "Churn training {JobId} failed ({ErrorType}): {Error}")]
    private static partial void LogFailed(ILogger logger, string jobId, string errorType, string error);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information, Message = "No churn model yet: a first one is trained once there is enough history; waiting for {Reason}")]
    private static partial void LogWaiting(ILogger logger, string reason);
}
