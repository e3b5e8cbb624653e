namespace Analytics.PipelineBenchmark.Cli;

/// <summary>One run of the sustainable-throughput benchmark (verb <c>throughput</c>), as the command line describes it.</summary>
internal sealed record ThroughputBenchmarkOptions
{
    /// <summary>The pipelines the run searches, in this order.</summary>
    public static readonly IReadOnlyList<string> PipelineNames = ["bare", "orleans"];

    /// <summary>Kafka bootstrap servers of the pipeline under test. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>Topic the silo reads. Default <c>user_events</c>.</summary>
    public required string Topic { get; init; }

    /// <summary>Topic of the bare pipeline (the local broker must create it: <c>LocalBroker__Topics</c>). Default <c>user_events_bare</c>.</summary>
    public required string BareTopic { get; init; }

    /// <summary>Npgsql connection string of the pipeline's database (funnel_summary, churn_features; the bare pipeline's table). Required.</summary>
    public required string Postgres { get; init; }

    /// <summary>Base address of the silo's HTTP endpoint (<c>{SiloUrl}/health/ingestion</c>). Required.</summary>
    public required Uri SiloUrl { get; init; }

    /// <summary>Which pipelines to search, in this order: <c>bare</c> and <c>orleans</c> by default.</summary>
    public required IReadOnlyList<string> Pipelines { get; init; }

    /// <summary>Rate of the first step, events/s. Default 5,000.</summary>
    public required int StartRate { get; init; }

    /// <summary>Each step's rate over the previous one while steps keep up (divides while they do not). Default 1.5.</summary>
    public required double Factor { get; init; }

    /// <summary>Highest rate tried, events/s. Default 100,000.</summary>
    public required int MaxRate { get; init; }

    /// <summary>Whether one more step runs between the last rate kept up with and the first one not. Default true.</summary>
    public required bool Bisect { get; init; }

    /// <summary>How long each step produces. Default 60 s.</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>How soon after a step's last event every event must be reflected for the step to count as kept up. Default 10 s.</summary>
    public required TimeSpan CatchUp { get; init; }

    /// <summary>Rate at which the silo's CPU time per event is measured (a step of <see cref="Duration"/>). Default 5,000/s.</summary>
    public required int CpuRate { get; init; }

    /// <summary>Shoppers <c>{UserPrefix}0</c>..: each event names one uniformly. Default 20,000.</summary>
    public required int Users { get; init; }

    /// <summary>Rate of the priming before each pipeline's first step: one event per user (0: no priming). Default 2,000/s.</summary>
    public required int PrimeRate { get; init; }

    /// <summary>Prefix of the user ids; distinct from the simulator's. Default <c>live_</c>.</summary>
    public required string UserPrefix { get; init; }

    /// <summary>Processes of the running pipeline whose CPU time is measured over each step (silo first, web API, broker).</summary>
    public required IReadOnlyList<int> Pids { get; init; }

    /// <summary>Seed of the event generator. Default 42.</summary>
    public required int Seed { get; init; }

    /// <summary>The load producer's linger.ms. Default 20.</summary>
    public int LingerMs { get; init; } = 20;

    /// <summary>Where the JSON report goes; none by default.</summary>
    public string? Output { get; init; }
}
