using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.PipelineBenchmark.Cli;
using Analytics.PipelineBenchmark.Load;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>Everything the throughput benchmark measured, printed as a table and written as JSON.</summary>
internal sealed record ThroughputReport(Machine Machine, ThroughputBenchmarkOptions Options, IReadOnlyList<PipelineSearch> Searches, ThroughputStep? CpuStep) : IBenchmarkReport
{
    private PipelineSearch? Orleans => Searches.FirstOrDefault(s => s.Pipeline == "orleans");

    private PipelineSearch? Bare => Searches.FirstOrDefault(s => s.Pipeline == "bare");

    /// <summary>The headline: the Orleans pipeline's sustainable rate over the bare pipeline's.</summary>
    public double? Ratio => Orleans?.Sustainable is { } o && Bare?.Sustainable is { } b ? o / (double)b : null;

    /// <summary>The silo's process at the fixed rate: the one named so, else the first --pid.</summary>
    private ProcessCpu? SiloCpu => CpuStep?.Cpu.FirstOrDefault(c => c.Name.Contains("Silo", StringComparison.OrdinalIgnoreCase)) ?? CpuStep?.Cpu.FirstOrDefault();

    public void WriteTable(TextWriter output)
    {
        var o = Options;
        output.WriteLine();
        output.WriteLine(Invariant(
            $"sustainable throughput: steps of {o.Duration.TotalSeconds:0} s from {o.StartRate:N0}/s, ×{o.Factor:0.##} up to {o.MaxRate:N0}/s{(o.Bisect ? ", one bisection" : "")}; {o.Users:N0} users{(o.PrimeRate > 0 ? ", primed" : "")}"));
        output.WriteLine(Invariant(
            $"kept up = producer held ≥ 97 % of the rate, lag of the last 10 s ≤ max(2 s of events, lag at 2/3 of the step), every event reflected within {o.CatchUp.TotalSeconds:0} s of the last"));
        output.WriteLine();
        output.WriteLine(Invariant($"{"pipeline",-8} {"rate/s",8} {"produced/s",10} {"max lag",9} {"trend/s",8} {"reflected",9} {"µs/event",8} {"busy",5} {"load",5}  verdict"));
        foreach (var step in Searches.SelectMany(s => s.Steps))
        {
            var main = step.Cpu.FirstOrDefault()?.MicrosecondsPerEvent;
            output.WriteLine(Invariant(
                $"{step.Pipeline,-8} {step.Rate,8:N0} {step.AchievedRate,10:N0} {step.MaxLag,9:N0} {step.LagTrendPerSecond,8:+0;-0;0} {(step.CaughtUpSeconds is { } c ? Invariant($"{c:0.0} s") : "no"),9} {(main is { } us ? Invariant($"{us:0}") : "?"),8} {(step.MachineBusy is { } b ? Invariant($"{b * Machine.Cores:0.00}") : "?"),5} {(step.LoadAverage is { } l ? Invariant($"{l:0.0}") : "?"),5}  {(step.KeptUp ? "kept up" : step.Failure)}"));
        }

        output.WriteLine(Invariant($"  produced/s: acknowledged by the broker; max lag: acknowledged − stored, sampled each second; trend: slope of the lag over the last third;"));
        output.WriteLine(Invariant($"  reflected: last event → every event in every total; µs/event: CPU of the pipeline's own process (silo, bare-consumer) per event; busy: cores of {Machine.Cores} busy (any process);"));
        output.WriteLine("  load: 1-minute load average at the end of the step (above the core count, other work competed for the CPU).");
        output.WriteLine("  CPU per event of every measured process:");
        foreach (var step in Searches.SelectMany(s => s.Steps))
        {
            output.WriteLine(Invariant($"    {step.Pipeline} {step.Rate:N0}/s: {CpuText(step)}"));
        }

        output.WriteLine();
        foreach (var search in Searches)
        {
            output.WriteLine(Invariant(
                $"sustainable, {search.Pipeline}: {(search.Sustainable is { } r ? Invariant($"{(search.LowerBound ? "≥ " : "")}{r:N0} events/s") : Invariant($"none (not even {search.Steps.Min(s => s.Rate):N0}/s)"))}{(search.FirstNotKeptUp is { } bad ? Invariant($"; not kept up at {bad:N0}/s") : "")} ({search.Stopped})"));
        }

        if (Ratio is { } ratio)
        {
            var bound = Bare!.LowerBound ? " (an upper bound: the bare pipeline's rate is a lower bound)" : Orleans!.LowerBound ? " (a lower bound: the Orleans pipeline's rate is a lower bound)" : "";
            output.WriteLine(Invariant($"orleans / bare = {ratio:0.00}{bound}"));
        }

        if (CpuStep is { } cpuStep)
        {
            output.WriteLine(Invariant(
                $"silo CPU per event at {cpuStep.Rate:N0}/s ({cpuStep.ProductionSeconds:0} s, {(cpuStep.KeptUp ? "kept up" : "NOT kept up")}): {(SiloCpu?.MicrosecondsPerEvent is { } us ? Invariant($"{us:0} µs") : "not measured (no --pid)")}; all: {CpuText(cpuStep)}{(cpuStep.MachineBusy is { } b ? Invariant($"; machine {b * Machine.Cores:0.00} of {Machine.Cores} cores busy") : "")}"));
        }
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var o = Options;
        var document = new ThroughputReportJson(
            "throughput",
            DateTimeOffset.UtcNow,
            Machine,
            new ThroughputSettingsJson(
                o.Topic, o.BareTopic, o.StartRate, o.Factor, o.MaxRate, o.Bisect, o.Duration.TotalSeconds, o.CatchUp.TotalSeconds, o.CpuRate, o.Users, o.PrimeRate, o.Seed),
            [.. Searches.Select(s => new PipelineSearchJson(s.Pipeline, s.Sustainable, s.FirstNotKeptUp, s.LowerBound, s.Stopped, [.. s.Steps.Select(StepJson)]))],
            Ratio,
            CpuStep is { } c ? new FixedRateCpuJson(c.Rate, SiloCpu?.MicrosecondsPerEvent, StepJson(c)) : null);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, ReportJson.TypeInfo<ThroughputReportJson>(ThroughputReportJsonContext.Default), cancellationToken).ConfigureAwait(false);
    }

    private static ThroughputStepJson StepJson(ThroughputStep s) => new(
        s.Purpose, s.Rate, s.AchievedRate, s.Events, s.ProductionSeconds, s.MaxLag, s.LagTrendPerSecond, s.LagBounded,
        s.ReflectedNames.Select((n, i) => (n, s.Reflected[i])).ToDictionary(x => x.n, x => x.Item2),
        s.CaughtUpSeconds, s.Lost, s.KeptUp, s.Failure, s.ProducerShort,
        [.. s.Cpu.Select(p => new ProcessCpuJson(p.Pid, p.Name, p.Seconds, p.MicrosecondsPerEvent))],
        s.MachineBusy, s.LoadAverage,
        [.. s.Lag.Select(l => l.Lag)]);

    private static string CpuText(ThroughputStep step)
        => string.Join(", ", step.Cpu.Select(c => c.MicrosecondsPerEvent is { } us ? Invariant($"{Short(c.Name)} {us:0} µs") : $"{Short(c.Name)} ?"));

    private static string Short(string name) => name.StartsWith("Analytics.", StringComparison.Ordinal) ? name["Analytics.".Length..] : name;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

