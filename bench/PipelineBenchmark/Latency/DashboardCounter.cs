using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace Analytics.PipelineBenchmark.Latency;

/// <summary>
/// The dashboard's number, as a SignalR client of the hub sees it: the events counted in the funnel windows it has been
/// pushed (views + cart additions + purchases of each window's total, summed over every window seen), and when each
/// push raised it. The hub sends the whole picture on connect (<c>snapshot</c>) and then the windows that changed
/// (<c>windows</c>); a window's counts only grow, so the sum is monotonic.
/// </summary>
internal sealed class DashboardCounter : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly Dictionary<DateTimeOffset, long> _countedByWindow = [];
    private readonly List<(long Timestamp, long Counted)> _raises = [];
    private readonly TaskCompletionSource _snapshot = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private long _counted;
    private long _pushes;

    private DashboardCounter(Uri baseUrl)
    {
        _connection = new HubConnectionBuilder().WithUrl(new Uri(baseUrl, "/hubs/dashboard")).Build();
        _connection.On<JsonElement>("snapshot", snapshot =>
        {
            Merge(Stopwatch.GetTimestamp(), snapshot.GetProperty("windows"));
            _snapshot.TrySetResult();
        });
        _connection.On<JsonElement>("windows", windows => Merge(Stopwatch.GetTimestamp(), windows));
    }

    /// <summary>Connects and waits for the first picture.</summary>
    public static async Task<DashboardCounter> ConnectAsync(Uri baseUrl, CancellationToken cancellationToken)
    {
        var counter = new DashboardCounter(baseUrl);
        try
        {
            await counter._connection.StartAsync(cancellationToken).ConfigureAwait(false);
            await counter._snapshot.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            return counter;
        }
        catch
        {
            await counter.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Events counted in every window pushed so far.</summary>
    public long Counted
    {
        get { lock (_lock) return _counted; }
    }

    /// <summary>Messages with windows received so far (the snapshot included).</summary>
    public long Pushes
    {
        get { lock (_lock) return _pushes; }
    }

    /// <summary>Whether the connection is up (the client does not reconnect: a drop ends the run's figures).</summary>
    public bool Connected => _connection.State == HubConnectionState.Connected;

    /// <summary>Every raise of the count since <paramref name="sinceTimestamp"/> (<see cref="Stopwatch"/> ticks), in order.</summary>
    public IReadOnlyList<(long Timestamp, long Counted)> RaisesSince(long sinceTimestamp)
    {
        lock (_lock) return [.. _raises.Where(r => r.Timestamp >= sinceTimestamp)];
    }

    /// <summary>Waits until the count reaches <paramref name="target"/>; false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitForAsync(long target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Counted < target)
        {
            if (Stopwatch.GetTimestamp() > deadline) return false;
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Waits until no push has changed the count for <paramref name="quiet"/> (at most <paramref name="timeout"/>); returns the count.</summary>
    public async Task<long> SettleAsync(TimeSpan quiet, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var last = Counted;
        var since = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(since) < quiet && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            var now = Counted;
            if (now != last)
            {
                last = now;
                since = Stopwatch.GetTimestamp();
            }
        }

        return last;
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private void Merge(long timestamp, JsonElement windows)
    {
        lock (_lock)
        {
            _pushes++;
            var before = _counted;
            foreach (var window in windows.EnumerateArray())
            {
                var total = window.GetProperty("total");
                var counted = total.GetProperty("views").GetInt64() + total.GetProperty("addToCarts").GetInt64() + total.GetProperty("purchases").GetInt64();
                var start = window.GetProperty("windowStart").GetDateTimeOffset();
                _counted += counted - _countedByWindow.GetValueOrDefault(start);
                _countedByWindow[start] = counted;
            }

            if (_counted > before) _raises.Add((timestamp, _counted));
        }
    }
}
