using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.StreamingBenchmark.Cli;
using Analytics.StreamingBenchmark.Measurement;
using Analytics.StreamingBenchmark.Phases;
using Analytics.StreamingBenchmark.Workload;

namespace Analytics.StreamingBenchmark.Report;

/// <summary>Everything one run measured, printed as a table and written as JSON.</summary>
internal sealed class BenchmarkReport(
    Machine machine, BenchmarkOptions options, DataSet dataSet, PhaseResult plain, OrleansRun orleans, IReadOnlyList<OrleansRun> sweep, IReadOnlyList<SweepFailure> sweepFailures) : IBenchmarkReport
{
    /// <summary>The issue's "done when": the provider's rate.</summary>
    public const double TargetEventsPerSecond = 100_000;

    /// <summary>The issue's "done when": the provider's least share of the plain consumer's rate, in percent.</summary>
    public const double TargetRatioPercent = 30;

    /// <summary>The headline: first event to last, grain activations included.</summary>
    public double RatioPercent => Ratio(orleans.Result.Run, plain.Run);

    /// <summary>After the warm-up, every grain active; null without a steady window.</summary>
    public double? SteadyRatioPercent => orleans.Result.Steady is { } o && plain.Steady is { } p ? Ratio(o, p) : null;

    public void WriteTable(TextWriter output)
    {
        var o = orleans.Result;
        output.WriteLine();
        output.WriteLine(Invariant($"streaming benchmark: {dataSet.Events:N0} events, {options.Users:N0} users ({dataSet.DistinctUsers:N0} with events), {options.Partitions} partitions, seed {options.Seed}"));
        output.WriteLine(Invariant($"  data set: {(dataSet.WarmUpEvents > 0 ? $"{dataSet.WarmUpEvents:N0} warm-up events (one per user), then " : "")}users drawn uniformly; {dataSet.AveragePayloadBytes:0} bytes/event JSON, ~{dataSet.WireBytes / (double)options.Partitions / (1 << 20):0.0} MiB lz4 per partition sent (the broker keeps {DataSetProducer.BrokerRetentionBytes >> 20} MiB); produced in {dataSet.Seconds:0.0} s"));
        output.WriteLine(Line("plain consumer:", plain.Run) + Invariant($"; {plain.TotalSeconds:0.0} s with start-up{Load(plain)}"));
        if (plain.Steady is { } plainSteady) output.WriteLine(Line("  after warm-up:", plainSteady));
        output.WriteLine(Line("orleans provider:", o.Run)
            + Invariant($"; {orleans.Activations:N0} activations, peak working set {o.PeakWorkingSetBytes / (double)(1 << 20):N0} MiB, {o.TotalSeconds:0.0} s with silo start ({orleans.StartSeconds:0.0} s), stop {orleans.StopSeconds:0.0} s{Load(o)}"));
        if (o.Steady is { } orleansSteady) output.WriteLine(Line("  all grains up:", orleansSteady));
        output.WriteLine(Invariant($"  settings: {orleans.Settings.Describe()}"));
        output.WriteLine(Invariant($"ratio: {RatioPercent:0.0} %{(SteadyRatioPercent is { } s ? $" (after warm-up: {s:0.0} %)" : "")}"));
        output.WriteLine(Invariant($"target: orleans >= {TargetEventsPerSecond:N0} ev/s: {Verdict(o.Run.EventsPerSecond >= TargetEventsPerSecond)} ({o.Run.EventsPerSecond:N0} ev/s{(o.Steady is { } st ? $"; after warm-up {st.EventsPerSecond:N0} ev/s: {Verdict(st.EventsPerSecond >= TargetEventsPerSecond)}" : "")})"));
        output.WriteLine(Invariant($"target: orleans >= {TargetRatioPercent:0} % of the plain consumer: {Verdict(RatioPercent >= TargetRatioPercent)} ({RatioPercent:0.0} %{(SteadyRatioPercent is { } sr ? $"; after warm-up {sr:0.0} %: {Verdict(sr >= TargetRatioPercent)}" : "")})"));
        if (sweep.Count == 0 && sweepFailures.Count == 0) return;

        output.WriteLine();
        output.WriteLine(Invariant($"{"provider settings",-20} {"ev/s",8} {"%plain",7} {"CPU-µs/ev",9} | {"warm ev/s",9} {"%plain",7} {"CPU-µs/ev",9} {"B/ev",6} {"cores",5} | {"peak MiB",8} {"load",5}"));
        foreach (var run in sweep)
        {
            var r = run.Result.Run;
            var w = run.Result.Steady;
            output.WriteLine(Invariant(
                $"{run.Settings.Name,-20} {r.EventsPerSecond,8:N0} {Ratio(r, plain.Run),7:0.0} {r.CpuMicrosecondsPerEvent,9:0.0} | {w?.EventsPerSecond,9:N0} {(w is null || plain.Steady is null ? null : Ratio(w, plain.Steady)),7:0.0} {w?.CpuMicrosecondsPerEvent,9:0.0} {w?.AllocatedBytesPerEvent,6:N0} {w?.CoresBusy,5:0.00} | {run.Result.PeakWorkingSetBytes / (double)(1 << 20),8:N0} {run.Result.LoadAverage,5:0.0}"));
        }

        foreach (var failure in sweepFailures)
        {
            output.WriteLine(Invariant($"{failure.Settings.Name,-20} no figures: {failure.Reason}"));
        }

        foreach (var settings in sweep.Select(r => r.Settings).Concat(sweepFailures.Select(f => f.Settings)))
        {
            output.WriteLine(Invariant($"  {settings.Name}: {settings.Describe()}"));
        }
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var document = new ReportJson(
            "streaming",
            DateTimeOffset.UtcNow,
            machine,
            new SettingsJson(options.Events, options.Users, options.Partitions, options.Seed, options.WarmUp),
            new DataSetJson(dataSet.Events, dataSet.DistinctUsers, dataSet.WarmUpEvents, dataSet.AveragePayloadBytes, dataSet.WireBytes, dataSet.Seconds, dataSet.PartitionCounts),
            PhaseJson.From(plain),
            OrleansJson.From(orleans),
            RatioPercent,
            SteadyRatioPercent,
            [
                new TargetJson("orleans_events_per_second", TargetEventsPerSecond, orleans.Result.Run.EventsPerSecond, orleans.Result.Run.EventsPerSecond >= TargetEventsPerSecond),
                new TargetJson("orleans_percent_of_plain_consumer", TargetRatioPercent, RatioPercent, RatioPercent >= TargetRatioPercent),
            ],
            [.. sweep.Select(OrleansJson.From)],
            [.. sweepFailures.Select(f => new SweepFailureJson(ProviderSettingsJson.From(f.Settings), f.Reason))]);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, ReportJsonContext.Default.ReportJson, cancellationToken).ConfigureAwait(false);
    }

    private static double Ratio(Window orleans, Window plain) => orleans.EventsPerSecond / plain.EventsPerSecond * 100;

    private static string Load(PhaseResult r) => r.LoadAverage is { } load ? Invariant($", load average {load:0.0}") : "";

    private static string Verdict(bool met) => met ? "PASS" : "FAIL";

    private static string Line(string label, Window w) => Invariant(
        $"{label,-17} {w.Events:N0} events in {w.Seconds:0.00} s = {w.EventsPerSecond:N0} ev/s, {w.CpuMicrosecondsPerEvent:0.0} CPU-µs/event ({w.CoresBusy:0.00} cores busy, {w.AllocatedBytesPerEvent:N0} B allocated/event, GC {string.Join('/', w.Collections)})");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

