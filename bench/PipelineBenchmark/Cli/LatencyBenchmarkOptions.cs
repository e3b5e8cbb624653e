namespace Analytics.PipelineBenchmark.Cli;

/// <summary>One run of the event-to-dashboard latency benchmark (verb <c>latency</c>), as the command line describes it.</summary>
internal sealed record LatencyBenchmarkOptions
{
    /// <summary>Kafka bootstrap servers of the pipeline under test. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>Topic the silo reads. Default <c>user_events</c>.</summary>
    public required string Topic { get; init; }

    /// <summary>Base address of the web host serving the dashboard hub (<c>{Url}/hubs/dashboard</c>). Required.</summary>
    public required Uri Url { get; init; }

    /// <summary>Producer rates in events/s, one step each, in this order. Default 1,000 then 10,000.</summary>
    public required IReadOnlyList<int> Rates { get; init; }

    /// <summary>Production at the step's rate before measured events start (grain activations, JIT). Default 20 s.</summary>
    public required TimeSpan WarmUp { get; init; }

    /// <summary>How long measured events are produced at each step. Default 60 s.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>Longest wait, after a step's last event, for the dashboard to count them all. Default 60 s.</summary>
    public required TimeSpan DrainTimeout { get; init; }

    /// <summary>Shoppers <c>{UserPrefix}0</c>..: each event names one uniformly. Default 20,000.</summary>
    public required int Users { get; init; }

    /// <summary>Rate of the priming before the first step: one event per user (0: no priming). Default 2,000/s.</summary>
    public required int PrimeRate { get; init; }

    /// <summary>Prefix of the user ids; distinct from the simulator's so that the two never share a user. Default <c>live_</c>.</summary>
    public required string UserPrefix { get; init; }

    /// <summary>Processes under test whose CPU time is measured over each step (silo, web API, broker); none by default.</summary>
    public required IReadOnlyList<int> Pids { get; init; }

    /// <summary>Seed of the event generator. Default 42.</summary>
    public required int Seed { get; init; }

    /// <summary>The load producer's linger.ms. Default 5, the Producer's.</summary>
    public int LingerMs { get; init; } = 5;

    /// <summary>Where the JSON report goes; none by default.</summary>
    public string? Output { get; init; }
}
