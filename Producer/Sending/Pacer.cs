namespace Analytics.Producer.Sending;

/// <summary>
/// Decides when a message may go out. With a speed X &gt; 0 the simulated clock advances X times faster than the wall
/// clock from the first message on, but never past the real present (from there it runs live, 1×). With a rate R &gt; 0
/// message n goes no earlier than n/R seconds after the first. Both limits apply together; 0 disables one.
/// </summary>
public sealed class Pacer
{
    private readonly double _speed;
    private readonly double _rate;
    private readonly TimeProvider _time;
    private bool _started;
    private double _wallStartMs;
    private long _clockStartMs = -1;
    private long _count;

    public Pacer(double speed, double rate, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(speed);
        ArgumentOutOfRangeException.ThrowIfNegative(rate);
        _speed = speed;
        _rate = rate;
        _time = time;
    }

    /// <summary>False when neither limit is set: nothing would ever wait.</summary>
    public bool IsActive => _speed > 0 || _rate > 0;

    /// <summary>The wall-clock time (Unix ms) at which the next message, at simulated time <paramref name="clockMs"/>
    /// (-1: unknown), may be sent. Call once per message, in order.</summary>
    public double NextDueMs(long clockMs)
    {
        if (!_started)
        {
            _started = true;
            _wallStartMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        }

        var due = double.MinValue;
        if (_speed > 0 && clockMs >= 0)
        {
            if (_clockStartMs < 0) _clockStartMs = clockMs;
            // Event time may not run ahead of the present: a message stamped in the future waits for it.
            due = Math.Max(_wallStartMs + ((clockMs - _clockStartMs) / _speed), clockMs);
        }

        if (_rate > 0) due = Math.Max(due, _wallStartMs + (_count * 1000.0 / _rate));
        _count++;
        return due;
    }

    /// <summary>Waits until the next message may be sent. Sub-millisecond waits are skipped (the schedule is
    /// absolute, so the next waits absorb them): the average rate stays exact without a timer per message.</summary>
    public ValueTask WaitAsync(long clockMs, CancellationToken cancellationToken)
    {
        var due = NextDueMs(clockMs);
        if (due == double.MinValue) return ValueTask.CompletedTask;
        var wait = due - _time.GetUtcNow().ToUnixTimeMilliseconds();
        return wait < 1
            ? ValueTask.CompletedTask
            : new ValueTask(Task.Delay(TimeSpan.FromMilliseconds(wait), _time, cancellationToken));
    }
}
