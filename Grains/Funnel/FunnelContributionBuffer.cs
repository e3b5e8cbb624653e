using System.Collections.Concurrent;
using Analytics.Grains.Interfaces.Funnel;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Analytics.Grains.Funnel;

/// <summary>
/// A silo's pipe from user grains to window grains. Every user grain of the silo adds the events it applied; per window,
/// one call is in flight at a time and everything that arrived meanwhile goes in the next one (group commit), so a
/// window takes a few hundred calls per second per silo at most however many events and users there are (each call
/// waits <see cref="FunnelOptions.ContributionLinger"/> to gather more), and a quiet system still answers within that
/// linger and one round trip.
/// </summary>
/// <remarks>
/// A caller's task completes when the window has taken its contributions. User grains wait for that before they
/// return from delivery, so a Kafka offset is committed, and the watermark moves, only past events the windows have.
/// A failed call is retried with back-off (the window ignores what it counted already), for up to a minute; then the
/// callers get the error.
/// </remarks>
public sealed partial class FunnelContributionBuffer(
    IGrainFactory grains,
    IOptions<FunnelOptions> options,
    ILogger<FunnelContributionBuffer> logger) : IFunnelContributions, IDisposable
{
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromMinutes(1);
    private readonly FunnelWindowing _windowing = new(options.Value.WindowSize);
    private readonly int _batchSize = options.Value.ContributionBatchSize;
    private readonly TimeSpan _linger = options.Value.ContributionLinger;
    private readonly ConcurrentDictionary<long, WindowQueue> _windows = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly GrainReferences<IFunnelWindowGrain> _windowGrains = new(grains);

    public Task ContributeAsync(IReadOnlyList<WindowContribution> contributions, IReadOnlyList<SessionProgress> sessions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contributions);
        ArgumentNullException.ThrowIfNull(sessions);
        if (contributions.Count == 0 && sessions.Count == 0) return Task.CompletedTask;

        // The usual call: one event, and at most the progress of its session, in the same window.
        if (contributions.Count <= 1 && sessions.Count <= 1)
        {
            var eventWindow = contributions.Count == 1 ? WindowOf(contributions[0].EventTime) : (long?)null;
            var sessionWindow = sessions.Count == 1 ? WindowOf(sessions[0].FirstView) : (long?)null;
            if (eventWindow is null || sessionWindow is null || eventWindow == sessionWindow)
            {
                return Enqueue(eventWindow ?? sessionWindow!.Value, contributions, sessions);
            }
        }

        var events = contributions.ToLookup(c => WindowOf(c.EventTime));
        var progress = sessions.ToLookup(p => WindowOf(p.FirstView));
        return Task.WhenAll(events.Select(e => e.Key).Union(progress.Select(p => p.Key))
            .Select(window => Enqueue(window, [.. events[window]], [.. progress[window]])));
    }

    private long WindowOf(DateTimeOffset time) => FunnelWindowKey.Of(_windowing.StartOf(time));

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private Task Enqueue(long window, IReadOnlyList<WindowContribution> contributions, IReadOnlyList<SessionProgress> sessions)
    {
        while (true)
        {
            var queue = _windows.GetOrAdd(window, key => new WindowQueue(key));
            lock (queue)
            {
                if (queue.Retired) continue; // its sender just finished and removed it: use a new one
                queue.Pending.AddRange(contributions);
                queue.Sessions.AddRange(sessions);
                queue.Completion ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var completion = queue.Completion.Task;
                if (!queue.Sending)
                {
                    queue.Sending = true;
                    _ = Task.Run(() => SendAsync(queue)); // off the calling grain's scheduler: the loop outlives the call
                }

                return completion;
            }
        }
    }

    private async Task SendAsync(WindowQueue queue)
    {
        var window = _windowGrains.Get(queue.Window);
        while (true)
        {
            // Not cancelled with the silo: the callers waiting on this queue are answered either way.
            if (_linger > TimeSpan.Zero) await Task.Delay(_linger);
            List<WindowContribution> batch;
            List<SessionProgress> sessions;
            TaskCompletionSource completion;
            lock (queue)
            {
                if (queue.Pending.Count == 0 && queue.Sessions.Count == 0)
                {
                    queue.Sending = false;
                    queue.Retired = true;
                    _windows.TryRemove(new KeyValuePair<long, WindowQueue>(queue.Window, queue));
                    return;
                }

                batch = queue.Pending;
                sessions = queue.Sessions;
                completion = queue.Completion!;
                queue.Pending = [];
                queue.Sessions = [];
                queue.Completion = null;
            }

            try
            {
                // Sessions go with the first slice, so that a lone session update is one call too.
                for (var offset = 0; offset == 0 || offset < batch.Count; offset += _batchSize)
                {
                    await SendWithRetriesAsync(window, queue.Window, batch.GetRange(offset, Math.Min(_batchSize, batch.Count - offset)), offset == 0 ? sessions : []);
                }

                completion.TrySetResult();
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        }
    }

    private async Task SendWithRetriesAsync(IFunnelWindowGrain window, long key, List<WindowContribution> batch, List<SessionProgress> sessions)
    {
        var started = DateTimeOffset.UtcNow;
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await window.ApplyAsync(batch, sessions);
                return;
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested && DateTimeOffset.UtcNow - started < GiveUpAfter)
            {
                LogRetrying(logger, FunnelWindowKey.StartOf(key), batch.Count + sessions.Count, attempt, delay, ex.GetType().Name, ex.Message);
                await Task.Delay(delay, _stopping.Token);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }

    private sealed class WindowQueue(long window)
    {
        public long Window { get; } = window;

        public List<WindowContribution> Pending { get; set; } = [];

        public List<SessionProgress> Sessions { get; set; } = [];

        /// <summary>Completes when <see cref="Pending"/> and <see cref="Sessions"/> have been taken by the window.</summary>
        public TaskCompletionSource? Completion { get; set; }

        public bool Sending { get; set; }

        public bool Retired { get; set; }
    }

    [LoggerMessage(EventId = 3410, Level = LogLevel.Warning, Message = "Funnel window {WindowStart:O} did not take {Count} contributions (attempt {Attempt}, {ErrorType}: {Error}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, DateTimeOffset windowStart, int count, int attempt, TimeSpan delay, string errorType, string error);
}
