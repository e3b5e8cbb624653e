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
        Verb 'users': the real user grains with persistence on PostgreSQL instead (see 'users --help').
        """;

    private const string UsersDescription = """
        Users benchmark: events/s through the real user grains (UserGrain, ADO.NET grain storage "users" on PostgreSQL,
        the Kafka commit gate, churn_features upserts) and the PostgreSQL writes per second they cause. Starts
        librdkafka's mock cluster in-process, produces the data set once (the first --users events one per user), then
        per commit interval: a fresh database on the --postgres server, a silo in this process wired like the real one
        (AddAnalyticsStorage + migrations, AddRawEventIngestion, AddUserGrains, the silo's own appsettings.json for
        Kafka/Users/Postgres), reading the topic from the beginning under a new consumer group. A run ends when every
        event is applied, the group's committed offsets reach the end of every partition and churn_features holds a
        row per user. Rates from the first applied event: to the last one, from every user active to the last one,
        and to the end (everything durable). PostgreSQL's own view: pg_stat_database of the run's database and
        pg_stat_wal, from before the silo starts to the end.
        Exit codes: 0 measured; 1 error (timeout, lost data, PostgreSQL unreachable); 2 invalid option.
        """;

    /// <summary>
    /// Parses <paramref name="args"/> and runs <paramref name="run"/> (the streaming benchmark) or, for the verb
    /// <c>users</c>, <paramref name="runUsers"/> with the options; returns the exit code.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error, Func<BenchmarkOptions, Task<int>> run, Func<UsersBenchmarkOptions, Task<int>> runUsers)
    {
        var events = CliOptions.Long("--events", "Events produced once and read by every phase, warm-up included (the local broker keeps ~5 MiB of lz4 batches per partition: about 450,000 events over 8 partitions).", 400_000, 1, 100_000_000, "N");
        var users = CliOptions.Long("--users", "Distinct users user_0..user_{N-1} (one subscriber grain each), drawn uniformly.", 100_000, 1, 10_000_000, "N");
        var partitions = CliOptions.Long("--partitions", "Partitions of the topic (= Orleans queues).", 8, 1, MockKafkaCluster.MaxPartitions, "N");
        var seed = CliOptions.Long("--seed", "Seed of the event generator.", 42, 0, int.MaxValue, "N");
        var output = new Option<string?>("--output") { Description = "Write the results as JSON to FILE.", HelpName = "FILE" };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "Longest a phase may take before the run fails (e.g. 300s, 5m).",
            HelpName = "DURATION",
            DefaultValueFactory = _ => TimeSpan.FromMinutes(5),
            CustomParser = r => ParseDuration(r, "--timeout"),
        };
        var recommended = ProviderSettings.Recommended;
        var timerMs = CliOptions.Long("--timer-ms", "Pulling agent: GetQueueMsgsTimerPeriod in ms.", (long)recommended.TimerPeriod.TotalMilliseconds, 1, 60_000, "MS");
        var batchSize = CliOptions.Long("--batch-size", "Pulling agent: BatchContainerBatchSize (the Kafka provider refuses anything but 1; kept to show its answer).", recommended.BatchContainerBatchSize, 1, 10_000, "N");
        var cacheSize = CliOptions.Long("--cache-size", "Events in each queue's cache (a tenth of it is the most one pull takes).", recommended.CacheSize, 10, 10_000_000, "N");
        var pollBatchSize = CliOptions.Long("--poll-batch-size", "Provider: most messages one queue takes from Kafka per pull.", recommended.PollBatchSize, 1, 1_000_000, "N");
        var noWarmUp = new Option<bool>("--no-warm-up") { Description = "Draw every event's user uniformly; by default the first --users events are one per user (shuffled), so that the steady rate, with every grain active, can be measured after them." };
        var sweep = new Option<bool>("--sweep") { Description = "Also run a fixed list of other provider settings, side by side." };

        var root = new RootCommand(Description)
        {
            events, users, partitions, seed, noWarmUp, output, timeout, timerMs, batchSize, cacheSize, pollBatchSize, sweep,
            UsersCommand(runUsers),
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

        return await CliOptions.InvokeAsync(root, args, error).ConfigureAwait(false);
    }

    /// <summary>The verb <c>users</c>: the user grains with persistence.</summary>
    private static Command UsersCommand(Func<UsersBenchmarkOptions, Task<int>> run)
    {
        var postgres = new Option<string>("--postgres")
        {
            Description = "Npgsql connection string of a PostgreSQL server where the benchmark may create and drop databases (one per run); its database is used for statistics only. ./bench.sh users starts a throwaway server and passes it.",
            HelpName = "CONNECTION",
            Required = true,
        };
        // 200,000: at ~1,500 events/s (PostgreSQL-bound on 2 cores) a run takes a little over two minutes.
        var events = CliOptions.Long("--events", "Events produced once and read by every run, warm-up included (the local broker keeps ~5 MiB of lz4 batches per partition: about 450,000 events over 8 partitions).", 200_000, 1, 100_000_000, "N");
        var users = CliOptions.Long("--users", "Distinct users user_0..user_{N-1} (one UserGrain, one grain state row and one churn_features row each); the first N events are one per user.", 20_000, 1, 10_000_000, "N");
        var partitions = CliOptions.Long("--partitions", "Partitions of the topic (= Orleans queues = Kafka:Partitions).", 8, 1, MockKafkaCluster.MaxPartitions, "N");
        var seed = CliOptions.Long("--seed", "Seed of the event generator.", 42, 0, int.MaxValue, "N");
        var commitInterval = new Option<TimeSpan>("--commit-interval")
        {
            Description = "Kafka:CommitInterval: how often each partition's commit gate asks the user grains to write their state (e.g. 1s, 500ms).",
            HelpName = "DURATION",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(1),
            CustomParser = r => ParseDuration(r, "--commit-interval"),
        };
        var sweep = new Option<bool>("--sweep")
        {
            Description = string.Create(CultureInfo.InvariantCulture, $"Also run with a commit interval of {string.Join(", ", UsersBenchmarkOptions.SweepCommitIntervals.Select(i => $"{i.TotalSeconds:0.###} s"))} (a fresh database and consumer group each), side by side."),
        };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "Longest one run may take, silo start to everything durable, before the benchmark fails (e.g. 300s, 5m).",
            HelpName = "DURATION",
            DefaultValueFactory = _ => TimeSpan.FromMinutes(5),
            CustomParser = r => ParseDuration(r, "--timeout"),
        };
        var output = new Option<string?>("--output") { Description = "Write the results as JSON to FILE.", HelpName = "FILE" };

        var command = new Command("users", UsersDescription) { postgres, events, users, partitions, seed, commitInterval, sweep, timeout, output };
        command.SetAction((parse, _) => run(new UsersBenchmarkOptions
        {
            Postgres = parse.GetValue(postgres) ?? "",
            Events = parse.GetValue(events),
            Users = (int)parse.GetValue(users),
            Partitions = (int)parse.GetValue(partitions),
            Seed = (int)parse.GetValue(seed),
            CommitInterval = parse.GetValue(commitInterval),
            Sweep = parse.GetValue(sweep),
            Timeout = parse.GetValue(timeout),
            Output = parse.GetValue(output),
        }));
        return command;
    }

    /// <summary>Milliseconds (<c>500ms</c>), seconds (<c>90</c>, <c>90s</c>) or minutes (<c>5m</c>).</summary>
    private static TimeSpan ParseDuration(ArgumentResult r, string name)
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value.Trim() : "";
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : (text.TrimEnd('s'), 1.0);
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value > 0 && value * unit <= 86_400)
        {
            return TimeSpan.FromSeconds(value * unit);
        }

        r.AddError($"{name}: '{text}' is not a positive duration such as 500ms, 300s or 5m");
        return TimeSpan.Zero;
    }
}
