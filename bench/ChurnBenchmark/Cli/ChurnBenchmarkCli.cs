using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Analytics.ChurnBenchmark.Cli;

/// <summary>The command line: the verbs <c>training</c> and <c>predict</c>, their options and their binding.</summary>
internal static class ChurnBenchmarkCli
{
    private const string Description = """
        Churn model benchmarks. Verbs:
          training   training time for a simulated user base: fresh database, simulated history loaded into raw_events,
                     point-in-time data set, training, model file (see 'training --help')
          predict    HTTP load on the web API's POST /predict: requests/s and latency percentiles (see 'predict --help')
        Exit codes: 0 measured; 1 error (a failed check, a 200 rate below 99 %); 2 invalid option.
        """;

    private const string TrainingDescription = """
        Training benchmark: how long the churn model takes to train for a user base of --users simulated users.
        Creates a fresh database on the --postgres server (dropped at the end) and runs the schema migrations
        (AddAnalyticsStorage); generates --days of the shop simulator's history in this process and loads it into
        raw_events with binary COPY (secondary indexes dropped first and built again after); ANALYZE; then measures,
        each on its own clock: the point-in-time data set
        (ChurnDatasetBuilder over ChurnHistoryReader, cutoff = newest event - --horizon), training (ChurnTrainer) and
        saving the model (ChurnModelFile, to a temporary directory). Progress on stderr; a table on stdout; JSON with
        --output. The simulator's density is lowered (--sessions-per-day 0.5 instead of its 3) so that the history of
        100,000 users loads in minutes; the data set still has one example per user.
        Exit codes: 0 measured; 1 error; 2 invalid option.
        """;

    private const string PredictDescription = """
        Prediction load benchmark: POST {--url}/predict with {"user_id":"<prefix><k>"}, k uniform in [1, --users], from
        --concurrency async loops over one HttpClient (as many connections, no proxy). Runs --warm-up, then measures
        for --duration: requests/s, latency percentiles (p50, p90, p99, p99.9, max; closed loop, so they are service
        times at this concurrency), status codes and failures, and with --pid the CPU time of the processes under test.
        The first answer with status 200 must be JSON with a numeric churn_probability; the others are read and
        discarded. Exit codes: 0 measured; 1 error (a 200 rate below 99 %, a malformed answer, no answer at all);
        2 invalid option.
        """;

    /// <summary>
    /// Parses <paramref name="args"/> and runs <paramref name="runTraining"/> or <paramref name="runPredict"/> with the
    /// options of the verb given; returns the exit code.
    /// </summary>
    public static async Task<int> RunAsync(
        string[] args, TextWriter error, Func<TrainingBenchmarkOptions, Task<int>> runTraining, Func<PredictBenchmarkOptions, Task<int>> runPredict)
    {
        var root = new RootCommand(Description) { TrainingCommand(runTraining, error), PredictCommand(runPredict) };
        return await CliOptions.InvokeAsync(root, args, error).ConfigureAwait(false);
    }

