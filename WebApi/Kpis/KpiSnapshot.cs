using Analytics.Grains.Interfaces.Funnel;

namespace Analytics.WebApi.Kpis;

/// <summary>The live totals of the pipeline, as <c>GET /api/kpis</c> returns them and the dashboard hub pushes them (<c>kpis</c>).</summary>
/// <param name="AsOf">When they were read.</param>
/// <param name="EventsPerSecond">Events stored per second over the last 10 seconds (wall clock, <c>raw_events.ingested_at</c>).</param>
/// <param name="EventsLastMinute">Events stored in the last minute.</param>
/// <param name="RawEvents">Events stored in all.</param>
/// <param name="CurrentWindowStart">The newest funnel window's start (event time); null before the first.</param>
/// <param name="CurrentWindow">That window's funnel (zeros before the first).</param>
/// <param name="LastHour">The funnel summed over the windows that started in the last hour of event time before the newest window's end (rates recomputed from the sums; unique counts are summed per window, an upper bound).</param>
/// <param name="ActiveUsers">Distinct users with an event in the 30 minutes (event time) before the newest event.</param>
/// <param name="LateEvents">Late events (not counted in their final window) over the windows of the last 24 hours.</param>
/// <param name="DeadLetters">Messages refused and kept in <c>dead_letters</c>, in all.</param>
public sealed record KpiSnapshot(
    DateTimeOffset AsOf,
    double EventsPerSecond,
    long EventsLastMinute,
    long RawEvents,
    DateTimeOffset? CurrentWindowStart,
    FunnelStepCounts CurrentWindow,
    FunnelStepCounts LastHour,
    long ActiveUsers,
    long LateEvents,
    long DeadLetters);
