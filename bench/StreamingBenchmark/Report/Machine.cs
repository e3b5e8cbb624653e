using System.Runtime;
using System.Runtime.InteropServices;
using Analytics.LocalBroker;

namespace Analytics.StreamingBenchmark.Report;

/// <summary>Where the figures come from.</summary>
internal sealed record Machine(int Cores, string OperatingSystem, string Runtime, bool ServerGc, string Librdkafka)
{
    public static Machine Current() => new(
        Environment.ProcessorCount,
        PrettyOsName() ?? RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        GCSettings.IsServerGC,
        MockKafkaCluster.LibrdkafkaVersion);

    public override string ToString()
        => $"{Cores} cores, {OperatingSystem}, {Runtime} ({(ServerGc ? "server" : "workstation")} GC), librdkafka {Librdkafka}";

    /// <summary>
    /// The 1-minute load average (runnable threads of every process), or null where /proc is missing. Above the core
    /// count, other work competed for the CPU and the rates are low; CPU-µs per event suffers much less.
    /// </summary>
    public static double? LoadAverage()
    {
        const string Path = "/proc/loadavg";
        if (!File.Exists(Path)) return null;
        var first = File.ReadAllText(Path).Split(' ', 2)[0];
        return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : null;
    }

    /// <summary>PRETTY_NAME of /etc/os-release, e.g. "Debian GNU/Linux 12 (bookworm)".</summary>
    private static string? PrettyOsName()
    {
        const string Key = "PRETTY_NAME=";
        if (!File.Exists("/etc/os-release")) return null;
        var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith(Key, StringComparison.Ordinal));
        return line?[Key.Length..].Trim('"');
    }
}