    private static Command TrainingCommand(Func<TrainingBenchmarkOptions, Task<int>> run, TextWriter error)
    {
        var postgres = new Option<string>("--postgres")
        {
            Description = "Npgsql connection string of a PostgreSQL server where the benchmark may create and drop a database. ./bench.sh training starts a throwaway server and passes it.",
            HelpName = "CONNECTION",
            Required = true,
        };
        var users = CliOptions.Long("--users", "Simulated users user_1..user_N: the size of the data set.", 100_000, 1, 4_194_303, "N");
        var days = CliOptions.Long("--days", "Days of simulated history.", 14, 1, 3650, "N");
        var sessions = CliOptions.Real("--sessions-per-day", "Mean sessions per day per active user (the simulator's default is 3; ~8.5 events each). Lowered so that the history loads in minutes: events ≈ users × days × this × 8.5 × ~0.85.", 0.5, 0.01, 100, "X");
        var churnHorizon = CliOptions.Duration("--churn-horizon", "Churning users churn within this span after the start of the history (the simulator's --churn-horizon).", TimeSpan.FromDays(14));
        var horizon = CliOptions.Duration("--horizon", "Label horizon H: churned = no event in (cutoff, cutoff + H]; cutoff = newest event - H.", TimeSpan.FromDays(3));
        var seed = CliOptions.Long("--seed", "Seed of the simulator and of the trainer.", 42, 0, int.MaxValue, "N");
        var testFraction = CliOptions.Real("--test-fraction", "Share of the users held out for the metrics.", 0.2, 0.01, 0.99, "F");
        var start = new Option<DateTimeOffset>("--start")
        {
            Description = "Event time at which the history begins (ISO-8601, UTC unless an offset is given); fixed by default so runs are reproducible.",
            HelpName = "TIME",
            DefaultValueFactory = _ => TrainingBenchmarkOptions.DefaultStart,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)) return value;
                r.AddError($"--start: '{text}' is not a date and time such as 2025-01-01 or 2025-01-01T08:00:00Z");
                return TrainingBenchmarkOptions.DefaultStart;
            },
        };
        var copyBatch = CliOptions.Long("--copy-batch", "Events per binary COPY transaction.", 500_000, 1_000, 100_000_000, "N");
        var output = CliOptions.Output();

        var command = new Command("training", TrainingDescription)
        {
            postgres, users, days, sessions, churnHorizon, horizon, seed, testFraction, start, copyBatch, output,
        };
        command.SetAction(async (parse, _) =>
        {
            var options = new TrainingBenchmarkOptions
            {
                Postgres = parse.GetValue(postgres) ?? "",
                Users = (int)parse.GetValue(users),
                Days = (int)parse.GetValue(days),
                SessionsPerDay = parse.GetValue(sessions),
                ChurnHorizon = parse.GetValue(churnHorizon),
                Horizon = parse.GetValue(horizon),
                Seed = (int)parse.GetValue(seed),
                TestFraction = parse.GetValue(testFraction),
                Start = parse.GetValue(start),
                CopyBatch = (int)parse.GetValue(copyBatch),
                Output = parse.GetValue(output),
            };
            if (options.Horizon >= TimeSpan.FromDays(options.Days))
            {
                await error.WriteLineAsync($"error: --horizon ({CliOptions.Describe(options.Horizon)}) must be shorter than the history (--days {options.Days}): the cutoff is the newest event minus the horizon.").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            return await run(options).ConfigureAwait(false);
        });
        return command;
    }

    private static Command PredictCommand(Func<PredictBenchmarkOptions, Task<int>> run)
    {
        var url = CliOptions.HttpUrl("--url", "Base address of the web API (http://host:port); requests go to POST <url>/predict.");
        var users = CliOptions.Long("--users", "Users asked for: <prefix><k>, k uniform in [1, N]. ./bench.sh predict passes the simulator's --users. Required unless --user-ids is given.", 0, 1, int.MaxValue, "N");
        users.DefaultValueFactory = null;
        var userIds = new Option<string?>("--user-ids")
        {
            Description = "A file of user ids, one a line: draw from them uniformly instead of <prefix>1..<prefix>N (e.g. only users with stored events).",
            HelpName = "FILE",
        };
        var prefix = new Option<string>("--user-prefix")
        {
            Description = "Prefix of the user ids (the simulator's users are user_1..user_N).",
            HelpName = "TEXT",
            DefaultValueFactory = _ => "user_",
        };
        var concurrency = CliOptions.Long("--concurrency", "Requests in flight at once (async loops, and at most as many connections).", 32, 1, 10_000, "N");
        var duration = CliOptions.Duration("--duration", "Length of the measured window.", TimeSpan.FromSeconds(30));
        var warmUp = CliOptions.Duration("--warm-up", "Load before the measured window starts (JIT, connections, caches); 0 for none.", TimeSpan.FromSeconds(5), allowZero: true);
        warmUp.Aliases.Add("--warmup");
        var timeout = CliOptions.Duration("--request-timeout", "Longest one request may take before it counts as failed.", TimeSpan.FromSeconds(10));
        var pids = CliOptions.Pids("A process under test whose CPU time is measured over the window (Linux /proc); repeat for several (e.g. the web API and the silo).");
        var seed = CliOptions.Long("--seed", "Seed of the user choice.", 42, 0, int.MaxValue, "N");
        var output = CliOptions.Output();

        var command = new Command("predict", PredictDescription) { url, users, userIds, prefix, concurrency, duration, warmUp, timeout, pids, seed, output };
        command.Validators.Add(r =>
        {
            if (r.GetResult(users) is null && r.GetResult(userIds) is null) r.AddError("--users or --user-ids is required");
        });
        command.SetAction((parse, _) => run(new PredictBenchmarkOptions
        {
            Url = parse.GetValue(url)!,
            Users = (int)parse.GetValue(users),
            UserIdsFile = parse.GetValue(userIds),
            UserPrefix = parse.GetValue(prefix) ?? "user_",
            Concurrency = (int)parse.GetValue(concurrency),
            Duration = parse.GetValue(duration),
            WarmUp = parse.GetValue(warmUp),
            RequestTimeout = parse.GetValue(timeout),
            Pids = parse.GetValue(pids) ?? [],
            Seed = (int)parse.GetValue(seed),
            Output = parse.GetValue(output),
        }));
        return command;
    }
}
