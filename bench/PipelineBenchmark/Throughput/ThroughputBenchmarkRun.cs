using System.Globalization;
using Analytics.PipelineBenchmark.Cli;
using Analytics.PipelineBenchmark.Load;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>The search of one pipeline: its steps, the highest rate it kept up with, and what stopped the search.</summary>
/// <param name="Pipeline"><c>bare</c> or <c>orleans</c>.</param>
/// <param name="Steps">Every step, in the order they ran.</param>
/// <param name="Sustainable">The highest rate kept up with; null when none was.</param>
/// <param name="FirstNotKeptUp">The lowest rate above it that was not kept up with; null when the search reached --max-rate.</param>
/// <param name="LowerBound">Whether the pipeline's real limit may be higher: the search hit --max-rate, or the producer could not hold the next rate.</param>
/// <param name="Stopped">Why the search ended.</param>
internal sealed record PipelineSearch(string Pipeline, IReadOnlyList<ThroughputStep> Steps, int? Sustainable, int? FirstNotKeptUp, bool LowerBound, string Stopped);

/// <summary>The run: for each pipeline (bare first), prime it, then step the rate up (or down) and bisect once.</summary>
internal static class ThroughputBenchmarkRun
{
    /// <summary>No search takes more steps than this (the bisection included).</summary>
    private const int MaxSteps = 10;

