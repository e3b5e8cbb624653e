using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;

namespace Analytics.Benchmarking;

/// <summary>Where the figures come from.</summary>
public sealed record Machine(int Cores, string? Cpu, [property: JsonPropertyName("memory_gib")] double MemoryGiB, string OperatingSystem, string Runtime, bool ServerGc)
{
    public static Machine Current() => new(
        Environment.ProcessorCount,
        CpuModel(),
        Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30), 1),
        PrettyOsName() ?? RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        GCSettings.IsServerGC);

    /// <summary>The librdkafka version, for benchmarks that run the local broker in their own process.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Librdkafka { get; init; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Cores} cores{(Cpu is null ? "" : $" ({Cpu})")}, {MemoryGiB:0.#} GiB, {OperatingSystem}, {Runtime} ({(ServerGc ? "server" : "workstation")} GC){(Librdkafka is null ? "" : $", librdkafka {Librdkafka}")}");

    /// <summary>
    /// The 1-minute load average (runnable threads of every process), or null where /proc is missing. Above the core
    /// count, other work competed for the CPU and the times are long.
    /// </summary>
    public static double? LoadAverage()
    {
        const string Path = "/proc/loadavg";
        if (!File.Exists(Path)) return null;
        var first = File.ReadAllText(Path).Split(' ', 2)[0];
        return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;
    }

    /// <summary>PRETTY_NAME of /etc/os-release, e.g. "Debian GNU/Linux 12 (bookworm)".</summary>
    private static string? PrettyOsName()
    {
        const string Key = "PRETTY_NAME=";
        if (!File.Exists("/etc/os-release")) return null;
        var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith(Key, StringComparison.Ordinal));
        return line?[Key.Length..].Trim('"');
    }

    /// <summary>The first "model name" of /proc/cpuinfo, e.g. "AMD EPYC 7B13".</summary>
    private static string? CpuModel()
    {
        const string Path = "/proc/cpuinfo";
        if (!File.Exists(Path)) return null;
        var line = File.ReadLines(Path).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        var colon = line?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon < 0 ? null : line![(colon + 1)..].Trim();
    }
}