internal sealed record ThroughputReportJson(
    string Benchmark,
    DateTimeOffset Date,
    Machine Machine,
    ThroughputSettingsJson Settings,
    IReadOnlyList<PipelineSearchJson> Pipelines,
    double? OrleansOverBare,
    FixedRateCpuJson? SiloCpuAtFixedRate);

internal sealed record ThroughputSettingsJson(
    string Topic, string BareTopic, int StartRate, double Factor, int MaxRate, bool Bisect, double DurationSeconds, double CatchUpSeconds, int CpuRate, int Users, int PrimeRate, int Seed);

internal sealed record PipelineSearchJson(string Pipeline, int? SustainableRate, int? FirstRateNotKeptUp, bool LowerBound, string Stopped, IReadOnlyList<ThroughputStepJson> Steps);

internal sealed record ThroughputStepJson(
    string Purpose,
    int Rate,
    double ProducedPerSecond,
    long Events,
    double ProductionSeconds,
    long MaxLag,
    double LagTrendPerSecond,
    bool LagBounded,
    IReadOnlyDictionary<string, long> Reflected,
    double? CaughtUpSeconds,
    long LostMessages,
    bool KeptUp,
    string? Failure,
    bool ProducerShort,
    IReadOnlyList<ProcessCpuJson> Cpu,
    double? MachineBusyShare,
    double? LoadAverage,
    IReadOnlyList<long> LagEachSecond);

internal sealed record FixedRateCpuJson(int Rate, double? SiloCpuMicrosecondsPerEvent, ThroughputStepJson Step);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ThroughputReportJson))]
internal sealed partial class ThroughputReportJsonContext : JsonSerializerContext;
