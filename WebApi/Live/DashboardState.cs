using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.WebApi.Apis;
using Analytics.WebApi.Kpis;

namespace Analytics.WebApi.Live;

/// <summary>
/// The latest picture the dashboards are shown: windows of the last <see cref="DashboardOptions.WindowSpan"/>, KPIs,
/// churn totals and health. Windows that changed since the last push are remembered until taken.
/// </summary>
public sealed class DashboardState
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<DateTimeOffset, FunnelWindowView> _windows = [];
    private readonly HashSet<DateTimeOffset> _changed = [];
    private KpiSnapshot? _kpis;
    private ChurnTotals? _churn;
    private HealthView? _health;

    public DashboardSnapshot Snapshot()
    {
        lock (_gate) return new DashboardSnapshot(_kpis, [.. _windows.Values], _churn, _health);
    }

    /// <summary>Keeps <paramref name="windows"/> where they are newer than what is held, marks them changed, and forgets windows older than <paramref name="since"/>.</summary>
    public void ApplyWindows(IEnumerable<FunnelWindowSnapshot> windows, DateTimeOffset since)
    {
        lock (_gate)
        {
            foreach (var window in windows)
            {
                if (window.WindowStart < since) continue;
                _windows[window.WindowStart] = FunnelWindowView.From(window);
                _changed.Add(window.WindowStart);
            }

            while (_windows.Count > 0 && _windows.First().Key < since) _windows.Remove(_windows.First().Key);
        }
    }

    /// <summary>The windows changed since the last call, oldest first; empty when none.</summary>
    public IReadOnlyList<FunnelWindowView> TakeChangedWindows()
    {
        lock (_gate)
        {
            if (_changed.Count == 0) return [];
            var changed = _changed.Where(_windows.ContainsKey).Order().Select(start => _windows[start]).ToList();
            _changed.Clear();
            return changed;
        }
    }

    public void SetKpis(KpiSnapshot kpis)
    {
        lock (_gate) _kpis = kpis;
    }

    /// <summary>True when <paramref name="churn"/> differs from what was held.</summary>
    public bool SetChurn(ChurnTotals churn)
    {
        lock (_gate)
        {
            if (_churn is not null && _churn.ScoredAt == churn.ScoredAt && _churn.ModelVersion == churn.ModelVersion) return false;
            _churn = churn;
            return true;
        }
    }

    /// <summary>True when <paramref name="health"/>'s statuses differ from what was held.</summary>
    public bool SetHealth(HealthView health)
    {
        lock (_gate)
        {
            var same = _health is not null && _health.Status == health.Status && _health.Checks.Count == health.Checks.Count
                && _health.Checks.All(c => health.Checks.TryGetValue(c.Key, out var s) && s == c.Value);
            _health = health;
            return !same;
        }
    }
}
