using System.Globalization;

namespace Analytics.PipelineBenchmark.Load;

/// <summary>A process's resident memory from <c>/proc/&lt;pid&gt;/status</c>: now (VmRSS) and its peak (VmHWM), in bytes.</summary>
internal static class ProcessMemory
{
    public static long? Resident(int pid) => Read(pid, "VmRSS:");

    public static long? Peak(int pid) => Read(pid, "VmHWM:");

    private static long? Read(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
                var kib = line[field.Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
