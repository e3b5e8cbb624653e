using System.Diagnostics;
using System.Globalization;

namespace Analytics.TestInfrastructure;

/// <summary>
/// Waits for a condition with a deadline. Tests use this instead of fixed sleeps: a fixed sleep is either too short on a
/// slow machine (flaky) or too long on a fast one (slow), and on failure it cannot say what it was waiting for.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan FirstPollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Polls <paramref name="condition"/> until it returns true.</summary>
    /// <param name="condition">Checked at once, then with a growing interval (20 ms up to 500 ms).</param>
    /// <param name="timeout">How long to keep trying; the condition is checked once more when it has passed.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">"Timed out after Xs waiting for: <paramref name="what"/>".</exception>
    public static async Task UntilAsync(
        Func<Task<bool>> condition,
        TimeSpan timeout,
        string what,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var stopwatch = Stopwatch.StartNew();
        var interval = FirstPollInterval;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            var remaining = timeout - stopwatch.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"Timed out after {timeout.TotalSeconds:0.###}s waiting for: {what}"));
            }

            await Task.Delay(interval < remaining ? interval : remaining, cancellationToken);
            interval = interval * 2 < MaxPollInterval ? interval * 2 : MaxPollInterval;
        }
    }

    /// <summary>Polls a synchronous <paramref name="condition"/> until it returns true.</summary>
    /// <inheritdoc cref="UntilAsync(Func{Task{bool}}, TimeSpan, string, CancellationToken)"/>
    public static Task UntilAsync(
        Func<bool> condition,
        TimeSpan timeout,
        string what,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), timeout, what, cancellationToken);
    }
}
