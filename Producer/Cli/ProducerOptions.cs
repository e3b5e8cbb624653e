using Confluent.Kafka;

namespace Analytics.Producer.Cli;

/// <summary>Everything the command line decides, validated. See <see cref="ProducerCli"/> for the semantics.</summary>
public sealed record ProducerOptions
{
    public required string BootstrapServers { get; init; }

    public string Topic { get; init; } = "user_events";

    public int Users { get; init; } = 1000;

    public int Products { get; init; } = 500;

    /// <summary>Events per wall-clock second at most; 0 = no cap.</summary>
    public double Rate { get; init; }

    /// <summary>Valid events to generate (or lines to replay); null = no limit.</summary>
    public long? Events { get; init; }

    /// <summary>Wall-clock run time when sending; event-time span with <see cref="Output"/>; null = no limit (with
    /// <see cref="Output"/> and no <see cref="Events"/> either: up to now).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Event time at which the simulation begins (UTC, whole milliseconds).</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>Event time runs this many times faster than wall-clock time (never past now); 0 = no event-time pacing.</summary>
    public double Speed { get; init; } = 1;

    public long Seed { get; init; } = 42;

    public double SessionsPerDay { get; init; } = 3;

    public TimeSpan ChurnHorizon { get; init; } = TimeSpan.FromDays(30);

    public double LateFraction { get; init; }

    public double DuplicateFraction { get; init; }

    public double MalformedFraction { get; init; }

    /// <summary>Write NDJSON here instead of sending (<c>-</c> = standard output).</summary>
    public string? Output { get; init; }

    /// <summary>Replay this NDJSON file instead of simulating.</summary>
    public string? FromFile { get; init; }

    /// <summary>Write the per-user truth (JSON lines) here at the end.</summary>
    public string? Truth { get; init; }

    public CompressionType Compression { get; init; } = CompressionType.Lz4;

    /// <summary>How long the Kafka client waits to fill a batch (linger.ms). Default 5 ms.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>No progress lines (the summary is still written).</summary>
    public bool Quiet { get; init; }
}

/// <summary>Process exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Everything sent (or written) and delivered.</summary>
    public const int Ok = 0;

    /// <summary>At least one delivery failed, or an I/O error stopped the run.</summary>
    public const int Failed = 1;

    /// <summary>An option value is invalid (the message names it).</summary>
    public const int Usage = 2;

    /// <summary>The Kafka cluster did not answer within --connect-timeout.</summary>
    public const int KafkaUnreachable = 3;
}
