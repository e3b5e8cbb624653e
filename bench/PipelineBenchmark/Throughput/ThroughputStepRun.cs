using System.Diagnostics;
using System.Globalization;
using Analytics.PipelineBenchmark.Cli;
using Analytics.PipelineBenchmark.Load;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>The lag one second into a step: events the broker acknowledged minus events the pipeline stored since the step began.</summary>
internal sealed record LagSample(double Seconds, long Acknowledged, long Stored, long Lag);

/// <summary>What one rate gave one pipeline, and whether the pipeline kept up with it.</summary>
internal sealed record ThroughputStep(
    string Pipeline,
    string Purpose,
    int Rate,
    long Events,
    double ProductionSeconds,
    double AchievedRate,
    IReadOnlyList<LagSample> Lag,
    long MaxLag,
    double LagTrendPerSecond,
    bool LagBounded,
    IReadOnlyList<string> ReflectedNames,
    IReadOnlyList<long> Reflected,
    double? CaughtUpSeconds,
    long Lost,
    string? Aborted,
    IReadOnlyList<ProcessCpu> Cpu,
    double? MachineBusy,
    double? LoadAverage,
    string? Failure)
{
    public bool KeptUp => Failure is null;

    /// <summary>Whether the step failed only because the producer could not hold the rate on this machine.</summary>
    public bool ProducerShort { get; init; }
}

/// <summary>
/// One step: wait until the pipeline is quiet, produce at a rate for a duration while sampling the lag every second,
/// then give it the catch-up time to reflect every event, and judge.
/// </summary>
internal static class ThroughputStepRun
{
    /// <summary>
    /// How long every reflected total must stand still before a step starts (nothing of an earlier one arriving). The
    /// silo writes churn_features up to twice Users:FeatureFlushInterval (3 s) after an event: a shorter quiet took
    /// a pause between two writes for the end, and the next step counted 961 events of the earlier one as its own.
    /// </summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(8);

    /// <summary>The longest wait for that: a step that fell far behind drains meanwhile.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(120);

    /// <summary>A step stops producing once its lag passes this many seconds of events (it cannot catch up in time)…</summary>
    private const double AbortLagSeconds = 10;

    /// <summary>… or this many events: the local broker keeps only ~5 MiB per partition, and unread messages would be lost.</summary>
    private const long AbortLagEvents = 150_000;

    /// <summary>The producer must hold this share of the rate for the step to measure the pipeline rather than itself.</summary>
    private const double ProducerShare = 0.97;

