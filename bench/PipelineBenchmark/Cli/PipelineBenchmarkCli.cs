using System.CommandLine;
using System.Globalization;

namespace Analytics.PipelineBenchmark.Cli;

/// <summary>The command line: the verb <c>latency</c>, its options and their binding.</summary>
internal static class PipelineBenchmarkCli
{
    private const string Description = """
        Benchmarks of a running pipeline, from the outside. Verbs:
          latency   event-to-dashboard latency: events produced at fixed rates, timed until the dashboard hub's pushes
                    count them (see 'latency --help')
        Exit codes: 0 measured; 1 error; 2 invalid option.
        """;

    private const string LatencyDescription = """
        Event-to-dashboard latency. Connects to the dashboard hub ({--url}/hubs/dashboard) as a SignalR client, as the
        dashboard page does, and keeps the funnel windows it is pushed: the number the page shows is the events counted
        in them (views + cart additions + purchases). It first sends one event per user (--prime-rate) and waits until
        they are counted, so that the steps meet a running shop's known users. Then, for each rate of --rates, produces live events (event time =
        now) to --topic at that rate with the Producer's settings (lz4, idempotent, acks=all, linger 5 ms): --warm-up,
        then --duration measured; and waits up to --drain-timeout for the dashboard to count them all.
        Latency of the k-th event of a step = when the first push arrived whose count reached k (over the step's
        baseline) minus when event k was handed to the Kafka client. Partitions are processed in parallel, so the k-th
        counted event need not be the k-th produced: this is the delay of the number on the page behind what was
        produced, which is what a viewer sees. Only this benchmark may produce to the pipeline while it runs
        (./bench.sh latency starts one with run_all.sh --no-producer).
        Exit codes: 0 measured (targets met or not); 1 error (events never counted, delivery failures); 2 invalid option.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter error, Func<LatencyBenchmarkOptions, Task<int>> runLatency)
    {
        var root = new RootCommand(Description) { LatencyCommand(runLatency) };
        return await CliOptions.InvokeAsync(root, args, error).ConfigureAwait(false);
    }

    private static Command LatencyCommand(Func<LatencyBenchmarkOptions, Task<int>> run)
    {
        var bootstrap = new Option<string>("--bootstrap-servers")
        {
            Description = "Kafka bootstrap servers of the pipeline (host:port,…); run_all.sh writes them to .run/env as KAFKA_BOOTSTRAP.",
            HelpName = "SERVERS",
            Required = true,
        };
        var topic = new Option<string>("--topic") { Description = "Topic the silo reads.", HelpName = "NAME", DefaultValueFactory = _ => "user_events" };
        var url = CliOptions.HttpUrl("--url", "Base address of the web host with the dashboard hub (http://host:port).");
        var rates = new Option<int[]>("--rates")
        {
            Description = "Producer rates in events/s, one step each, comma-separated (e.g. 1000,10000).",
            HelpName = "R,R…",
            DefaultValueFactory = _ => [1_000, 10_000],
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                var values = new List<int>();
                foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (!int.TryParse(part.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var rate) || rate is < 1 or > 1_000_000)
                    {
                        r.AddError($"--rates: '{part}' is not a rate from 1 to 1,000,000 events/s");
                        return [];
                    }

                    values.Add(rate);
                }

                if (values.Count == 0) r.AddError("--rates: give at least one rate");
                return [.. values];
            },
        };
        var warmUp = CliOptions.Duration("--warm-up", "Production at each step's rate before its measured events (grain activations, JIT); 0 for none.", TimeSpan.FromSeconds(20), allowZero: true);
        var duration = CliOptions.Duration("--duration", "How long each step produces measured events.", TimeSpan.FromSeconds(60));
        var drain = CliOptions.Duration("--drain-timeout", "Longest wait after a step's last event for the dashboard to count every event of the step.", TimeSpan.FromSeconds(60));
        var users = CliOptions.Long("--users", "Shoppers <prefix>0..<prefix>N-1; each event names one uniformly.", 20_000, 1, 10_000_000, "N");
        var prime = CliOptions.Long("--prime-rate", "Before the first step, one event per user at this rate, waited for until counted, so that the steps meet known users (0: none, every step then also pays first activations).", 2_000, 0, 1_000_000, "R");
        var prefix = new Option<string>("--user-prefix")
        {
            Description = "Prefix of the user ids (distinct from the simulator's user_).",
            HelpName = "TEXT",
            DefaultValueFactory = _ => "live_",
        };
        var pids = CliOptions.Pids("A process under test whose CPU time is measured over each step (Linux /proc); repeat for several (silo, web API, broker).");
        var seed = CliOptions.Long("--seed", "Seed of the event generator.", 42, 0, int.MaxValue, "N");
        var output = CliOptions.Output();

        var command = new Command("latency", LatencyDescription) { bootstrap, topic, url, rates, warmUp, duration, drain, users, prime, prefix, pids, seed, output };
        command.SetAction((parse, _) => run(new LatencyBenchmarkOptions
        {
            BootstrapServers = parse.GetValue(bootstrap)!,
            Topic = parse.GetValue(topic) ?? "user_events",
            Url = parse.GetValue(url)!,
            Rates = parse.GetValue(rates) ?? [],
            WarmUp = parse.GetValue(warmUp),
            Duration = parse.GetValue(duration),
            DrainTimeout = parse.GetValue(drain),
            Users = (int)parse.GetValue(users),
            PrimeRate = (int)parse.GetValue(prime),
            UserPrefix = parse.GetValue(prefix) ?? "live_",
            Pids = parse.GetValue(pids) ?? [],
            Seed = (int)parse.GetValue(seed),
            Output = parse.GetValue(output),
        }));
        return command;
    }
}
