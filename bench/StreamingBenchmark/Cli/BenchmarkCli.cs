using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Analytics.LocalBroker;

namespace Analytics.StreamingBenchmark.Cli;

/// <summary>The command line: option definitions and their binding to <see cref="BenchmarkOptions"/>.</summary>
internal static class BenchmarkCli
{
    private const string Description = """
        Streaming benchmark: events/s from Kafka into trivial Orleans subscriber grains through the Kafka stream
        provider (Streaming.Kafka), and, on the same data in the same process, a plain Confluent consumer that reads
        and parses every event. Starts librdkafka's mock cluster in-process, produces the data set once (lz4, keyed by
        user_id), checks the broker kept all of it, then runs the plain consumer, then an Orleans silo whose implicit
        subscriber grains (namespace user-events) count what they are given. Rates are taken from the first event to
        the last; the steady rate from the end of the warm-up (every grain active) to the last.
        Exit codes: 0 measured (whether or not the targets are met); 1 error (data lost, timeout); 2 invalid option.
        """;

    /// <summary>Parses <paramref name="args"/> and runs <paramref name="run"/> with the options; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error, Func<BenchmarkOptions, Task<int>> run)
    {
        var events = Long("--events", "Events produced once and read by every phase, warm-up included (the local broker keeps ~5 MiB of lz4 batches per partition: about 450,000 events over 8 partitions).", 400_000, 1, 100_000_000, "N");
        var users = Long("--users", "Distinct users user_0..user_{N-1} (one subscriber grain each), drawn uniformly.", 100_000, 1, 10_000_000, "N");
        var partitions = Long("--partitions", "Partitions of the topic (= Orleans queues).", 8, 1, MockKafkaCluster.MaxPartitions, "N");
        var seed = Long("--seed", "Seed of the event generator.", 42, 0, int.MaxValue, "N");
        var output = new Option<string?>("--output") { Description = "Write the results as JSON to FILE.", HelpName = "FILE" };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "Longest a phase may take before the run fails (e.g. 300s, 5m).",
            HelpName = "DURATION",
            DefaultValueFactory = _ => TimeSpan.FromMinutes(5),
            CustomParser = ParseDuration,
        };
        var recommended = ProviderSettings.Recommended;
        var timerMs = Long("--timer-ms", "Pulling agent: GetQueueMsgsTimerPeriod in ms.", (long)recommended.TimerPeriod.TotalMilliseconds, 1, 60_000, "MS");
        var batchSize = Long("--batch-size", "Pulling agent: BatchContainerBatchSize (the Kafka provider refuses anything but 1; kept to show its answer).", recommended.BatchContainerBatchSize, 1, 10_000, "N");
        var cacheSize = Long("--cache-size", "Events in each queue's cache (a tenth of it is the most one pull takes).", recommended.CacheSize, 10, 10_000_000, "N");
        var pollBatchSize = Long("--poll-batch-size", "Provider: most messages one queue takes from Kafka per pull.", recommended.PollBatchSize, 1, 1_000_000, "N");
        var noWarmUp = new Option<bool>("--no-warm-up") { Description = "Draw every event's user uniformly; by default the first --users events are one per user (shuffled), so that the steady rate, with every grain active, can be measured after them." };
        var sweep = new Option<bool>("--sweep") { Description = "Also run a fixed list of other provider settings, side by side." };

        var root = new RootCommand(Description)
        {
            events, users, partitions, seed, noWarmUp, output, timeout, timerMs, batchSize, cacheSize, pollBatchSize, sweep,
        };
        root.SetAction((parse, _) => run(new BenchmarkOptions
        {
            Events = parse.GetValue(events),
            Users = (int)parse.GetValue(users),
            Partitions = (int)parse.GetValue(partitions),
            Seed = (int)parse.GetValue(seed),
            WarmUp = !parse.GetValue(noWarmUp),
            Output = parse.GetValue(output),
            Timeout = parse.GetValue(timeout),
            Sweep = parse.GetValue(sweep),
            Provider = recommended with
            {
                TimerPeriod = TimeSpan.FromMilliseconds(parse.GetValue(timerMs)),
                BatchContainerBatchSize = (int)parse.GetValue(batchSize),
                CacheSize = (int)parse.GetValue(cacheSize),
                PollBatchSize = (int)parse.GetValue(pollBatchSize),
            },
        }));

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var e in result.Errors) await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await error.WriteLineAsync("Run with --help for the options.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        return await result.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
    }

    private static Option<long> Long(string name, string description, long defaultValue, long min, long max, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (long.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                && value >= min && value <= max)
            {
                return value;
            }

            r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name}: '{text}' is not a whole number from {min} to {max}"));
            return defaultValue;
        },
    };

    /// <summary>Seconds (<c>90</c>, <c>90s</c>) or minutes (<c>5m</c>).</summary>
    private static TimeSpan ParseDuration(ArgumentResult r)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value.Trim() : "";
        var (number, unit) = text.EndsWith('m') ? (text[..^1], 60.0) : (text.TrimEnd('s'), 1.0);
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value > 0 && value * unit <= 86_400)
        {
            return TimeSpan.FromSeconds(value * unit);
        }

        r.AddError($"--timeout: '{text}' is not a positive duration such as 300s or 5m");
        return TimeSpan.Zero;
    }
}

/// <summary>The process exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>The run measured what it set out to (targets met or not).</summary>
    public const int Ok = 0;

    /// <summary>The run could not measure: data lost, a phase timed out, a component failed.</summary>
    public const int Failed = 1;

    /// <summary>An invalid option.</summary>
    public const int Usage = 2;
}
