using Microsoft.Extensions.Options;

namespace Analytics.Silo.Hosting;

/// <summary>How silos find each other, and clients find the silos (setting <c>Orleans:Membership</c>).</summary>
public enum MembershipMode
{
    /// <summary>One silo on this machine, no membership store: the embedded default.</summary>
    Localhost,

    /// <summary>Membership in PostgreSQL (Orleans' ADO.NET clustering, the tables of migration 001): any number of silos.</summary>
    AdoNet,
}

/// <summary>How this silo joins its cluster (configuration section <c>Orleans</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Orleans";

    /// <summary>
    /// <see cref="MembershipMode.Localhost"/> (default) or <see cref="MembershipMode.AdoNet"/>: membership in the
    /// PostgreSQL database of <c>Postgres:ConnectionString</c>, for several silos.
    /// </summary>
    public MembershipMode Membership { get; set; } = MembershipMode.Localhost;

    /// <summary>
    /// The address other silos and clients reach this silo at (AdoNet clustering). Empty: Orleans picks this host's
    /// first suitable interface (a container's own address). <c>run_all.sh --silos N</c> sets 127.0.0.1.
    /// </summary>
    public string? AdvertisedIPAddress { get; set; }

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
        if (!Enum.IsDefined(options.Membership)) failures.Add($"Orleans:Membership must be Localhost or AdoNet (was {options.Membership}).");
        if (!string.IsNullOrWhiteSpace(options.AdvertisedIPAddress) && !System.Net.IPAddress.TryParse(options.AdvertisedIPAddress, out _))
        {
            failures.Add($"Orleans:AdvertisedIPAddress must be an IP address, or empty for this host's own (was '{options.AdvertisedIPAddress}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
