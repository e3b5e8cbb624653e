namespace Analytics.ChurnBenchmark.Cli;

/// <summary>One run of the training benchmark (verb <c>training</c>), as the command line describes it.</summary>
internal sealed record TrainingBenchmarkOptions
{
    /// <summary>
    /// A PostgreSQL server where the benchmark may create and drop a database (a superuser, or a role with CREATEDB);
    /// the database it names is only the one connected to for that. Required.
    /// </summary>
    public required string Postgres { get; init; }

    /// <summary>Simulated users <c>user_1</c>..<c>user_N</c>. Default 100,000.</summary>
    public required int Users { get; init; }

    /// <summary>Days of simulated history from <see cref="Start"/>. Default 14.</summary>
    public required int Days { get; init; }

    /// <summary>
    /// Mean sessions per day per active user (the simulator's <c>--sessions-per-day</c>). Default 0.5, a sixth of the
    /// simulator's 3, so that 100,000 users × 14 days are ~5 million events: loading the simulator's full density
    /// (~30 million) would take far longer than training on it.
    /// </summary>
    public required double SessionsPerDay { get; init; }

    /// <summary>Churning users churn within this span after <see cref="Start"/> (the simulator's <c>--churn-horizon</c>). Default 14 days.</summary>
    public required TimeSpan ChurnHorizon { get; init; }

    /// <summary>The label horizon H: churned = no event in (cutoff, cutoff + H]; cutoff = newest event − H. Default 3 days.</summary>
    public required TimeSpan Horizon { get; init; }

    /// <summary>Seed of the simulator and of the trainer. Default 42.</summary>
    public required int Seed { get; init; }

    /// <summary>Share of the users held out for the metrics. Default 0.2, as the Trainer's.</summary>
    public required double TestFraction { get; init; }

    /// <summary>Event time at which the simulated history begins; a fixed date by default, so runs are reproducible.</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>Events per binary COPY transaction. Default 500,000.</summary>
    public required int CopyBatch { get; init; }

    /// <summary>Where the JSON result goes; none by default.</summary>
    public string? Output { get; init; }

    /// <summary>The default of <see cref="Start"/>.</summary>
    public static DateTimeOffset DefaultStart { get; } = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
