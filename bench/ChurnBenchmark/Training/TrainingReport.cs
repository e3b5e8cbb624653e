using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.ChurnBenchmark.Cli;
using Analytics.Churn;
using Analytics.Producer.Simulation;

namespace Analytics.ChurnBenchmark.Training;

/// <summary>Everything the training benchmark measured, printed as a table and written as JSON.</summary>
internal sealed record TrainingReport(
    Machine Machine,
    TrainingBenchmarkOptions Options,
    string Postgres,
    LoadedHistory History,
    long RawEventsBytes,
    DateTimeOffset Cutoff,
    long RowsToCutoff,
    int Examples,
    int Churned,
    int TrainingUsers,
    int TestUsers,
    ChurnMetrics Metrics,
    ChurnMetrics Baseline,
    long ModelBytes,
    IReadOnlyList<PhaseResult> Phases,
    long? PeakResidentBytes,
    double TotalSeconds,
    double? LoadAverage) : IBenchmarkReport
{
    /// <summary>The phases of a training run proper: what the Trainer does once the history is stored.</summary>
    private static readonly string[] TrainingRunPhases = ["data set", "training", "model save"];

    /// <summary>The simulator's own default density, to say how far this run is from it.</summary>
    private static readonly double SimulatorSessionsPerDay = new SimulationSettings { Start = DateTimeOffset.UnixEpoch }.SessionsPerDay;

    private PhaseResult TrainingRun => PhaseResult.Sum("data set → model", [.. Phases.Where(p => TrainingRunPhases.Contains(p.Phase))]);

    public void WriteTable(TextWriter output)
    {
        var o = Options;
        output.WriteLine();
        output.WriteLine(Invariant($"training benchmark: {o.Users:N0} users, {o.Days} days of simulated history from {o.Start:yyyy-MM-dd}, seed {o.Seed}"));
        if (o.SessionsPerDay < SimulatorSessionsPerDay)
        {
            output.WriteLine(Invariant($"  density lowered: {o.SessionsPerDay:0.##} sessions/day/user instead of the simulator's {SimulatorSessionsPerDay:0.##}, so that the history loads in minutes ({History.Events / (double)Math.Max(1, History.UsersWithEvents):0.0} events per user); every user is still one example"));
        }

        output.WriteLine(Invariant($"  history: {History.Events:N0} events of {History.UsersWithEvents:N0} users, {History.FirstEvent:yyyy-MM-dd HH:mm} to {History.LastEvent:yyyy-MM-dd HH:mm}; churn horizon {CliOptions.Describe(o.ChurnHorizon)} ({History.UsersChurned:N0} users churned by the simulator's truth); raw_events {RawEventsBytes / (double)(1 << 20):N0} MiB with indexes"));
        output.WriteLine($"  {Postgres}");
        output.WriteLine(Invariant($"  data set: cutoff {Cutoff:yyyy-MM-dd HH:mm:ss} (newest event - {CliOptions.Describe(o.Horizon)}), {Examples:N0} examples, {Churned:N0} churned ({Share(Churned, Examples):P1}); {TrainingUsers:N0} training users, {TestUsers:N0} held out"));
        output.WriteLine(Invariant($"  model: AUC {Metrics.Auc:0.000} (recency baseline {Baseline.Auc:0.000}), accuracy {Metrics.Accuracy:0.000}, F1 {Metrics.F1:0.000}, log-loss {Metrics.LogLoss:0.000}; model files {ModelBytes / 1024.0:N0} KiB"));
        output.WriteLine();
        output.WriteLine(Invariant($"{"phase",-20} {"seconds",8} {"users/s",10} {"rows/s",10} {"CPU s",7} {"cores",5} {"alloc MiB",9} {"GC 0/1/2",10} {"peak MiB",8}"));
        foreach (var phase in Phases) WriteRow(output, phase);
        output.WriteLine(new string('-', 95));
        WriteRow(output, TrainingRun);
        output.WriteLine(Invariant($"  users/s: users in the data set ({Examples:N0}) per second of the phase; rows/s: raw_events rows per second (load, indexes: all {History.Events:N0}; data set: the {RowsToCutoff:N0} up to the cutoff, read back)."));
        output.WriteLine(Invariant($"  data set → model: the training run proper (Trainer: data set, training, model files). CPU s and cores: this process only (PostgreSQL's sort and scan are not in them)."));
        output.WriteLine(Invariant($"  peak resident set of the process {(PeakResidentBytes is { } peak ? $"{peak / (double)(1 << 20):N0} MiB" : "unknown")}; whole run {TotalSeconds:0.0} s{(LoadAverage is { } load ? $", load average at the end {load:0.0}" : "")}"));
    }

    public async Task WriteJsonAsync(string path, CancellationToken cancellationToken)
    {
        var o = Options;
        var document = new TrainingReportJson(
            "training",
            DateTimeOffset.UtcNow,
            Machine,
            new TrainingSettingsJson(o.Users, o.Days, o.SessionsPerDay, SimulatorSessionsPerDay, o.ChurnHorizon.TotalSeconds, o.Horizon.TotalSeconds, o.Seed, o.TestFraction, o.Start, o.CopyBatch),
            Postgres,
            new HistoryJson(History.Events, History.UsersWithEvents, History.UsersChurned, History.FirstEvent, History.LastEvent, History.GenerateSeconds, History.CopyStatements, RawEventsBytes),
            new DataSetJson(Cutoff, RowsToCutoff, Examples, Churned, Share(Churned, Examples), TrainingUsers, TestUsers),
            Metrics,
            Baseline,
            ModelBytes,
            [.. Phases.Append(TrainingRun).Select(p => PhaseJson.From(p, Examples, RowsFor(p)))],
            PeakResidentBytes,
            TotalSeconds,
            LoadAverage);
        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, document, ReportJson.TypeInfo<TrainingReportJson>(TrainingReportJsonContext.Default), cancellationToken).ConfigureAwait(false);
    }

    private void WriteRow(TextWriter output, PhaseResult p)
    {
        var rows = RowsFor(p);
        var perUser = p.Phase is "migrations" or "indexes" or "analyze" ? "" : Invariant($"{p.PerSecond(Examples):N0}");
        output.WriteLine(Invariant(
            $"{p.Phase,-20} {p.Seconds,8:0.00} {perUser,10} {(rows is { } r ? Invariant($"{p.PerSecond(r):N0}") : ""),10} {p.CpuSeconds,7:0.0} {p.CoresBusy,5:0.00} {p.AllocatedBytes / (double)(1 << 20),9:N0} {string.Join('/', p.Collections),10} {p.PeakWorkingSetBytes / (double)(1 << 20),8:N0}"));
    }

    /// <summary>The rows a phase moved: the whole history for the load and the indexes; the events up to the cutoff for the data set (which reads them back); none otherwise.</summary>
    private long? RowsFor(PhaseResult p) => p.Phase switch
    {
        "load" or "indexes" => History.Events,
        "data set" or "data set → model" => RowsToCutoff,
        _ => null,
    };

    private static double Share(long part, long whole) => whole == 0 ? 0 : part / (double)whole;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

