using Analytics.Grains.Users;
using Microsoft.Extensions.Options;

namespace Analytics.Silo.Users;

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class UserGrainOptionsValidator : IValidateOptions<UserGrainOptions>
{
    public ValidateOptionsResult Validate(string? name, UserGrainOptions options)
    {
        const string Section = UserGrainOptions.SectionName;
        var failures = new List<string>();
        if (options.DuplicateWindow < TimeSpan.Zero) failures.Add($"{Section}:DuplicateWindow must not be negative (was {options.DuplicateWindow}).");
        if (options.DuplicateCapacity < 1) failures.Add($"{Section}:DuplicateCapacity must be at least 1 (was {options.DuplicateCapacity}).");
        if (options.SnapshotEvents < 1) failures.Add($"{Section}:SnapshotEvents must be at least 1 (was {options.SnapshotEvents}).");
        if (options.IdleTimeout < TimeSpan.FromMinutes(1)) failures.Add($"{Section}:IdleTimeout must be at least 1 minute, Orleans' minimum collection age (was {options.IdleTimeout}).");
        if (options.FeatureFlushInterval <= TimeSpan.Zero) failures.Add($"{Section}:FeatureFlushInterval must be positive (was {options.FeatureFlushInterval}).");
        if (options.ReconcileDelay <= TimeSpan.Zero) failures.Add($"{Section}:ReconcileDelay must be positive (was {options.ReconcileDelay}).");
        if (options.ReconcileLookback <= TimeSpan.Zero) failures.Add($"{Section}:ReconcileLookback must be positive (was {options.ReconcileLookback}).");
        if (options.ReconcileLimit < 1) failures.Add($"{Section}:ReconcileLimit must be at least 1 (was {options.ReconcileLimit}).");
        if (options.FeatureBatchSize < 1) failures.Add($"{Section}:FeatureBatchSize must be at least 1 (was {options.FeatureBatchSize}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
