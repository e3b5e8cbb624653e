using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Hosting;

/// <summary>Request body sizes (section <c>RequestLimits</c>).</summary>
public sealed class RequestLimitsOptions
{
    public const string SectionName = "RequestLimits";

    /// <summary>The largest request body any endpoint accepts, in bytes (1 MiB by default); larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The largest body of <c>POST /predict</c>, in bytes (4 KiB by default: a user id is at most 128 characters).</summary>
    public long PredictMaxBodyBytes { get; set; } = 4 * 1024;
}

/// <summary>Rate limiting of <c>POST /predict</c> (section <c>RateLimiting</c>): a token bucket per client IP address.</summary>
public sealed class RateLimitingOptions
{
    public const string SectionName = "RateLimiting";

    /// <summary>On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Predictions allowed per second and client IP address (20,000 by default, above what one client reaches in the
    /// benchmark); a burst may use up to one second's permits at once. Behind a proxy every client shares its address.
    /// </summary>
    public int PredictPermitsPerSecond { get; set; } = 20_000;
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class RequestLimitsOptionsValidator : IValidateOptions<RequestLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, RequestLimitsOptions options)
    {
        const string Section = RequestLimitsOptions.SectionName;
        var failures = new List<string>();
        if (options.MaxBodyBytes < 1) failures.Add($"{Section}:MaxBodyBytes must be positive (was {options.MaxBodyBytes}).");
        if (options.PredictMaxBodyBytes < 1 || options.PredictMaxBodyBytes > options.MaxBodyBytes)
        {
            failures.Add($"{Section}:PredictMaxBodyBytes must be positive and at most {Section}:MaxBodyBytes ({options.MaxBodyBytes}) (was {options.PredictMaxBodyBytes}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class RateLimitingOptionsValidator : IValidateOptions<RateLimitingOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitingOptions options)
        => options.PredictPermitsPerSecond < 1
            ? ValidateOptionsResult.Fail($"{RateLimitingOptions.SectionName}:PredictPermitsPerSecond must be at least 1 (was {options.PredictPermitsPerSecond}).")
            : ValidateOptionsResult.Success;
}
