namespace Analytics.StreamingBenchmark.Cli;

/// <summary>One benchmark run, as the command line describes it.</summary>
internal sealed record BenchmarkOptions
{
    /// <summary>
    /// Events produced once and read by every phase, warm-up included. Default 400,000: the most that fits, with a
    /// margin, in what the local broker keeps (~5 MiB of lz4 batches per partition, ~85 bytes per event).
    /// </summary>
    public required long Events { get; init; }

    /// <summary>Distinct user ids <c>user_0</c>..<c>user_{N-1}</c>, one subscriber grain each. Default 100,000.</summary>
    public required int Users { get; init; }

    /// <summary>Partitions of the topic, and so Orleans queues. Default 8.</summary>
    public required int Partitions { get; init; }

    /// <summary>Seed of the event generator (same seed, same data). Default 42.</summary>
    public required int Seed { get; init; }

    /// <summary>Start the data set with one event per user (shuffled), so that the steady rate can be told apart. Default true.</summary>
    public required bool WarmUp { get; init; }

    /// <summary>Where the JSON result goes; none by default.</summary>
    public string? Output { get; init; }

    /// <summary>Longest a phase may take before the run fails. Default 5 minutes.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>Settings of the Orleans run that the headline figures come from.</summary>
    public required ProviderSettings Provider { get; init; }

    /// <summary>Also run a fixed list of other provider settings, side by side.</summary>
    public bool Sweep { get; init; }
}
