using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Analytics.Silo.Tests.Cluster;

/// <summary>Appends log lines to a file, for diagnosing a test cluster (enabled by ANALYTICS_TEST_LOG).</summary>
public sealed class FileLoggerProvider(string path) : ILoggerProvider
{
    private static readonly Lock Gate = new();

    public ILogger CreateLogger(string categoryName) => new FileLogger(path, categoryName);

    public void Dispose()
    {
    }

    private sealed class FileLogger(string path, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}\n";
            lock (Gate) File.AppendAllText(path, line);
        }
    }
}
