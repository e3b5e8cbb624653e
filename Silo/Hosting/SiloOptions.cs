using System.ComponentModel.DataAnnotations;

namespace Analytics.Silo.Hosting;

/// <summary>How this silo joins its cluster (configuration section <c>Orleans</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Orleans";

    /// <summary>Silos with the same cluster id form one cluster. Default <c>analytics</c>.</summary>
    [Required]
    public string ClusterId { get; set; } = "analytics";

    /// <summary>Identifies the service across deployments (grain state and reminders are keyed by it). Default <c>analytics</c>.</summary>
    [Required]
    public string ServiceId { get; set; } = "analytics";

    /// <summary>Port for silo-to-silo traffic. Default 11111.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port that clients (the web API) connect to. Default 30000.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;
}
