using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.PipelineBenchmark.Cli;
using Analytics.PipelineBenchmark.Load;

namespace Analytics.PipelineBenchmark.Latency;

/// <summary>Everything the latency benchmark measured, printed as a table and written as JSON.</summary>
internal sealed record LatencyReport(Machine Machine, LatencyBenchmarkOptions Options, IReadOnlyList<LatencyStep> Steps) : IBenchmarkReport
{
    /// <summary>The target of the issue: the dashboard shows an event within a second at the 99th percentile.</summary>
    public const double TargetP99Seconds = 1.0;

    public string? Failure => Steps.FirstOrDefault(s => s.Uncounted > 0) is { } step
        ? Invariant($"at {step.Rate:N0} events/s, {step.Uncounted:N0} of the {step.MeasuredEvents:N0} measured events were not counted by the dashboard {Options.DrainTimeout.TotalSeconds:0} s after the last one was produced (--drain-timeout)")
        : null;

    public void WriteTable(TextWriter output)
    {
        var o = Options;
        output.WriteLine();
        output.WriteLine(Invariant($"event-to-dashboard latency: {o.Users:N0} users, warm-up {o.WarmUp.TotalSeconds:0} s then {o.Duration.TotalSeconds:0} s measured per rate; producer linger {o.LingerMs} ms; hub {o.Url}hubs/dashboard"));
        output.WriteLine();
        output.WriteLine(Invariant($"{"rate/s",8} {"produced/s",10} {"measured",10} | {"p50",6} {"p90",6} {"p99",6} {"p99.9",6} {"max",6} ms | {"pushes/s",8} {"caught up",9} | {"p99 < 1 s",9}"));
        foreach (var s in Steps)
        {
            var l = s.Latencies;
            var p99 = l.ValueAtQuantile(0.99) / 1e6;
            output.WriteLine(Invariant(
                $"{s.Rate,8:N0} {s.AchievedRate,10:N0} {l.Count,10:N0} | {Ms(l.ValueAtQuantile(0.5)),6:0} {Ms(l.ValueAtQuantile(0.9)),6:0} {Ms(l.ValueAtQuantile(0.99)),6:0} {Ms(l.ValueAtQuantile(0.999)),6:0} {Ms(l.MaxMicroseconds),6:0}    | {s.PushesPerSecond,8:0.0} {(s.CaughtUpSeconds is { } c ? Invariant($"{c:0.00} s") : "never"),9} | {(s.Uncounted > 0 ? "lost" : p99 < TargetP99Seconds ? "yes" : "no"),9}"));
        }

        output.WriteLine("  latency: event handed to the Kafka client → first push to a SignalR client of /hubs/dashboard whose window counts include it (count-based: the");
        output.WriteLine("  k-th event is on the page once the count reaches k). caught up: last event produced → every event of the step counted.");
        foreach (var s in Steps)
        {
            var cpu = string.Join(", ", s.Cpu.Select(p => p.MicrosecondsPerEvent is { } us ? Invariant($"{p.Name} {us:0} µs") : Invariant($"{p.Name} ?")));
            output.WriteLine(Invariant(
                $"  {s.Rate:N0}/s: CPU per event{(cpu.Length == 0 ? " not measured (no --pid)" : ": " + cpu)}{(s.MachineBusy is { } b ? $"; machine {b * Machine.Cores:0.00} of {Machine.Cores} cores busy" : "")}{(s.LoadAverage is { } load ? $", load average {load:0.0}" : "")}"));
        }
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var o = Options;
        var document = new LatencyReportJson(
            "latency",
            DateTimeOffset.UtcNow,
            Machine,
            new LatencySettingsJson(o.Url.AbsoluteUri, o.Topic, o.Users, o.WarmUp.TotalSeconds, o.Duration.TotalSeconds, o.DrainTimeout.TotalSeconds, o.Seed, o.LingerMs),
            [.. Steps.Select(s => new LatencyStepJson(
                s.Rate, s.AchievedRate, s.Events, s.MeasuredEvents, s.Delivered, s.Counted, s.Uncounted, s.CaughtUpSeconds, s.PushesPerSecond,
                new LatencyJson(
                    Ms(s.Latencies.ValueAtQuantile(0.5)), Ms(s.Latencies.ValueAtQuantile(0.9)), Ms(s.Latencies.ValueAtQuantile(0.99)),
                    Ms(s.Latencies.ValueAtQuantile(0.999)), Ms(s.Latencies.MaxMicroseconds), s.Latencies.Count == 0 ? 0 : Ms(s.Latencies.MinMicroseconds), s.Latencies.MeanMicroseconds / 1000),
                s.Uncounted == 0 && s.Latencies.ValueAtQuantile(0.99) / 1e6 < TargetP99Seconds,
                [.. s.Cpu.Select(p => new ProcessCpuJson(p.Pid, p.Name, p.Seconds, p.MicrosecondsPerEvent))],
                s.MachineBusy,
                s.LoadAverage))],
            Failure);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, ReportJson.TypeInfo<LatencyReportJson>(LatencyReportJsonContext.Default), cancellationToken).ConfigureAwait(false);
    }

    private static double Ms(long microseconds) => microseconds / 1000.0;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

internal sealed record LatencyReportJson(string Benchmark, DateTimeOffset Date, Machine Machine, LatencySettingsJson Settings, IReadOnlyList<LatencyStepJson> Steps, string? Error);

internal sealed record LatencySettingsJson(string Url, string Topic, int Users, double WarmUpSeconds, double DurationSeconds, double DrainTimeoutSeconds, int Seed, int LingerMs);

internal sealed record LatencyStepJson(
    int Rate,
    double ProducedPerSecond,
    long Events,
    long MeasuredEvents,
    long Delivered,
    long Counted,
    long Uncounted,
    double? CaughtUpSeconds,
    double PushesPerSecond,
    LatencyJson LatencyMs,
    bool P99UnderOneSecond,
    IReadOnlyList<ProcessCpuJson> Cpu,
    double? MachineBusyShare,
    double? LoadAverage);

internal sealed record LatencyJson(double P50, double P90, double P99, double P999, double Max, double Min, double Mean);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(LatencyReportJson))]
internal sealed partial class LatencyReportJsonContext : JsonSerializerContext;
