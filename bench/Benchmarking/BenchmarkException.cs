namespace Analytics.Benchmarking;

/// <summary>The run cannot give a measurement (a failed check, too many errors): reported as an error, exit code 1.</summary>
public sealed class BenchmarkException(string message) : Exception(message);
