namespace Analytics.StreamingBenchmark;

/// <summary>The run cannot give a measurement (lost data, a timeout): reported as an error, exit code 1.</summary>
internal sealed class BenchmarkException(string message) : Exception(message);
