using Analytics.Grains.Interfaces.Funnel;

namespace Analytics.Grains.Funnel;

/// <summary>The stored events of a window, for a window grain that must rebuild its counts.</summary>
public interface IFunnelWindowHistory
{
    /// <summary>Every stored event with an event time in [<paramref name="start"/>, <paramref name="end"/>), in Kafka order (topic epoch, partition, offset).</summary>
    IAsyncEnumerable<WindowContribution> ReadAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken);

    /// <summary>The ordered-funnel progress of every stored session whose first view is in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    IAsyncEnumerable<SessionProgress> ReadSessionsAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken);
}

/// <summary>Where window grains publish their funnels: <c>funnel_summary</c> and live consumers. Must not block.</summary>
public interface IFunnelWindowSink
{
    /// <summary>The latest funnel of a window; a newer one of the same window replaces it.</summary>
    void Publish(FunnelWindowSnapshot snapshot);
}

/// <summary>Hands the events user grains apply to their windows.</summary>
public interface IFunnelContributions
{
    /// <summary>
    /// Returns once every window concerned has taken its contributions (counted, replayed or late) and session
    /// progress (each to the window of the session's first view).
    /// </summary>
    Task ContributeAsync(IReadOnlyList<WindowContribution> contributions, IReadOnlyList<SessionProgress> sessions, CancellationToken cancellationToken = default);
}
