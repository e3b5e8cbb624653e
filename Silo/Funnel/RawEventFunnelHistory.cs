using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Storage;

namespace Analytics.Silo.Funnel;

/// <summary>The window grains' <see cref="IFunnelWindowHistory"/>: <c>raw_events</c>, which the ingestion sink fills before delivery.</summary>
internal sealed class RawEventFunnelHistory(FunnelStore store) : IFunnelWindowHistory
{
    public IAsyncEnumerable<WindowContribution> ReadAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
        => store.ReadWindowEventsAsync(start, end, cancellationToken);

    public IAsyncEnumerable<SessionProgress> ReadSessionsAsync(DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
        => store.ReadWindowSessionsAsync(start, end, cancellationToken);
}
