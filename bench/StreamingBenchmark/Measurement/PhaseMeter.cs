using System.Diagnostics;
using System.Globalization;
using Analytics.StreamingBenchmark.Report;

namespace Analytics.StreamingBenchmark.Measurement;

/// <summary>
/// Watches one phase from its own thread: polls the phase's event count every few milliseconds, takes a snapshot
/// (clock, process CPU time, allocations, collections, and any named counters of the phase) when the first event
/// arrives, when the phase becomes warm, when the expected count is reached and, for a phase with an end condition
/// beyond the count (everything durable), when that condition holds; samples the working set; prints a progress line
/// every two seconds.
/// </summary>
internal sealed class PhaseMeter : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MemoryInterval = TimeSpan.FromMilliseconds(100);

    private readonly string _phase;
    private readonly long _expected;
    private readonly Func<long> _count;
    private readonly Func<bool>? _isWarm;
    private readonly Func<string>? _detail;
    private readonly Func<bool>? _isSettled;
    private readonly IReadOnlyList<PhaseCounter> _counters;
    private readonly TextWriter _progress;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource<PhaseResult> _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;
    private readonly Snapshot _start;
    private volatile bool _stopped;

    private PhaseMeter(
        string phase, long expected, Func<long> count, Func<bool>? isWarm, Func<string>? detail, Func<bool>? isSettled, IReadOnlyList<PhaseCounter>? counters, TextWriter progress)
    {
        _phase = phase;
        _expected = expected;
        _count = count;
        _isWarm = isWarm;
        _detail = detail;
        _isSettled = isSettled;
        _counters = counters ?? [];
        _progress = progress;
        _start = Take(TimeSpan.Zero, 0);
        _thread = new Thread(Watch) { IsBackground = true, Name = "phase meter" };
    }

    /// <summary>Starts watching now; the phase's clock and CPU count start here.</summary>
    /// <param name="phase">Name in the progress lines.</param>
    /// <param name="expected">The count at which the phase is complete.</param>
    /// <param name="count">Reads the phase's count; called from the meter's thread.</param>
    /// <param name="progress">Where the progress lines go.</param>
    /// <param name="isWarm">Says when the phase is warm (e.g. every grain active); the steady window starts then.</param>
    /// <param name="detail">Extra text for the progress lines (e.g. activations so far).</param>
    /// <param name="isSettled">
    /// A further end condition, checked once the count is reached (e.g. offsets committed and rows written); the phase
    /// ends when it holds, and <see cref="PhaseResult.Settled"/> measures up to then. Called from the meter's thread
    /// every few milliseconds: it must be cheap (read a flag that another task maintains).
    /// </param>
    /// <param name="counters">Counts of the phase (e.g. rows written) read with every snapshot; each window carries their deltas.</param>
    public static PhaseMeter Start(
        string phase,
        long expected,
        Func<long> count,
        TextWriter progress,
        Func<bool>? isWarm = null,
        Func<string>? detail = null,
        Func<bool>? isSettled = null,
        IReadOnlyList<PhaseCounter>? counters = null)
    {
        var meter = new PhaseMeter(phase, expected, count, isWarm, detail, isSettled, counters, progress);
        meter._thread.Start();
        return meter;
    }

    /// <summary>Waits until the count reaches the expected number; fails with what was counted after <paramref name="timeout"/>.</summary>
    public async Task<PhaseResult> WaitAsync(TimeSpan timeout)
    {
        try
        {
            return await _completed.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var count = _count();
            throw new BenchmarkException(count >= _expected
                ? string.Create(CultureInfo.InvariantCulture, $"{_phase}: all {_expected:N0} events arrived, but the end condition did not hold within {timeout.TotalSeconds:0} s{DetailSuffix()}.")
                : string.Create(CultureInfo.InvariantCulture, $"{_phase}: only {count:N0} of {_expected:N0} events arrived within {timeout.TotalSeconds:0} s{DetailSuffix()}."));
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    private void Watch()
    {
        Snapshot? first = null;
        Snapshot? warm = null;
        Snapshot? last = null;
        var peakWorkingSet = Environment.WorkingSet;
        var nextMemory = MemoryInterval;
        var nextProgress = ProgressInterval;
        var lastProgressCount = 0L;
        var lastProgressAt = TimeSpan.Zero;
        while (!_stopped)
        {
            var count = _count();
            var now = _clock.Elapsed;
            if (first is null && count > 0) first = Take(now, count);
            if (warm is null && first is not null && _isWarm is not null && _isWarm()) warm = Take(now, count);

            if (last is null && count >= _expected && first is not null) last = Take(now, count);
            if (last is not null && first is not null && (_isSettled is null || _isSettled()))
            {
                var end = _isSettled is null ? last : Take(now, count);
                peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
                Report(now, count, lastProgressCount, lastProgressAt);
                _completed.TrySetResult(new PhaseResult
                {
                    Phase = _phase,
                    Run = last.Since(first),
                    // A phase that only became warm in its last poll has no steady window worth reporting.
                    Steady = warm is not null && last.Count - warm.Count >= _expected / 20 ? last.Since(warm) : null,
                    Settled = _isSettled is null ? null : end.Since(first),
                    TotalSeconds = now.TotalSeconds,
                    TotalCpuSeconds = (end.Cpu - _start.Cpu).TotalSeconds,
                    PeakWorkingSetBytes = peakWorkingSet,
                    LoadAverage = Machine.LoadAverage(),
                });
                return;
            }

            if (now >= nextMemory)
            {
                nextMemory = now + MemoryInterval;
                peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
            }

            if (now >= nextProgress)
            {
                nextProgress += ProgressInterval;
                Report(now, count, lastProgressCount, lastProgressAt);
                lastProgressCount = count;
                lastProgressAt = now;
            }

            Thread.Sleep(PollInterval);
        }
    }

    private void Report(TimeSpan now, long count, long lastCount, TimeSpan lastAt)
    {
        var interval = (now - lastAt).TotalSeconds;
        var rate = interval > 0 ? (count - lastCount) / interval : 0;
        _progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{_phase}] {now.TotalSeconds,6:0.0} s: {count,11:N0} of {_expected:N0} events, {rate,9:N0} ev/s{DetailSuffix()}"));
    }

    private string DetailSuffix() => _detail is null ? "" : ", " + _detail();

    private Snapshot Take(TimeSpan at, long count)
    {
        using var process = Process.GetCurrentProcess();
        return new Snapshot(
            at,
            count,
            process.TotalProcessorTime,
            GC.GetTotalAllocatedBytes(),
            [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)],
            [.. _counters.Select(c => (c.Name, c.Read()))]);
    }

    private sealed record Snapshot(TimeSpan At, long Count, TimeSpan Cpu, long Allocated, int[] Collections, (string Name, long Value)[] Counters)
    {
        // The event that opened the window is not in it: rate = events after the start / time after the start.
        public Window Since(Snapshot start) => new(
            Math.Max(1, Count - start.Count),
            Math.Max((At - start.At).TotalSeconds, 1e-6),
            (Cpu - start.Cpu).TotalSeconds,
            Allocated - start.Allocated,
            [.. Collections.Select((c, generation) => c - start.Collections[generation])])
        {
            Counters = Counters.Select((c, i) => (c.Name, Delta: c.Value - start.Counters[i].Value)).ToDictionary(c => c.Name, c => c.Delta),
        };
    }
}
