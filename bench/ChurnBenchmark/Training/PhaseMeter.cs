using System.Diagnostics;
using System.Globalization;

namespace Analytics.ChurnBenchmark.Training;

/// <summary>What one phase cost: wall-clock and CPU time of this process, allocations, collections, peak working set.</summary>
internal sealed record PhaseResult(
    string Phase, double Seconds, double CpuSeconds, long AllocatedBytes, IReadOnlyList<int> Collections, long PeakWorkingSetBytes)
{
    /// <summary>Cores this process kept busy on average.</summary>
    public double CoresBusy => Seconds > 0 ? CpuSeconds / Seconds : 0;

    /// <summary><paramref name="count"/> per second of this phase.</summary>
    public double PerSecond(long count) => Seconds > 0 ? count / Seconds : 0;

    /// <summary>Several phases as one (e.g. data set → model file): times and allocations added, the highest peak.</summary>
    public static PhaseResult Sum(string phase, IReadOnlyList<PhaseResult> parts) => new(
        phase,
        parts.Sum(p => p.Seconds),
        parts.Sum(p => p.CpuSeconds),
        parts.Sum(p => p.AllocatedBytes),
        [.. Enumerable.Range(0, 3).Select(g => parts.Sum(p => p.Collections[g]))],
        parts.Max(p => p.PeakWorkingSetBytes));
}

/// <summary>
/// Measures one phase from <see cref="Start"/> to <see cref="Stop"/>: the clock, this process's CPU time, allocations and
/// collections; samples the working set every 50 ms on a timer (for the phase's peak) and, for a phase that tells
/// nothing itself, prints a line every 10 s so a long phase is seen to be alive.
/// </summary>
internal sealed class PhaseMeter : IDisposable
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    private readonly string _phase;
    private readonly TextWriter? _heartbeat;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _cpuAtStart;
    private readonly long _allocatedAtStart = GC.GetTotalAllocatedBytes(precise: false);
    private readonly int[] _collectionsAtStart = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
    private readonly Timer _sampler;
    private readonly Lock _gate = new();
    private long _peakWorkingSet = Environment.WorkingSet;
    private TimeSpan _nextHeartbeat = HeartbeatInterval;

    private PhaseMeter(string phase, TextWriter? heartbeat)
    {
        _phase = phase;
        _heartbeat = heartbeat;
        using (var process = Process.GetCurrentProcess()) _cpuAtStart = process.TotalProcessorTime;
        _sampler = new Timer(_ => Sample(), null, SampleInterval, SampleInterval);
    }

    /// <summary>The time since the phase started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>
    /// Starts measuring now, after a full collection (so that the previous phase's garbage is not collected on this
    /// one's clock). With <paramref name="heartbeat"/>, a line goes there every 10 s.
    /// </summary>
    public static PhaseMeter Start(string phase, TextWriter? heartbeat = null)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return new PhaseMeter(phase, heartbeat);
    }

    /// <summary>Stops the clock and returns what the phase cost.</summary>
    public PhaseResult Stop()
    {
        var seconds = _clock.Elapsed.TotalSeconds;
        TimeSpan cpu;
        using (var process = Process.GetCurrentProcess()) cpu = process.TotalProcessorTime;
        Sample();
        _sampler.Dispose();
        lock (_gate)
        {
            return new PhaseResult(
                _phase,
                seconds,
                (cpu - _cpuAtStart).TotalSeconds,
                GC.GetTotalAllocatedBytes(precise: false) - _allocatedAtStart,
                [.. Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - _collectionsAtStart[g])],
                _peakWorkingSet);
        }
    }

    public void Dispose() => _sampler.Dispose();

    private void Sample()
    {
        var workingSet = Environment.WorkingSet;
        string? line = null;
        lock (_gate)
        {
            _peakWorkingSet = Math.Max(_peakWorkingSet, workingSet);
            if (_heartbeat is not null && _clock.Elapsed >= _nextHeartbeat)
            {
                _nextHeartbeat += HeartbeatInterval;
                line = string.Create(CultureInfo.InvariantCulture,
                    $"[{_phase}] {_clock.Elapsed.TotalSeconds,6:0.0} s: still running, working set {workingSet / (double)(1 << 20):N0} MiB");
            }
        }

        if (line is not null) _heartbeat!.WriteLine(line);
    }
}
