using Microsoft.Extensions.Options;

namespace Analytics.Churn.Serving;

/// <summary>Settings of the churn model where it is served (section <c>Churn</c>).</summary>
public sealed class ChurnServingOptions
{
    public const string SectionName = "Churn";

    /// <summary>The directory the Trainer writes to (model.zip and model.json).</summary>
    public string ModelDirectory { get; set; } = "models";

    /// <summary>A user with a churn probability at least this counts as churned.</summary>
    public double Threshold { get; set; } = 0.5;

    /// <summary>How often the model directory is checked for a new model (picked up without a restart).</summary>
    public TimeSpan ModelCheckInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class ChurnServingOptionsValidator : IValidateOptions<ChurnServingOptions>
{
    public ValidateOptionsResult Validate(string? name, ChurnServingOptions options)
    {
        const string Section = ChurnServingOptions.SectionName;
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ModelDirectory)) failures.Add($"{Section}:ModelDirectory must be set.");
        if (options.Threshold is <= 0 or >= 1 || double.IsNaN(options.Threshold)) failures.Add($"{Section}:Threshold must be between 0 and 1 exclusive (was {options.Threshold}).");
        if (options.ModelCheckInterval <= TimeSpan.Zero) failures.Add($"{Section}:ModelCheckInterval must be positive (was {options.ModelCheckInterval}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
