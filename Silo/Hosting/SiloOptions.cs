using Microsoft.Extensions.Options;

namespace Analytics.Silo.Hosting;

/// <summary>How this silo joins its cluster (configuration section <c>Orleans</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Orleans";

    /// <summary>Silos with the same cluster id form one cluster. Default <c>analytics</c>.</summary>
    public string ClusterId { get; set; } = "analytics";

    /// <summary>Identifies the service across deployments (grain state and reminders are keyed by it). Default <c>analytics</c>.</summary>
    public string ServiceId { get; set; } = "analytics";

    /// <summary>Port for silo-to-silo traffic. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port that clients (the web API) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;
}

/// <summary>Refuses start-up with a message that names the setting.</summary>
internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ClusterId)) failures.Add("Orleans:ClusterId is required.");
        if (string.IsNullOrWhiteSpace(options.ServiceId)) failures.Add("Orleans:ServiceId is required.");
        if (options.SiloPort is < 1 or > 65535) failures.Add($"Orleans:SiloPort must be a TCP port, 1–65535 (was {options.SiloPort}).");
        if (options.GatewayPort is < 1 or > 65535) failures.Add($"Orleans:GatewayPort must be a TCP port, 1–65535 (was {options.GatewayPort}).");
        if (options.SiloPort == options.GatewayPort) failures.Add($"Orleans:SiloPort and Orleans:GatewayPort must differ (both {options.SiloPort}).");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
