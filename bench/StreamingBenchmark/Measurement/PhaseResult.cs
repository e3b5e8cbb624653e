namespace Analytics.StreamingBenchmark.Measurement;

/// <summary>What one phase measured.</summary>
internal sealed record PhaseResult
{
    public required string Phase { get; init; }

    /// <summary>First event to last: the rate the issue asks for (start-up excluded, grain activations included).</summary>
    public required Window Run { get; init; }

    /// <summary>
    /// From the moment the phase was warm (for Orleans: every subscriber grain active) to the last event; null when
    /// the phase has no warm-up or was warm only at the very end.
    /// </summary>
    public Window? Steady { get; init; }

    /// <summary>
    /// From the first event to the moment the phase's further end condition held (e.g. everything durable); null for a
    /// phase whose end is its last event.
    /// </summary>
    public Window? Settled { get; init; }

    /// <summary>Phase start (before connecting or starting the host) to the last event, in seconds.</summary>
    public required double TotalSeconds { get; init; }

    /// <summary>Process CPU time from the phase start to the last event, in seconds.</summary>
    public required double TotalCpuSeconds { get; init; }

    /// <summary>Largest working set sampled during the phase.</summary>
    public required long PeakWorkingSetBytes { get; init; }

    /// <summary>The machine's 1-minute load average when the phase ended (null where unknown).</summary>
    public double? LoadAverage { get; init; }
}

/// <summary>A stretch of a phase: events counted in it, and what they cost the whole process.</summary>
/// <param name="Events">Events counted after the window's start, up to its end.</param>
/// <param name="Seconds">Length of the window.</param>
/// <param name="CpuSeconds">Process CPU time (every thread: consumers, broker, Orleans) in the window.</param>
/// <param name="AllocatedBytes">Managed bytes allocated in the window.</param>
/// <param name="Collections">Garbage collections (gen 0, 1, 2) in the window.</param>
internal sealed record Window(long Events, double Seconds, double CpuSeconds, long AllocatedBytes, int[] Collections)
{
    public double EventsPerSecond => Events / Seconds;

    public double CpuMicrosecondsPerEvent => CpuSeconds * 1e6 / Events;

    public double AllocatedBytesPerEvent => (double)AllocatedBytes / Events;

    /// <summary>Cores busy on average in the window.</summary>
    public double CoresBusy => CpuSeconds / Seconds;

    /// <summary>How much each of the phase's named counters (<see cref="PhaseCounter"/>) grew in the window.</summary>
    public IReadOnlyDictionary<string, long> Counters { get; init; } = new Dictionary<string, long>();

    /// <summary>The growth of counter <paramref name="name"/> in the window (0 when the phase has no such counter).</summary>
    public long Counter(string name) => Counters.GetValueOrDefault(name);

    /// <summary>The growth of counter <paramref name="name"/> per second of the window.</summary>
    public double CounterPerSecond(string name) => Counter(name) / Seconds;
}

/// <summary>A count of a phase besides its events (rows written, CPU of another process), read at every snapshot.</summary>
/// <param name="Name">Its key in <see cref="Window.Counters"/>.</param>
/// <param name="Read">Reads its current total; called from the meter's thread, so it must be quick.</param>
internal sealed record PhaseCounter(string Name, Func<long> Read);
