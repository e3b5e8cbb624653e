using Analytics.Grains.Churn;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Churn;

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class ChurnScoringOptionsValidator : IValidateOptions<ChurnScoringOptions>
{
    public ValidateOptionsResult Validate(string? name, ChurnScoringOptions options)
    {
        const string Section = ChurnScoringOptions.SectionName;
        var failures = new List<string>();
        if (options.Interval < TimeSpan.FromMinutes(1)) failures.Add($"{Section}:Interval must be at least 1 minute, a reminder's minimum (was {options.Interval}).");
        if (options.ActiveWithin <= TimeSpan.Zero) failures.Add($"{Section}:ActiveWithin must be positive (was {options.ActiveWithin}).");
        if (options.Concurrency < 1) failures.Add($"{Section}:Concurrency must be at least 1 (was {options.Concurrency}).");
        if (options.MinimumChange is < 0 or > 1 || double.IsNaN(options.MinimumChange)) failures.Add($"{Section}:MinimumChange must be between 0 and 1 (was {options.MinimumChange}).");
        if (options.AtRiskCount < 0) failures.Add($"{Section}:AtRiskCount must not be negative (was {options.AtRiskCount}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
