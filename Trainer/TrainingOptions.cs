using Analytics.Churn;

namespace Analytics.Trainer;

/// <summary>Settings of a training run (section <c>Training</c>); see <see cref="ChurnTrainingOptions"/> for what each does.</summary>
public sealed class TrainingOptions
{
    public const string SectionName = "Training";

    /// <summary>Label horizon H: a user churned if no event came in (cutoff, cutoff + H]. Default 3 days.</summary>
    public TimeSpan Horizon { get; set; } = ChurnTrainingOptions.DefaultHorizon;

    /// <summary>The cutoff T; by default the newest stored event minus the horizon (the latest T with a full horizon of data).</summary>
    public DateTimeOffset? Cutoff { get; set; }

    /// <summary>Where model.zip and model.json are written. Default <c>models</c>.</summary>
    public string ModelDirectory { get; set; } = "models";

    /// <summary>Share of the users held out for the metrics. Default 0.2.</summary>
    public double TestFraction { get; set; } = 0.2;

    /// <summary>Seed of the trainer. Default 42.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>
    /// Optional: the shop simulator's truth file (<c>Producer --truth</c>) of the run that produced the events; the
    /// metrics table then also scores model and baseline against the hidden truth. Default none.
    /// </summary>
    public string? TruthFile { get; set; }

    /// <summary>The run these settings describe.</summary>
    public ChurnTrainingOptions ToRunOptions() => new()
    {
        Horizon = Horizon,
        Cutoff = Cutoff,
        ModelDirectory = ModelDirectory,
        TestFraction = TestFraction,
        Seed = Seed,
        TruthFile = string.IsNullOrWhiteSpace(TruthFile) ? null : TruthFile,
    };

    /// <summary>Every problem, each naming its setting; empty when the options are usable.</summary>
    public IReadOnlyList<string> Problems() => ToRunOptions().Problems(SectionName + ":");
}
