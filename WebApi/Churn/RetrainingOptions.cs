using Analytics.Churn;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Churn;

/// <summary>Training from the web API (section <c>Retraining</c>); what is trained comes from section <c>Training</c>, as for the Trainer.</summary>
public sealed class RetrainingOptions
{
    public const string SectionName = "Retraining";

    /// <summary><c>POST /admin/churn/retrain</c> trains a new model; off by default (it costs CPU and replaces the served model).</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// The key the admin endpoints want in the <c>X-Api-Key</c> header. Required when <see cref="Enabled"/>: an admin
    /// endpoint is never open to anyone who reaches the port. From the environment (<c>Retraining__ApiKey</c>), never
    /// from a file in the repository.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// With no model in <c>Churn:ModelDirectory</c>, train one as soon as the stored history allows: at least
    /// <see cref="MinimumHistory"/> of events, the newest within <see cref="CaughtUpWithin"/> of now (a back-fill is done).
    /// </summary>
    public bool TrainWhenMissing { get; set; }

    /// <summary>
    /// The event-time span the history must cover before a first model is trained; by default the training horizon
    /// plus <see cref="DefaultFeatureHistory"/>.
    /// </summary>
    public TimeSpan? MinimumHistory { get; set; }

    /// <summary>
    /// History before the cutoff that a first model wants by default: the activity-trend features compare two 7-day
    /// windows, so with less than about 10 days before the cutoff they carry little (measured on the simulator: held-out
    /// AUC against its hidden truth 0.73 with 6 days of history in all, 0.85 with 8, 0.93 with 14).
    /// </summary>
    public static readonly TimeSpan DefaultFeatureHistory = TimeSpan.FromDays(10);

    /// <summary>The newest stored event must be at most this old: the history has caught up with the present.</summary>
    public TimeSpan CaughtUpWithin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often the history is checked while waiting to train a first model.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class RetrainingOptionsValidator : IValidateOptions<RetrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, RetrainingOptions options)
    {
        const string Section = RetrainingOptions.SectionName;
        var failures = new List<string>();
        if (options.ApiKey is { } key && string.IsNullOrWhiteSpace(key)) failures.Add($"{Section}:ApiKey must not be blank when set.");
        if (options.Enabled && string.IsNullOrWhiteSpace(options.ApiKey))
        {
            failures.Add($"{Section}:ApiKey must be set when {Section}:Enabled is true: the admin endpoints want it in the X-Api-Key header.");
        }

        if (options.MinimumHistory is { } history && history <= TimeSpan.Zero) failures.Add($"{Section}:MinimumHistory must be positive (was {history}).");
        if (options.CaughtUpWithin <= TimeSpan.Zero) failures.Add($"{Section}:CaughtUpWithin must be positive (was {options.CaughtUpWithin}).");
        if (options.CheckInterval <= TimeSpan.Zero) failures.Add($"{Section}:CheckInterval must be positive (was {options.CheckInterval}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Refuses start-up when a setting of section <c>Training</c> is unusable, naming it.</summary>
internal sealed class TrainingOptionsValidator : IValidateOptions<ChurnTrainingOptions>
{
    public ValidateOptionsResult Validate(string? name, ChurnTrainingOptions options)
        => options.Problems(RetrainingExtensions.TrainingSection + ":") is { Count: > 0 } problems
            ? ValidateOptionsResult.Fail(problems)
            : ValidateOptionsResult.Success;
}
