using System.Diagnostics;
using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Users;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Grains.Churn;

/// <summary>
/// The cluster's churn scorer: every <see cref="ChurnScoringOptions.Interval"/> (a reminder, so it survives silo
/// failures) it asks each active user's grain for its live features as of the pass's start, scores them with the
/// current model, writes the predictions that changed to <c>churn_predictions</c> and keeps the totals.
/// </summary>
/// <remarks>
/// A pass runs in the background of the activation: the reminder tick only starts it, and <see cref="GetTotalsAsync"/>
/// keeps answering (with the previous pass) meanwhile. Only changed predictions are written — a new label or model, or a
/// probability that moved by <see cref="ChurnScoringOptions.MinimumChange"/> — so the table is a history of changes
/// rather than a copy of every pass; the newest row per user is the current prediction.
/// </remarks>
public sealed partial class ChurnScoringGrain(
    IChurnScorer scorer,
    IChurnPredictionStore store,
    TimeProvider time,
    IOptions<ChurnScoringOptions> options,
    ILogger<ChurnScoringGrain> logger) : Grain, IChurnScoringGrain, IRemindable
{
    private const string ReminderName = "score";
    private readonly ChurnScoringOptions _options = options.Value;
    private Dictionary<string, ChurnPrediction>? _written;
    private Task<ChurnTotals>? _pass;
    private ChurnTotals _totals = ChurnTotals.None;
    private bool _reportedNoModel;

    // Registering again is an upsert; every silo does it once at start-up, which also applies a changed interval.
    public Task StartAsync() => this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromSeconds(10), _options.Interval);

    public Task<ChurnTotals> GetTotalsAsync() => Task.FromResult(_totals);

    public Task<ChurnTotals> ScoreNowAsync() => StartPass();

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName) _ = StartPass();
        return Task.CompletedTask;
    }

    private Task<ChurnTotals> StartPass()
    {
        if (_pass is not { IsCompleted: false }) _pass = RunPassAsync();
        return _pass;
    }

    private async Task<ChurnTotals> RunPassAsync()
    {
        var clock = Stopwatch.StartNew();
        var started = time.GetUtcNow();
        try
        {
            _written ??= (await store.ReadLatestAsync(CancellationToken.None)).ToDictionary(p => p.UserId, StringComparer.Ordinal);
            var users = await store.ReadActiveUsersAsync(started - _options.ActiveWithin, CancellationToken.None);
            var pass = new Pass(_options.AtRiskCount);
            var userGrains = new GrainReferences<IUserGrain>(GrainFactory);
            for (var i = 0; i < users.Count; i += _options.Concurrency)
            {
                var chunk = users.Skip(i).Take(_options.Concurrency).ToArray();
                var features = chunk.Select(u => userGrains.Get(u.UserId).GetFeaturesAsync(started)).ToArray();
                try
                {
                    await Task.WhenAll(features);
                }
                catch
                {
                    // Counted per user below; they keep their previous prediction.
                }

                foreach (var task in features)
                {
                    if (!task.IsCompletedSuccessfully)
                    {
                        pass.Failed++;
                        continue;
                    }

                    if (scorer.Score(task.Result) is not { } score)
                    {
                        if (!_reportedNoModel) LogNoModel(logger, users.Count);
                        _reportedNoModel = true;
                        return _totals;
                    }

                    pass.Add(task.Result, score, started, _written, _options.MinimumChange);
                }
            }

            _reportedNoModel = false;
            if (pass.Changed.Count > 0) await store.WriteAsync(pass.Changed, CancellationToken.None);
            foreach (var prediction in pass.Changed) _written[prediction.UserId] = prediction;
            _totals = pass.Totals(started, clock.Elapsed);
            LogPass(logger, _totals.ScoredUsers, _totals.Churned, _totals.NotChurned, _totals.Failed, _totals.Written, _totals.ModelVersion, clock.Elapsed.TotalMilliseconds);
            return _totals;
        }
        catch (Exception ex)
        {
            LogPassFailed(logger, ex.GetType().Name, ex.Message, ex);
            return _totals;
        }
    }

    /// <summary>What one pass has seen so far.</summary>
    private sealed class Pass(int atRiskCount)
    {
        // Min-heap of the most at-risk users: the least likely of them on top, replaced by anyone more likely.
        private readonly PriorityQueue<AtRiskUser, double> _atRisk = new();
        private int _churned;
        private int _notChurned;
        private string? _modelVersion;
        private double _threshold;

        public List<ChurnPrediction> Changed { get; } = [];

        public int Failed { get; set; }

        public void Add(ChurnFeatures features, ChurnScore score, DateTimeOffset scoredAt, Dictionary<string, ChurnPrediction> written, double minimumChange)
        {
            _modelVersion = score.ModelVersion;
            _threshold = score.Threshold;
            if (score.Churned) _churned++;
            else _notChurned++;

            var user = new AtRiskUser(features.UserId, score.Probability, features.LastEventTime);
            if (_atRisk.Count < atRiskCount) _atRisk.Enqueue(user, score.Probability);
            else if (atRiskCount > 0 && _atRisk.TryPeek(out _, out var least) && score.Probability > least) _atRisk.EnqueueDequeue(user, score.Probability);

            if (written.TryGetValue(features.UserId, out var previous)
                && previous.Churned == score.Churned
                && previous.ModelVersion == score.ModelVersion
                && Math.Abs(previous.Probability - score.Probability) < minimumChange)
            {
                return;
            }

            Changed.Add(new ChurnPrediction(features.UserId, score.Probability, score.Churned, score.ModelVersion, scoredAt));
        }

        public ChurnTotals Totals(DateTimeOffset scoredAt, TimeSpan duration)
        {
            var atRisk = new List<AtRiskUser>(_atRisk.Count);
            while (_atRisk.TryDequeue(out var user, out _)) atRisk.Add(user);
            atRisk.Reverse();
            return new ChurnTotals
            {
                ModelVersion = _modelVersion,
                ScoredAt = scoredAt,
                ScoredUsers = _churned + _notChurned,
                Churned = _churned,
                NotChurned = _notChurned,
                Threshold = _threshold,
                AtRisk = atRisk,
                Failed = Failed,
                Duration = duration,
                Written = Changed.Count,
            };
        }
    }

    [LoggerMessage(EventId = 3601, Level = LogLevel.Information, Message = "Churn scoring: {Scored} users scored, {Churned} churned, {NotChurned} not, {Failed} failed; {Written} predictions changed (model {ModelVersion}, {ElapsedMs:0} ms)")]
    private static partial void LogPass(ILogger logger, int scored, int churned, int notChurned, int failed, int written, string? modelVersion, double elapsedMs);

    [LoggerMessage(EventId = 3602, Level = LogLevel.Information, Message = "Churn scoring: no churn model yet, {Users} active users not scored; train one (the Trainer, or the web API's retraining)")]
    private static partial void LogNoModel(ILogger logger, int users);

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "Churn scoring pass failed ({ErrorType}: {Error}); the next one tries again")]
    private static partial void LogPassFailed(ILogger logger, string errorType, string error, Exception exception);
}