internal sealed record ReportJson(
    string Benchmark, DateTimeOffset Date, Machine Machine, SettingsJson Settings, DataSetJson DataSet, PhaseJson PlainConsumer,
    OrleansJson Orleans, double RatioPercent, double? SteadyRatioPercent, IReadOnlyList<TargetJson> Targets, IReadOnlyList<OrleansJson> Sweep,
    IReadOnlyList<SweepFailureJson> SweepFailures);

internal sealed record SettingsJson(long Events, int Users, int Partitions, int Seed, bool WarmUp);

internal sealed record DataSetJson(
    long Events, int DistinctUsers, long WarmUpEvents, double AveragePayloadBytes, long WireBytes, double ProduceSeconds, IReadOnlyList<long> PartitionCounts);

internal sealed record TargetJson(string Name, double Target, double Value, bool Pass);

internal sealed record WindowJson(
    long Events, double Seconds, double EventsPerSecond, double CpuMicrosecondsPerEvent, double CoresBusy, double AllocatedBytesPerEvent, IReadOnlyList<int> Collections)
{
    public static WindowJson From(Window w) => new(
        w.Events, w.Seconds, w.EventsPerSecond, w.CpuMicrosecondsPerEvent, w.CoresBusy, w.AllocatedBytesPerEvent, w.Collections);
}

internal sealed record PhaseJson(
    WindowJson Run, WindowJson? Steady, double SecondsWithStartup, double CpuSecondsWithStartup, long PeakWorkingSetBytes, double? LoadAverage)
{
    public static PhaseJson From(PhaseResult r) => new(
        WindowJson.From(r.Run), r.Steady is { } s ? WindowJson.From(s) : null, r.TotalSeconds, r.TotalCpuSeconds, r.PeakWorkingSetBytes, r.LoadAverage);
}

internal sealed record ProviderSettingsJson(string Name, double GetQueueMsgsTimerPeriodMs, int BatchContainerBatchSize, int CacheSize, int PollBatchSize)
{
    public static ProviderSettingsJson From(ProviderSettings s) => new(s.Name, s.TimerPeriod.TotalMilliseconds, s.BatchContainerBatchSize, s.CacheSize, s.PollBatchSize);
}

internal sealed record SweepFailureJson(ProviderSettingsJson Settings, string Reason);

internal sealed record OrleansJson(ProviderSettingsJson Settings, PhaseJson Result, long Activations, double SiloStartSeconds, double SiloStopSeconds)
{
    public static OrleansJson From(OrleansRun run) => new(
        ProviderSettingsJson.From(run.Settings),
        PhaseJson.From(run.Result),
        run.Activations,
        run.StartSeconds,
        run.StopSeconds);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ReportJson))]
internal sealed partial class ReportJsonContext : JsonSerializerContext;
