using System.Diagnostics;
using System.Globalization;
using Analytics.PipelineBenchmark.Cli;
using Analytics.PipelineBenchmark.Load;

namespace Analytics.PipelineBenchmark.Latency;

/// <summary>The run: connect to the dashboard hub, then for each rate produce, wait for the count, and time every measured event.</summary>
internal static class LatencyBenchmarkRun
{
    /// <summary>How long the count must stand still before a step starts (nothing of an earlier step still arriving).</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2);

    public static Task<int> RunAsync(LatencyBenchmarkOptions options, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
        => BenchmarkRunner.RunAsync(output, progress, options.Output, async machine =>
        {
            await progress.WriteLineAsync($"[connect] dashboard hub at {options.Url}hubs/dashboard").ConfigureAwait(false);
            await using var counter = await DashboardCounter.ConnectAsync(options.Url, cancellationToken).ConfigureAwait(false);
            await progress.WriteLineAsync($"[connect] snapshot received: {counter.Counted:N0} events counted in the windows it holds").ConfigureAwait(false);
            var processes = options.Pids.Select(pid => (Pid: pid, Name: CpuProbe.Describe(pid))).ToList();

            if (options.PrimeRate > 0) await PrimeAsync(options, counter, progress, cancellationToken).ConfigureAwait(false);

            var steps = new List<LatencyStep>();
            for (var i = 0; i < options.Rates.Count; i++)
            {
                steps.Add(await RunStepAsync(options, i, counter, processes, progress, cancellationToken).ConfigureAwait(false));
            }

            return new LatencyReport(machine, options, steps);
        }, cancellationToken);

    /// <summary>
    /// One event per user, so that the steps measure a pipeline whose users are known (their grains active, their
    /// state loaded), as in a shop that has been running; a first event's activation costs several times a known user's.
    /// </summary>
    private static async Task PrimeAsync(LatencyBenchmarkOptions options, DashboardCounter counter, TextWriter progress, CancellationToken cancellationToken)
    {
        var baseline = await counter.SettleAsync(Quiet, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        await progress.WriteLineAsync(Invariant($"[prime] one event for each of the {options.Users:N0} users at {options.PrimeRate:N0}/s")).ConfigureAwait(false);
        var events = new LiveEventSource(options.Users, options.UserPrefix, options.Seed, Invariant($"-prime-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}")) { PrimeUsers = true };
        var started = Stopwatch.GetTimestamp();
        var production = await Task.Factory.StartNew(
            () => PacedProducer.Run(options.BootstrapServers, options.Topic, events, options.PrimeRate, options.Users, progress, cancellationToken, lingerMs: options.LingerMs),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        if (production.Failed > 0) throw new BenchmarkException(Invariant($"priming: {production.Failed:N0} events were not delivered to Kafka; first error: {production.FirstError}"));
        if (!await counter.WaitForAsync(baseline + options.Users, TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false))
        {
            throw new BenchmarkException(Invariant($"priming: the dashboard counted {counter.Counted - baseline:N0} of the {options.Users:N0} events 5 minutes after they were produced"));
        }

        await progress.WriteLineAsync(Invariant($"[prime] every user's event counted {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s after the first was produced")).ConfigureAwait(false);
    }

    private static async Task<LatencyStep> RunStepAsync(
        LatencyBenchmarkOptions options, int index, DashboardCounter counter, IReadOnlyList<(int Pid, string Name)> processes, TextWriter progress, CancellationToken cancellationToken)
    {
        var rate = options.Rates[index];
        var warmUpEvents = (long)(rate * options.WarmUp.TotalSeconds);
        var measuredEvents = Math.Max(1, (long)(rate * options.Duration.TotalSeconds));
        var count = warmUpEvents + measuredEvents;
        var baseline = await counter.SettleAsync(Quiet, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        if (!counter.Connected) throw new BenchmarkException("the dashboard hub connection dropped");
        await progress.WriteLineAsync(Invariant(
            $"[{rate:N0}/s] {count:N0} events ({options.WarmUp.TotalSeconds:0} s warm-up, then {options.Duration.TotalSeconds:0} s measured) of {options.Users:N0} users; the dashboard counts {baseline:N0} before")).ConfigureAwait(false);

        var events = new LiveEventSource(options.Users, options.UserPrefix, options.Seed + index, Invariant($"-{index}-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}"));
        var cpuBefore = processes.Select(p => CpuProbe.ProcessSeconds(p.Pid)).ToList();
        var machineBefore = CpuProbe.MachineSeconds();
        var pushesBefore = counter.Pushes;
        var started = Stopwatch.GetTimestamp();
        var production = await Task.Factory.StartNew(
            () => PacedProducer.Run(options.BootstrapServers, options.Topic, events, rate, count, progress, cancellationToken, lingerMs: options.LingerMs),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        var producedFor = Stopwatch.GetElapsedTime(started);
        var pushes = counter.Pushes - pushesBefore;
        if (production.Failed > 0)
        {
            throw new BenchmarkException(Invariant($"{production.Failed:N0} of {count:N0} events were not delivered to Kafka; first error: {production.FirstError}"));
        }

        var lastSent = production.SentAt[^1];
        var complete = await counter.WaitForAsync(baseline + count, options.DrainTimeout, cancellationToken).ConfigureAwait(false);
        var caughtUpAfter = complete ? Stopwatch.GetElapsedTime(lastSent) : (TimeSpan?)null;
        var cpuAfter = processes.Select(p => CpuProbe.ProcessSeconds(p.Pid)).ToList();
        var machineAfter = CpuProbe.MachineSeconds();
        var counted = counter.Counted - baseline;

        // Event k (1-based) is on the page from the first push whose count over the baseline reached k.
        var raises = counter.RaisesSince(started);
        var latencies = new LatencyHistogram();
        var uncounted = 0L;
        var r = 0;
        for (var i = warmUpEvents; i < count; i++)
        {
            while (r < raises.Count && raises[r].Counted - baseline < i + 1) r++;
            if (r == raises.Count)
            {
                uncounted = count - i;
                break;
            }

            latencies.Record((long)((raises[r].Timestamp - production.SentAt[i]) * 1_000_000.0 / Stopwatch.Frequency));
        }

        var cpu = processes.Select((p, i) => cpuBefore[i] is { } before && cpuAfter[i] is { } after
            ? new ProcessCpu(p.Pid, p.Name, after - before, (after - before) * 1e6 / count)
            : new ProcessCpu(p.Pid, p.Name, null, null)).ToList();
        double? machineBusy = machineBefore is { } mb && machineAfter is { } ma && ma.Total > mb.Total ? (ma.Busy - mb.Busy) / (ma.Total - mb.Total) : null;

        var step = new LatencyStep(
            rate, count, warmUpEvents, measuredEvents, production.Seconds, count / production.Seconds, production.Delivered, counted, uncounted,
            caughtUpAfter?.TotalSeconds, pushes / producedFor.TotalSeconds, latencies, cpu, machineBusy, Machine.LoadAverage());
        await progress.WriteLineAsync(Invariant(
            $"[{rate:N0}/s] produced at {step.AchievedRate:N0}/s; counted {counted:N0} of {count:N0}{(complete ? Invariant($", all within {caughtUpAfter!.Value.TotalSeconds:0.00} s of the last one") : Invariant($", {count - counted:N0} missing after {options.DrainTimeout.TotalSeconds:0} s"))}; p50 {latencies.ValueAtQuantile(0.5) / 1000.0:0} ms, p99 {latencies.ValueAtQuantile(0.99) / 1000.0:0} ms; {step.PushesPerSecond:0.0} pushes/s")).ConfigureAwait(false);
        return step;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What one rate gave.</summary>
internal sealed record LatencyStep(
    int Rate,
    long Events,
    long WarmUpEvents,
    long MeasuredEvents,
    double ProductionSeconds,
    double AchievedRate,
    long Delivered,
    long Counted,
    long Uncounted,
    double? CaughtUpSeconds,
    double PushesPerSecond,
    LatencyHistogram Latencies,
    IReadOnlyList<ProcessCpu> Cpu,
    double? MachineBusy,
    double? LoadAverage);
