using Analytics.Grains.Funnel;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Funnel;

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class FunnelOptionsValidator : IValidateOptions<FunnelOptions>
{
    public ValidateOptionsResult Validate(string? name, FunnelOptions options)
    {
        const string Section = FunnelOptions.SectionName;
        var failures = new List<string>();
        if (options.WindowSize <= TimeSpan.Zero
            || (TimeSpan.TicksPerDay % options.WindowSize.Ticks != 0 && options.WindowSize.Ticks % TimeSpan.TicksPerDay != 0))
        {
            failures.Add($"{Section}:WindowSize must be positive and divide a day, or be whole days (was {options.WindowSize}).");
        }

        if (options.AllowedLateness < TimeSpan.Zero) failures.Add($"{Section}:AllowedLateness must not be negative (was {options.AllowedLateness}).");
        if (options.IdleTimeout <= TimeSpan.Zero) failures.Add($"{Section}:IdleTimeout must be positive (was {options.IdleTimeout}).");
        if (options.ReportInterval <= TimeSpan.Zero) failures.Add($"{Section}:ReportInterval must be positive (was {options.ReportInterval}).");
        if (options.FinalisationCheckPeriod <= TimeSpan.Zero) failures.Add($"{Section}:FinalisationCheckPeriod must be positive (was {options.FinalisationCheckPeriod}).");
        if (options.SessionTimeout <= TimeSpan.Zero) failures.Add($"{Section}:SessionTimeout must be positive (was {options.SessionTimeout}).");
        if (options.PublishInterval <= TimeSpan.Zero) failures.Add($"{Section}:PublishInterval must be positive (was {options.PublishInterval}).");
        if (options.OrderedRefreshInterval < TimeSpan.Zero) failures.Add($"{Section}:OrderedRefreshInterval must not be negative (was {options.OrderedRefreshInterval}).");
        if (options.ContributionLinger < TimeSpan.Zero || options.ContributionLinger > TimeSpan.FromSeconds(1))
        {
            failures.Add($"{Section}:ContributionLinger must be between 0 and 1 second (was {options.ContributionLinger}).");
        }

        if (options.ContributionBatchSize <= 0) failures.Add($"{Section}:ContributionBatchSize must be positive (was {options.ContributionBatchSize}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