    public static Task<int> RunAsync(ThroughputBenchmarkOptions options, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
        => BenchmarkRunner.RunAsync(output, progress, options.Output, async machine =>
        {
            var all = options.Pids.Select(pid => new MeasuredProcess(pid, CpuProbe.Describe(pid))).ToList();
            // What both pipelines use, measured with each: the broker, and PostgreSQL (its postmaster and connections).
            var shared = all.Where(p => p.Name.Contains("LocalBroker", StringComparison.OrdinalIgnoreCase) || p.Name == "postgres").ToList();
            var searches = new List<PipelineSearch>();
            ThroughputStep? cpuStep = null;
            var index = 0;
            foreach (var name in options.Pipelines)
            {
                if (name == "bare")
                {
                    await progress.WriteLineAsync($"[bare] bench_bare.raw_events (like raw_events); the bare consumer reads {options.BareTopic}").ConfigureAwait(false);
                    await using var bare = await BarePipeline.StartAsync(options.BootstrapServers, options.BareTopic, options.Postgres, shared, progress, cancellationToken).ConfigureAwait(false);
                    searches.Add(await SearchAsync(options, bare, null, () => index++, progress, cancellationToken).ConfigureAwait(false));
                    if (bare.Refused > 0) throw new BenchmarkException($"the bare consumer's parser refused {bare.Refused:N0} events; the benchmark must produce only valid ones");
                }
                else
                {
                    await using var orleans = new OrleansPipeline(options.Topic, options.SiloUrl, options.Postgres, all);
                    var silo = all.FirstOrDefault(p => p.Name.Contains("Silo", StringComparison.OrdinalIgnoreCase));
                    var search = await SearchAsync(options, orleans, options.CpuRate, () => index++, progress, cancellationToken, silo).ConfigureAwait(false);
                    if (silo is not null && ProcessMemory.Peak(silo.Pid) is { } peak)
                    {
                        await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"[orleans] silo peak resident memory (VmHWM) over the run: {peak / 1048576.0:N0} MiB")).ConfigureAwait(false);
                    }
                    searches.Add(search with { Steps = [.. search.Steps.Where(s => s.Purpose != CpuPurpose)] });
                    cpuStep = search.Steps.FirstOrDefault(s => s.Purpose == CpuPurpose);
                }
            }

            return new ThroughputReport(machine, options, searches, cpuStep);
        }, cancellationToken);

    private const string CpuPurpose = "fixed-rate CPU";

    private static async Task<PipelineSearch> SearchAsync(
        ThroughputBenchmarkOptions options, IPipelineUnderTest pipeline, int? cpuRate, Func<int> nextIndex, TextWriter progress, CancellationToken cancellationToken,
        MeasuredProcess? silo = null)
    {
        // The priming activates one user grain per user: the silo's resident memory before and after, over the users, is
        // an upper bound of a grain's memory (it includes the heap's growth that a collection would give back).
        var residentBefore = silo is null ? null : ProcessMemory.Resident(silo.Pid);
        if (options.PrimeRate > 0) await ThroughputStepRun.PrimeAsync(options, pipeline, progress, cancellationToken).ConfigureAwait(false);
        if (silo is not null && options.PrimeRate > 0 && residentBefore is { } before && ProcessMemory.Resident(silo.Pid) is { } after)
        {
            await progress.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"[{pipeline.Name} prime] silo resident memory {before / 1048576.0:N0} MiB → {after / 1048576.0:N0} MiB with {options.Users:N0} user grains activated: at most {(after - before) / 1024.0 / options.Users:N1} KiB per user grain")).ConfigureAwait(false);
        }
        var steps = new List<ThroughputStep>();

        int? good = null, bad = null;
        var lowerBound = false;
        string stopped;
        var rate = options.StartRate;
        var searchSteps = 0;
        while (true)
        {
            var step = await ThroughputStepRun.RunAsync(options, pipeline, rate, nextIndex(), searchSteps == 0 ? "first step" : "search", progress, cancellationToken).ConfigureAwait(false);
            steps.Add(step);
            searchSteps++;
            if (step.KeptUp)
            {
                good = rate;
                if (bad is not null)
                {
                    stopped = "stepped down to a rate kept up";
                    break;
                }

                var up = Math.Min(RoundRate(rate * options.Factor), options.MaxRate);
                if (up <= rate)
                {
                    stopped = Invariant($"reached --max-rate {options.MaxRate:N0}/s");
                    lowerBound = true;
                    break;
                }

                rate = up;
            }
            else
            {
                bad = rate;
                if (good is not null)
                {
                    stopped = "stepped up to a rate not kept up";
                    break;
                }

                var down = RoundRate(rate / options.Factor);
                if (down >= rate)
                {
                    stopped = "no rate kept up";
                    break;
                }

                rate = down;
            }

            if (searchSteps >= MaxSteps - 1)
            {
                stopped = Invariant($"{MaxSteps - 1} steps");
                break;
            }
        }

        if (options.Bisect && good is { } g && bad is { } b && RoundRate(Math.Sqrt((double)g * b)) is var middle && middle > g && middle < b)
        {
            var step = await ThroughputStepRun.RunAsync(options, pipeline, middle, nextIndex(), "bisection", progress, cancellationToken).ConfigureAwait(false);
            steps.Add(step);
            if (step.KeptUp) good = middle;
            else bad = middle;
        }

        // The producer, on the same cores, not the pipeline, set the limit: the pipeline may keep up with more.
        var firstBad = steps.Where(s => !s.KeptUp && s.Rate == bad).Select(s => (ThroughputStep?)s).FirstOrDefault();
        if (firstBad?.ProducerShort == true) lowerBound = true;
        await progress.WriteLineAsync(Invariant(
            $"[{pipeline.Name}] sustainable: {(good is { } r ? Invariant($"{r:N0}/s") : "none")}{(lowerBound ? " (at least)" : "")}; {stopped}")).ConfigureAwait(false);
        if (cpuRate is { } fixedRate)
        {
            // A step of its own at the end, on a pipeline warmed by the search: the search's first step still pays
            // for code that the priming did not reach (tiered JIT, the first windows).
            steps.Add(await ThroughputStepRun.RunAsync(options, pipeline, fixedRate, nextIndex(), CpuPurpose, progress, cancellationToken).ConfigureAwait(false));
        }

        return new PipelineSearch(pipeline.Name, steps, good, bad, lowerBound, stopped);
    }

    /// <summary>Rates are whole hundreds, so that the table reads easily.</summary>
    private static int RoundRate(double rate) => Math.Max(100, (int)Math.Round(rate / 100, MidpointRounding.AwayFromZero) * 100);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
