namespace Analytics.StreamingBenchmark.Cli;

/// <summary>One run of the users benchmark (verb <c>users</c>), as the command line describes it.</summary>
internal sealed record UsersBenchmarkOptions
{
    /// <summary>
    /// A PostgreSQL server where the benchmark may create and drop databases (a superuser, or a role with CREATEDB);
    /// the database it names is used only for statistics queries. Required.
    /// </summary>
    public required string Postgres { get; init; }

    /// <summary>
    /// Events produced once and read by every run, warm-up included. Default 200,000: the user grains write about
    /// once per event at 20,000 users, and PostgreSQL's commits bound that to ~1,500/s on a 2-core machine.
    /// </summary>
    public required long Events { get; init; }

    /// <summary>Distinct users <c>user_0</c>..<c>user_{N-1}</c>, one <c>UserGrain</c> each. Default 20,000.</summary>
    public required int Users { get; init; }

    /// <summary>Partitions of the topic (= Orleans queues). Default 8.</summary>
    public required int Partitions { get; init; }

    /// <summary>Seed of the event generator. Default 42.</summary>
    public required int Seed { get; init; }

    /// <summary>Kafka:CommitInterval of the headline run (how often the commit gate makes the user grains write). Default 1 s.</summary>
    public required TimeSpan CommitInterval { get; init; }

    /// <summary>Also run with each of <see cref="SweepCommitIntervals"/> that differs from <see cref="CommitInterval"/>.</summary>
    public bool Sweep { get; init; }

    /// <summary>Longest one run may take, from silo start to everything durable, before the benchmark fails. Default 5 minutes.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>Where the JSON result goes; none by default.</summary>
    public string? Output { get; init; }

    /// <summary>The commit intervals <c>--sweep</c> adds.</summary>
    public static IReadOnlyList<TimeSpan> SweepCommitIntervals { get; } = [TimeSpan.FromSeconds(5)];

    /// <summary>The commit interval of every run, the headline first.</summary>
    public IReadOnlyList<TimeSpan> CommitIntervals => Sweep
        ? [CommitInterval, .. SweepCommitIntervals.Where(i => i != CommitInterval)]
        : [CommitInterval];
}
