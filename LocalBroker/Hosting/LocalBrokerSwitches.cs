namespace Analytics.LocalBroker.Hosting;

/// <summary>Friendly command-line switches and the <see cref="LocalBrokerOptions"/> settings they set.</summary>
/// <remarks>The long form (<c>--LocalBroker:Partitions 8</c>) works too, as for any ASP.NET Core setting.</remarks>
public static class LocalBrokerSwitches
{
    private const string Section = LocalBrokerOptions.SectionName + ":";

    /// <summary>A fresh copy of the mappings, for <c>AddCommandLine(args, mappings)</c>.</summary>
    public static Dictionary<string, string> Create() => new(StringComparer.OrdinalIgnoreCase)
    {
        ["--brokers"] = Section + nameof(LocalBrokerOptions.Brokers),
        ["--topic"] = Section + nameof(LocalBrokerOptions.Topics),
        ["--topics"] = Section + nameof(LocalBrokerOptions.Topics),
        ["--partitions"] = Section + nameof(LocalBrokerOptions.Partitions),
        ["--bootstrap-file"] = Section + nameof(LocalBrokerOptions.BootstrapFile),
        ["--control-url"] = Section + nameof(LocalBrokerOptions.ControlUrl),
        ["--group-initial-rebalance-delay"] = Section + nameof(LocalBrokerOptions.GroupInitialRebalanceDelay),
    };
}
