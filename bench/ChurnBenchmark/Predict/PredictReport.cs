using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.ChurnBenchmark.Cli;

namespace Analytics.ChurnBenchmark.Predict;

/// <summary>CPU use of one process over the measured window.</summary>
/// <param name="Pid">The process.</param>
/// <param name="Name">What it runs (its .dll).</param>
/// <param name="CoresBusy">CPU seconds per second of the window; null when the process could not be read (gone, not Linux).</param>
internal sealed record ProcessCpu(int Pid, string Name, double? CoresBusy)
{
    public static ProcessCpu Between(int pid, IReadOnlyDictionary<int, double?> before, IReadOnlyDictionary<int, double?> after, double seconds)
        => new(pid, CpuProbe.Describe(pid), before.GetValueOrDefault(pid) is { } b && after.GetValueOrDefault(pid) is { } a && seconds > 0 ? (a - b) / seconds : null);
}

/// <summary>Everything the prediction load benchmark measured, printed as a table and written as JSON.</summary>
internal sealed record PredictReport(
    Machine Machine,
    PredictBenchmarkOptions Options,
    string Users,
    Uri Endpoint,
    double Seconds,
    LatencyHistogram Latency,
    IReadOnlyDictionary<int, long> Statuses,
    IReadOnlyDictionary<string, long> Failures,
    string? FirstAnswer,
    string? FirstAnswerProblem,
    long TotalRequests,
    IReadOnlyList<ProcessCpu> Processes,
    ProcessCpu LoadGenerator,
    long LoadGeneratorAllocatedBytes,
    double? MachineCoresBusy,
    double? LoadAverage) : IBenchmarkReport
{
    private long Requests => Latency.Count;

    private long Ok => Statuses.GetValueOrDefault(200);

    private double OkShare => Requests == 0 ? 0 : Ok / (double)Requests;

    private double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;

    private double AllocatedPerRequest => Requests > 0 ? LoadGeneratorAllocatedBytes / (double)Requests : 0;

    public string? Failure =>
        FirstAnswerProblem
        ?? (Requests == 0 ? "no request completed in the measured window"
            : FirstAnswer is null ? Invariant($"no answer with status 200 at all ({Describe(Statuses, Failures)})")
            : OkShare < PredictBenchmarkOptions.RequiredSuccessRate
                ? Invariant($"only {OkShare:P2} of the {Requests:N0} requests were answered with 200 (at least {PredictBenchmarkOptions.RequiredSuccessRate:P0} required): {Describe(Statuses, Failures)}")
                : null);

    public void WriteTable(TextWriter output)
    {
        var o = Options;
        output.WriteLine();
        output.WriteLine(Invariant($"predict benchmark: POST {Endpoint}, {Users}, concurrency {o.Concurrency} (closed loop), warm-up {o.WarmUp.TotalSeconds:0.#} s, measured {Seconds:0.#} s"));
        if (FirstAnswer is not null) output.WriteLine($"  first 200 answer: {Shorten(FirstAnswer, 200)}{(FirstAnswerProblem is null ? "" : "  ← " + FirstAnswerProblem)}");
        output.WriteLine();
        output.WriteLine(Invariant($"{"requests",10} {"req/s",8} | {"p50",7} {"p90",7} {"p99",7} {"p99.9",7} {"max",7} {"mean",7} ms | {"200",7} {"not 200",8}"));
        output.WriteLine(Invariant(
            $"{Requests,10:N0} {RequestsPerSecond,8:N0} | {Ms(Latency.ValueAtQuantile(0.5)),7:0.00} {Ms(Latency.ValueAtQuantile(0.9)),7:0.00} {Ms(Latency.ValueAtQuantile(0.99)),7:0.00} {Ms(Latency.ValueAtQuantile(0.999)),7:0.00} {Ms(Latency.MaxMicroseconds),7:0.00} {Latency.MeanMicroseconds / 1000,7:0.00}    | {OkShare,7:P2} {Requests - Ok,8:N0}"));
        output.WriteLine($"  answers: {Describe(Statuses, Failures)}");
        output.WriteLine("  latency: send to last byte of the answer, of requests completed in the window (closed loop: service time at this concurrency, not an open-loop arrival rate); HDR-style buckets, within 0.8 %.");
        output.WriteLine(Invariant($"  requests in all, warm-up included: {TotalRequests:N0}"));
        foreach (var p in Processes.Append(LoadGenerator))
        {
            output.WriteLine(p.CoresBusy is { } cores
                ? Invariant($"  CPU {p.Name} (pid {p.Pid}): {cores:0.00} cores busy = {(RequestsPerSecond > 0 ? cores * 1e6 / RequestsPerSecond : 0):N0} CPU-µs/request{(p == LoadGenerator ? $", {AllocatedPerRequest:N0} B allocated/request" : "")}")
                : Invariant($"  CPU {p.Name} (pid {p.Pid}): not measured (the process could not be read)"));
        }

        if (MachineCoresBusy is { } busy) output.WriteLine(Invariant($"  machine: {busy:0.00} of {Machine.Cores} cores busy over the window{(LoadAverage is { } load ? $", load average {load:0.0}" : "")}"));
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var o = Options;
        var document = new PredictReportJson(
            "predict",
            DateTimeOffset.UtcNow,
            Machine,
            new PredictSettingsJson(Endpoint.AbsoluteUri, Users, o.UserIdsFile, o.Concurrency, o.WarmUp.TotalSeconds, o.Duration.TotalSeconds, o.RequestTimeout.TotalSeconds, o.Seed),
            Seconds,
            Requests,
            RequestsPerSecond,
            new LatencyJson(
                Ms(Latency.ValueAtQuantile(0.5)),
                Ms(Latency.ValueAtQuantile(0.9)),
                Ms(Latency.ValueAtQuantile(0.99)),
                Ms(Latency.ValueAtQuantile(0.999)),
                Ms(Latency.MaxMicroseconds),
                Latency.Count == 0 ? 0 : Ms(Latency.MinMicroseconds),
                Latency.MeanMicroseconds / 1000),
            Statuses.ToDictionary(s => s.Key.ToString(CultureInfo.InvariantCulture), s => s.Value),
            Failures,
            OkShare,
            TotalRequests,
            FirstAnswer,
            FirstAnswerProblem,
            [.. Processes.Append(LoadGenerator).Select(p => new ProcessCpuJson(p.Pid, p.Name, p.CoresBusy, p.CoresBusy is { } c && RequestsPerSecond > 0 ? c * 1e6 / RequestsPerSecond : null))],
            AllocatedPerRequest,
            MachineCoresBusy,
            LoadAverage,
            Failure);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, ReportJson.TypeInfo<PredictReportJson>(PredictReportJsonContext.Default), cancellationToken).ConfigureAwait(false);
    }

    private static string Describe(IReadOnlyDictionary<int, long> statuses, IReadOnlyDictionary<string, long> failures)
    {
        var parts = statuses.Select(s => Invariant($"{(s.Key == 0 ? "other" : s.Key.ToString(CultureInfo.InvariantCulture))} × {s.Value:N0}"))
            .Concat(failures.Select(f => Invariant($"{f.Key} × {f.Value:N0}")))
            .ToList();
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    private static double Ms(long microseconds) => microseconds / 1000.0;

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

internal sealed record PredictReportJson(
    string Benchmark,
    DateTimeOffset Date,
    Machine Machine,
    PredictSettingsJson Settings,
    double Seconds,
    long Requests,
    double RequestsPerSecond,
    LatencyJson LatencyMs,
    IReadOnlyDictionary<string, long> Statuses,
    IReadOnlyDictionary<string, long> Failures,
    double Status200Share,
    long RequestsWithWarmUp,
    string? FirstAnswer,
    string? FirstAnswerProblem,
    IReadOnlyList<ProcessCpuJson> Cpu,
    double LoadGeneratorAllocatedBytesPerRequest,
    double? MachineCoresBusy,
    double? LoadAverage,
    string? Error);

internal sealed record PredictSettingsJson(string Endpoint, string Users, string? UserIdsFile, int Concurrency, double WarmUpSeconds, double DurationSeconds, double RequestTimeoutSeconds, int Seed);

internal sealed record LatencyJson(double P50, double P90, double P99, double P999, double Max, double Min, double Mean);

internal sealed record ProcessCpuJson(int Pid, string Name, double? CoresBusy, double? CpuMicrosecondsPerRequest);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PredictReportJson))]
internal sealed partial class PredictReportJsonContext : JsonSerializerContext;
