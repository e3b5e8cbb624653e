using System.Diagnostics;
using System.Globalization;

namespace Analytics.Producer.Sending;

/// <summary>
/// The sending loop: takes messages from a source in order, paces them, hands them to a sink, reports progress, and
/// on a stop request (wall-clock limit or Ctrl+C) stops the source, sends what it still holds, and flushes.
/// </summary>
public sealed class ProducerRunner
{
    private readonly IMessageSource _source;
    private readonly IMessageSink _sink;
    private readonly SendStatistics _statistics;
    private readonly Pacer? _pacer;
    private readonly TimeProvider _time;

    public ProducerRunner(IMessageSource source, IMessageSink sink, SendStatistics statistics, Pacer? pacer, TimeProvider time)
    {
        _source = source;
        _sink = sink;
        _statistics = statistics;
        _pacer = pacer is { IsActive: true } ? pacer : null;
        _time = time;
    }

    /// <summary>Stop making new messages after this much wall-clock time (null: no limit).</summary>
    public TimeSpan? WallClockLimit { get; init; }

    /// <summary>Where progress lines go (null: nowhere).</summary>
    public TextWriter? Progress { get; init; }

    /// <summary>Time between two progress lines. Default 2 s.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Runs to the end of the source or until <paramref name="stop"/>; returns the wall-clock time taken.</summary>
    /// <param name="stop">Stop generating (then drain and flush).</param>
    /// <param name="abort">Give up waiting for deliveries.</param>
    public async Task<TimeSpan> RunAsync(CancellationToken stop, CancellationToken abort = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (WallClockLimit is { } limit) halt.CancelAfter(limit);
        using var reporting = new CancellationTokenSource();
        var reporter = Progress is null ? Task.CompletedTask : ReportAsync(Progress, started, reporting.Token);

        var stopped = false;
        while (_source.TryNext(out var message))
        {
            if (!stopped && halt.IsCancellationRequested) Stop();
            if (!stopped && _pacer is not null)
            {
                try
                {
                    await _pacer.WaitAsync(message.ClockMs, halt.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Stop();
                }
            }

            _sink.Send(message);
            _statistics.OnSent(message);
        }

        await _sink.FlushAsync(abort).ConfigureAwait(false);
        await reporting.CancelAsync().ConfigureAwait(false);
        await reporter.ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started);

        void Stop()
        {
            stopped = true;
            _source.Stop();
        }
    }

    /// <summary>Writes the end-of-run summary.</summary>
    public static void WriteSummary(TextWriter output, SendStatistics statistics, TimeSpan elapsed, bool kafka)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-6);
        var sent = statistics.Sent;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"summary: {sent:N0} messages in {elapsed.TotalSeconds:0.00} s ({sent / seconds:N0}/s)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  valid {statistics.Count(MessageKind.Valid):N0}, late {statistics.Count(MessageKind.Late):N0}, duplicate {statistics.Count(MessageKind.Duplicate):N0}, malformed {statistics.Count(MessageKind.Malformed):N0}, replayed {statistics.Count(MessageKind.Replayed):N0}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {(kafka ? "delivered" : "written")} {statistics.Delivered:N0}, errors {statistics.Failed:N0}{(statistics.FirstError is { } e ? $" (first: {e})" : "")}"));
    }

    private async Task ReportAsync(TextWriter output, long started, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ProgressInterval, _time);
        var lastSent = 0L;
        var lastAt = started;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Stopwatch.GetTimestamp();
                var sent = _statistics.Sent;
                var rate = (sent - lastSent) / Math.Max(Stopwatch.GetElapsedTime(lastAt, now).TotalSeconds, 1e-6);
                (lastSent, lastAt) = (sent, now);
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"progress: sent {sent:N0} ({rate:N0}/s), delivered {_statistics.Delivered:N0}, errors {_statistics.Failed:N0}");
                if (_statistics.ClockMs is >= 0 and var clock)
                {
                    var lag = _time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(clock);
                    line += string.Create(CultureInfo.InvariantCulture,
                        $", event time {DateTimeOffset.FromUnixTimeMilliseconds(clock):yyyy-MM-dd'T'HH:mm:ss'Z'}, lag {FormatLag(lag)}");
                }

                output.WriteLine(line);
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    private static string FormatLag(TimeSpan lag)
    {
        var sign = lag < TimeSpan.Zero ? "-" : "";
        lag = lag.Duration();
        return lag.TotalDays >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{sign}{(int)lag.TotalDays}d {lag:hh\\:mm\\:ss}")
            : string.Create(CultureInfo.InvariantCulture, $"{sign}{lag:hh\\:mm\\:ss}");
    }
}
