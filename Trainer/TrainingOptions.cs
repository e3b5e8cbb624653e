namespace Analytics.Trainer;

/// <summary>Settings of a training run (section <c>Training</c>).</summary>
public sealed class TrainingOptions
{
    public const string SectionName = "Training";

    /// <summary>Label horizon H: a user churned if no event came in (cutoff, cutoff + H].</summary>
    public TimeSpan Horizon { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The cutoff T; by default the newest stored event minus the horizon (the latest T with a full horizon of data).</summary>
    public DateTimeOffset? Cutoff { get; set; }

    /// <summary>Where model.zip and model.json are written.</summary>
    public string ModelDirectory { get; set; } = "models";

    /// <summary>Share of the users held out for the metrics.</summary>
    public double TestFraction { get; set; } = 0.2;

    public int Seed { get; set; } = 42;

    /// <summary>Every problem, each naming its setting; empty when the options are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Horizon <= TimeSpan.Zero) problems.Add($"{SectionName}:Horizon must be positive (was {Horizon}).");
        if (string.IsNullOrWhiteSpace(ModelDirectory)) problems.Add($"{SectionName}:ModelDirectory must be set.");
        if (TestFraction is <= 0 or >= 1) problems.Add($"{SectionName}:TestFraction must be between 0 and 1 exclusive (was {TestFraction}).");
        return problems;
    }
}
