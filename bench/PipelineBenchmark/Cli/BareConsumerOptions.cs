namespace Analytics.PipelineBenchmark.Cli;

/// <summary>The bare pipeline's consumer process (hidden verb <c>bare-consumer</c>, started by the <c>throughput</c> verb).</summary>
internal sealed record BareConsumerOptions
{
    /// <summary>Kafka bootstrap servers. Required.</summary>
    public required string BootstrapServers { get; init; }

    /// <summary>Topic it reads.</summary>
    public required string Topic { get; init; }

    /// <summary>Its consumer group. Default <c>bench-bare</c>.</summary>
    public required string Group { get; init; }

    /// <summary>Npgsql connection string of the database holding <c>bench_bare.raw_events</c>. Required.</summary>
    public required string Postgres { get; init; }
}
