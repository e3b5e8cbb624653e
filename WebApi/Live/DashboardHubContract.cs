namespace Analytics.WebApi.Live;

/// <summary>
/// What the dashboard hub (<see cref="Path"/>) sends, by method name. Payloads are JSON in camelCase.
/// <list type="bullet">
/// <item><c>snapshot</c> — right after connecting: <see cref="DashboardSnapshot"/>, the whole current picture.</item>
/// <item><c>windows</c> — funnel windows that changed: <c>FunnelWindowView[]</c> (as in <c>GET /api/funnel/windows</c>).</item>
/// <item><c>kpis</c> — <c>KpiSnapshot</c> (as <c>GET /api/kpis</c>).</item>
/// <item><c>churn</c> — <c>ChurnTotals</c> (as <c>GET /api/churn</c>).</item>
/// <item><c>health</c> — <see cref="HealthView"/>.</item>
/// </list>
/// Every kind is coalesced: at most one message of a kind per <c>Dashboard:PushInterval</c> (100 ms by default),
/// carrying the latest state, however fast things change; the pipeline never waits for a browser.
/// </summary>
public static class DashboardHubContract
{
    public const string Path = "/hubs/dashboard";
    public const string Snapshot = "snapshot";
    public const string Windows = "windows";
    public const string Kpis = "kpis";
    public const string Churn = "churn";
    public const string Health = "health";
}

/// <summary>The first message a dashboard gets.</summary>
public sealed record DashboardSnapshot(
    Kpis.KpiSnapshot? Kpis,
    IReadOnlyList<Apis.FunnelWindowView> Windows,
    Grains.Interfaces.Churn.ChurnTotals? Churn,
    HealthView? Health);

/// <summary>The pipeline's health: overall <c>Healthy</c>, <c>Degraded</c> or <c>Unhealthy</c>, and each check's.</summary>
public sealed record HealthView(string Status, IReadOnlyDictionary<string, string> Checks, DateTimeOffset AsOf);
