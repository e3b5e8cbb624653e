namespace Analytics.Producer.Simulation;

/// <summary>What the shop simulation generates. Same settings (with the same <see cref="Start"/>) → same events.</summary>
public sealed record SimulationSettings
{
    /// <summary>Seed of every random choice. Default 42.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Number of users <c>user_1</c> … <c>user_N</c>. Default 1000.</summary>
    public int Users { get; init; } = 1000;

    /// <summary>Number of products in the catalogue. Default 500.</summary>
    public int Products { get; init; } = 500;

    /// <summary>Event time at which the simulation begins (sessions start after it). Truncated to milliseconds.</summary>
    public required DateTimeOffset Start { get; init; }

    /// <summary>Mean sessions per day per active user over the persona mix. Default 3.</summary>
    public double SessionsPerDay { get; init; } = 3;

    /// <summary>Churning users churn at a time drawn within this span after <see cref="Start"/>. Default 30 days.</summary>
    public TimeSpan ChurnHorizon { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Stop after this many valid events (null: no limit).</summary>
    public long? MaxEvents { get; init; }

    /// <summary>Stop at <see cref="Start"/> + this event-time span (null: no limit).</summary>
    public TimeSpan? EventTimeSpan { get; init; }
}

/// <summary>Imperfections mixed into the stream; each a fraction of the valid events, 0 by default.</summary>
/// <param name="LateFraction">Share of events held back and sent 3–60 minutes (event time) after their position.</param>
/// <param name="DuplicateFraction">Share of events sent a second time, byte-identical, 1 s–5 min (event time) later.</param>
/// <param name="MalformedFraction">For this share of events an extra payload that the contract rejects is sent.</param>
public sealed record ImperfectionSettings(double LateFraction = 0, double DuplicateFraction = 0, double MalformedFraction = 0)
{
    public static ImperfectionSettings None { get; } = new();
}
