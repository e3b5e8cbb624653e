using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Analytics.StreamingBenchmark.Measurement;

/// <summary>
/// The silo's only logger during a run: counts warnings and worse by category and event, echoes the first few to the
/// progress output and keeps them for the report, and drops everything else (so that logging never weighs on the
/// measurement, and a storm of warnings does not flood the terminal).
/// </summary>
internal sealed class LogCollector(TextWriter progress, int echo = 10) : ILoggerProvider
{
    private readonly ConcurrentDictionary<string, long> _counts = new();
    private readonly ConcurrentQueue<string> _first = new();
    private int _seen;

    /// <summary>Warnings and worse, by "Level Category[EventId]", most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Counts => [.. _counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)];

    /// <summary>The first messages, as echoed.</summary>
    public IReadOnlyList<string> First => [.. _first];

    public long Total => _counts.Values.Sum();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Record(LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        _counts.AddOrUpdate($"{level} {category}[{eventId.Id}]", 1, (_, n) => n + 1);
        if (Interlocked.Increment(ref _seen) > echo) return;
        var line = $"{level} {category}[{eventId.Id}]: {message}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}";
        _first.Enqueue(line);
        progress.WriteLine($"[silo log] {line}");
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.Record(logLevel, category, eventId, formatter(state, exception), exception);
        }
    }
}