internal sealed record TrainingReportJson(
    string Benchmark,
    DateTimeOffset Date,
    Machine Machine,
    TrainingSettingsJson Settings,
    string Postgres,
    HistoryJson History,
    DataSetJson DataSet,
    ChurnMetrics Metrics,
    ChurnMetrics Baseline,
    long ModelBytes,
    IReadOnlyList<PhaseJson> Phases,
    long? PeakResidentBytes,
    double TotalSeconds,
    double? LoadAverage);

internal sealed record TrainingSettingsJson(
    int Users, int Days, double SessionsPerDay, double SimulatorDefaultSessionsPerDay, double ChurnHorizonSeconds, double HorizonSeconds, int Seed, double TestFraction, DateTimeOffset Start, int CopyBatch);

internal sealed record HistoryJson(
    long Events, int UsersWithEvents, int UsersChurnedTruth, DateTimeOffset FirstEvent, DateTimeOffset LastEvent, double GenerateSeconds, int CopyStatements, long RawEventsBytes);

internal sealed record DataSetJson(DateTimeOffset Cutoff, long EventsToCutoff, int Examples, int Churned, double ChurnedShare, int TrainingUsers, int TestUsers);

internal sealed record PhaseJson(
    string Phase, double Seconds, double? UsersPerSecond, double? RowsPerSecond, double CpuSeconds, double CoresBusy, long AllocatedBytes, IReadOnlyList<int> Collections, long PeakWorkingSetBytes)
{
    public static PhaseJson From(PhaseResult p, int users, long? rows) => new(
        p.Phase,
        p.Seconds,
        p.Phase is "migrations" or "indexes" or "analyze" ? null : p.PerSecond(users),
        rows is { } r ? p.PerSecond(r) : null,
        p.CpuSeconds,
        p.CoresBusy,
        p.AllocatedBytes,
        p.Collections,
        p.PeakWorkingSetBytes);
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TrainingReportJson))]
internal sealed partial class TrainingReportJsonContext : JsonSerializerContext;
