using System.Globalization;

namespace Analytics.Benchmarking;

/// <summary>CPU time of a process, and of the whole machine, from Linux's /proc (nothing where /proc is missing).</summary>
public static class CpuProbe
{
    /// <summary>Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>
    /// User + system CPU seconds so far of process <paramref name="pid"/> and its children — those still running and
    /// those it has reaped — or null when it is gone or unreadable. Children count because some servers are a family of
    /// processes: PostgreSQL runs a process per connection, and ends some while others start during a measurement.
    /// </summary>
    public static double? ProcessSeconds(int pid)
    {
        var stat = ReadStat(pid);
        if (stat is null) return null;
        var ticks = stat.Value.OwnTicks + stat.Value.ReapedChildTicks;
        foreach (var child in DescendantsOf(pid)) ticks += child.OwnTicks + child.ReapedChildTicks;
        return ticks / TicksPerSecond;
    }

    /// <summary>The parent, own CPU ticks and reaped children's CPU ticks of <paramref name="pid"/>, from /proc/pid/stat.</summary>
    private static (int Parent, long OwnTicks, long ReapedChildTicks)? ReadStat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: the fields that follow are counted from its end.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 4 (ppid) and 14-17 (utime, stime, cutime, cstime) of the line: 1 and 11-14 after the name.
            long Field(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
            return ((int)Field(1), Field(11) + Field(12), Field(13) + Field(14));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>What /proc/pid/stat says of every running descendant of <paramref name="pid"/>.</summary>
    private static List<(int Parent, long OwnTicks, long ReapedChildTicks)> DescendantsOf(int pid)
    {
        var byParent = new Dictionary<int, List<(int Pid, (int Parent, long OwnTicks, long ReapedChildTicks) Stat)>>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var p)) continue;
                if (ReadStat(p) is not { } stat) continue;
                if (!byParent.TryGetValue(stat.Parent, out var children)) byParent[stat.Parent] = children = [];
                children.Add((p, stat));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var found = new List<(int Parent, long OwnTicks, long ReapedChildTicks)>();
        var pending = new Queue<int>([pid]);
        while (pending.TryDequeue(out var next))
        {
            if (!byParent.TryGetValue(next, out var children)) continue;
            foreach (var (child, stat) in children)
            {
                found.Add(stat);
                pending.Enqueue(child);
            }
        }

        return found;
    }

    /// <summary>What process <paramref name="pid"/> runs: the .dll it was started with (dotnet x.dll), else its command name.</summary>
    public static string Describe(int pid)
    {
        try
        {
            var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            var dll = arguments.FirstOrDefault(a => a.EndsWith(".dll", StringComparison.OrdinalIgnoreCase));
            if (dll is not null) return Path.GetFileNameWithoutExtension(dll);
            return arguments.Length > 0 ? Path.GetFileName(arguments[0]) : File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    /// <summary>Busy and total CPU seconds of the whole machine (every core) so far, from the first line of /proc/stat.</summary>
    public static (double Busy, double Total)? MachineSeconds()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").First();
            var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            // user nice system idle iowait irq softirq steal: idle and iowait are the time nothing ran.
            var total = values.Sum();
            var idle = values[3] + (values.Length > 4 ? values[4] : 0);
            return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