    /// <summary>One event per user, waited for until every place reflects them all (their grains active, JIT warm).</summary>
    public static async Task PrimeAsync(ThroughputBenchmarkOptions options, IPipelineUnderTest pipeline, TextWriter progress, CancellationToken cancellationToken)
    {
        var before = await SettleAsync(pipeline, progress, cancellationToken).ConfigureAwait(false);
        await progress.WriteLineAsync(Invariant($"[{pipeline.Name} prime] one event for each of the {options.Users:N0} users at {options.PrimeRate:N0}/s")).ConfigureAwait(false);
        var events = new LiveEventSource(options.Users, options.UserPrefix, options.Seed, Invariant($"-{pipeline.Name}-prime-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}")) { PrimeUsers = true };
        var started = Stopwatch.GetTimestamp();
        var production = await Task.Factory.StartNew(
            () => PacedProducer.Run(options.BootstrapServers, pipeline.Topic, events, options.PrimeRate, options.Users, progress, cancellationToken, lingerMs: options.LingerMs),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        if (production.Failed > 0) throw new BenchmarkException(Invariant($"{pipeline.Name} priming: {production.Failed:N0} events were not delivered to Kafka; first error: {production.FirstError}"));
        var deadline = Stopwatch.GetTimestamp() + (5 * 60 * Stopwatch.Frequency);
        while (true)
        {
            var now = await pipeline.ReflectedAsync(cancellationToken).ConfigureAwait(false);
            if (now.Select((n, i) => n - before[i]).All(d => d >= options.Users)) break;
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new BenchmarkException(Invariant($"{pipeline.Name} priming: 5 minutes after the {options.Users:N0} events were produced, {Describe(pipeline.ReflectedNames, now, before, options.Users)}"));
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }

        await progress.WriteLineAsync(Invariant($"[{pipeline.Name} prime] every user's event reflected {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s after the first was produced")).ConfigureAwait(false);
    }

    public static async Task<ThroughputStep> RunAsync(
        ThroughputBenchmarkOptions options, IPipelineUnderTest pipeline, int rate, int index, string purpose, TextWriter progress, CancellationToken cancellationToken)
    {
        var label = Invariant($"[{pipeline.Name} {rate:N0}/s]");
        var reflectedBefore = await SettleAsync(pipeline, progress, cancellationToken).ConfigureAwait(false);
        var storedBefore = await pipeline.StoredAsync(cancellationToken).ConfigureAwait(false);
        var count = Math.Max(1, (long)(rate * options.Duration.TotalSeconds));
        var abortLag = Math.Min((long)(rate * AbortLagSeconds), AbortLagEvents);
        await progress.WriteLineAsync(Invariant($"{label} {purpose}: {count:N0} events in {options.Duration.TotalSeconds:0} s to {pipeline.Topic}")).ConfigureAwait(false);

        var processes = pipeline.Processes.Append(new MeasuredProcess(Environment.ProcessId, "benchmark (producer)")).ToList();
        var cpuBefore = processes.Select(p => CpuProbe.ProcessSeconds(p.Pid)).ToList();
        var machineBefore = CpuProbe.MachineSeconds();
        var events = new LiveEventSource(options.Users, options.UserPrefix, options.Seed + index, Invariant($"-{pipeline.Name}-{index}-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}"));
        var live = new ProductionProgress();
        var started = Stopwatch.GetTimestamp();
        var producing = Task.Factory.StartNew(
            () => PacedProducer.Run(options.BootstrapServers, pipeline.Topic, events, rate, count, progress, cancellationToken, live, options.LingerMs),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var samples = new List<LagSample>();
        string? aborted = null;
        var lost = 0L;
        for (var second = 1; ; second++)
        {
            var due = started + (second * Stopwatch.Frequency);
            var wait = TimeSpan.FromSeconds(Math.Max(0, (due - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency));
            await Task.WhenAny(producing, Task.Delay(wait, cancellationToken)).ConfigureAwait(false);
            if (producing.IsCompleted) break;
            var acknowledged = live.Delivered;
            var stored = await pipeline.StoredAsync(cancellationToken).ConfigureAwait(false);
            var sample = new LagSample(Stopwatch.GetElapsedTime(started).TotalSeconds, acknowledged, stored.Stored - storedBefore.Stored, acknowledged - (stored.Stored - storedBefore.Stored));
            samples.Add(sample);
            lost = stored.Lost - storedBefore.Lost;
            if (second % 5 == 0)
            {
                await progress.WriteLineAsync(Invariant($"    {second,3} s: {live.Sent:N0} handed over, {acknowledged:N0} acknowledged, {sample.Stored:N0} stored, lag {sample.Lag:N0}")).ConfigureAwait(false);
            }

            if (aborted is null && (sample.Lag > abortLag || lost > 0))
            {
                aborted = lost > 0
                    ? Invariant($"stopped at {sample.Seconds:0} s: {lost:N0} messages were gone from the broker before the pipeline read them")
                    : Invariant($"stopped at {sample.Seconds:0} s: lag {sample.Lag:N0} > {abortLag:N0}");
                await progress.WriteLineAsync($"    {aborted}").ConfigureAwait(false);
                live.Stop();
            }
        }

        var production = await producing.ConfigureAwait(false);
        if (production.Failed > 0)
        {
            throw new BenchmarkException(Invariant($"{label} {production.Failed:N0} of {production.SentAt.Length:N0} events were not delivered to Kafka; first error: {production.FirstError}"));
        }

        // Every place must reflect every event within the catch-up time of the last one.
        var produced = production.Delivered;
        var lastSent = production.SentAt.Length > 0 ? production.SentAt[^1] : started;
        IReadOnlyList<long> reflected;
        double? caughtUp = null;
        while (true)
        {
            var now = await pipeline.ReflectedAsync(cancellationToken).ConfigureAwait(false);
            reflected = [.. now.Select((n, i) => n - reflectedBefore[i])];
            if (reflected.All(d => d >= produced))
            {
                caughtUp = Stopwatch.GetElapsedTime(lastSent).TotalSeconds;
                break;
            }

            if (Stopwatch.GetElapsedTime(lastSent) > options.CatchUp) break;
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }

        var cpuAfter = processes.Select(p => CpuProbe.ProcessSeconds(p.Pid)).ToList();
        var machineAfter = CpuProbe.MachineSeconds();
        var stoppedAt = await pipeline.StoredAsync(cancellationToken).ConfigureAwait(false);
        lost = stoppedAt.Lost - storedBefore.Lost;

        var cpu = processes.Select((p, i) => cpuBefore[i] is { } before && cpuAfter[i] is { } after
            ? new ProcessCpu(p.Pid, p.Name, after - before, (after - before) * 1e6 / Math.Max(1, produced))
            : new ProcessCpu(p.Pid, p.Name, null, null)).ToList();
        double? machineBusy = machineBefore is { } mb && machineAfter is { } ma && ma.Total > mb.Total ? (ma.Busy - mb.Busy) / (ma.Total - mb.Total) : null;

        var achieved = produced / production.Seconds;
        var (maxLag, trend, bounded) = JudgeLag(samples, production.Seconds, rate);
        var producerShort = aborted is null && achieved < ProducerShare * rate;
        string? failure =
            aborted is not null ? aborted
            : lost > 0 ? Invariant($"{lost:N0} messages were gone from the broker before the pipeline read them")
            : producerShort ? Invariant($"the producer held only {achieved:N0}/s")
            : !bounded ? Invariant($"the lag grew: up to {maxLag:N0}, {trend:+0;-0}/s over the last third")
            : caughtUp is null ? Invariant($"{options.CatchUp.TotalSeconds:0} s after the last event, {Describe(pipeline.ReflectedNames, reflected, produced)}")
            : reflected.Any(d => d != produced) ? Invariant($"more than produced: {Describe(pipeline.ReflectedNames, reflected, produced)}")
            : null;
        var step = new ThroughputStep(
            pipeline.Name, purpose, rate, produced, production.Seconds, achieved, samples, maxLag, trend, bounded, pipeline.ReflectedNames, reflected, caughtUp, lost, aborted, cpu,
            machineBusy, Machine.LoadAverage(), failure)
        { ProducerShort = producerShort };
        var cpuText = string.Join(", ", cpu.Select(c => c.MicrosecondsPerEvent is { } us ? Invariant($"{c.Name} {us:0} µs") : $"{c.Name} ?"));
        await progress.WriteLineAsync(Invariant(
            $"{label} produced {achieved:N0}/s; max lag {maxLag:N0}, trend {trend:+0;-0;0}/s; {(caughtUp is { } c ? Invariant($"all reflected {c:0.0} s after the last event") : "not all reflected in time")}; CPU per event: {cpuText} → {(failure is null ? "kept up" : "NOT kept up: " + failure)}")).ConfigureAwait(false);
        return step;
    }

    /// <summary>
    /// The lag is bounded when its largest value in the step's last 10 s (its last third if shorter) is at most
    /// max(2 s of events, the lag at 2/3 of the step); the trend is the least-squares slope of the lag over the last
    /// third, in events per second.
    /// </summary>
    private static (long MaxLag, double Trend, bool Bounded) JudgeLag(IReadOnlyList<LagSample> samples, double seconds, int rate)
    {
        if (samples.Count == 0) return (0, 0, true);
        var maxLag = samples.Max(s => s.Lag);
        var lastStart = seconds - Math.Min(10, seconds / 3);
        var last = samples.Where(s => s.Seconds >= lastStart).ToList();
        var reference = samples.MinBy(s => Math.Abs(s.Seconds - (seconds * 2 / 3)))!.Lag;
        var bounded = last.Count == 0 || last.Max(s => s.Lag) <= Math.Max(2L * rate, reference);

        var third = samples.Where(s => s.Seconds >= seconds * 2 / 3).ToList();
        var trend = 0.0;
        if (third.Count >= 2)
        {
            var meanT = third.Average(s => s.Seconds);
            var meanL = third.Average(s => (double)s.Lag);
            var variance = third.Sum(s => (s.Seconds - meanT) * (s.Seconds - meanT));
            trend = variance > 0 ? third.Sum(s => (s.Seconds - meanT) * (s.Lag - meanL)) / variance : 0;
        }

        return (maxLag, trend, bounded);
    }

    /// <summary>Waits until every reflected total stood still for <see cref="Quiet"/>; returns them.</summary>
    private static async Task<IReadOnlyList<long>> SettleAsync(IPipelineUnderTest pipeline, TextWriter progress, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var last = await pipeline.ReflectedAsync(cancellationToken).ConfigureAwait(false);
        var since = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(since) < Quiet)
        {
            if (Stopwatch.GetElapsedTime(started) > SettleTimeout)
            {
                await progress.WriteLineAsync(Invariant($"    {pipeline.Name} still changing after {SettleTimeout.TotalSeconds:0} s; starting anyway")).ConfigureAwait(false);
                break;
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            var now = await pipeline.ReflectedAsync(cancellationToken).ConfigureAwait(false);
            if (!now.SequenceEqual(last))
            {
                last = now;
                since = Stopwatch.GetTimestamp();
            }
        }

        var waited = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (waited > Quiet.TotalSeconds + 3) await progress.WriteLineAsync(Invariant($"    {pipeline.Name} settled after {waited:0} s")).ConfigureAwait(false);
        return last;
    }

    private static string Describe(IReadOnlyList<string> names, IReadOnlyList<long> now, IReadOnlyList<long> before, long expected)
        => Describe(names, [.. now.Select((n, i) => n - before[i])], expected);

    private static string Describe(IReadOnlyList<string> names, IReadOnlyList<long> deltas, long expected)
        => string.Join(", ", names.Select((n, i) => Invariant($"{n} {deltas[i]:N0}"))) + Invariant($" of {expected:N0}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
