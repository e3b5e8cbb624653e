using System.CommandLine;
using System.Globalization;

namespace Analytics.PipelineBenchmark.Cli;

/// <summary>The command line: the verbs <c>latency</c> and <c>throughput</c> (and the hidden <c>bare-consumer</c>), their options and their binding.</summary>
internal static class PipelineBenchmarkCli
{
    private const string Description = """
        Benchmarks of a running pipeline, from the outside. Verbs:
          latency     event-to-dashboard latency: events produced at fixed rates, timed until the dashboard hub's pushes
                      count them (see 'latency --help')
          throughput  sustainable throughput: the highest producer rate the pipeline keeps up with, found by stepping
                      the rate, against a bare pipeline (plain consumer, COPY, funnel counts in memory; see
                      'throughput --help')
        Exit codes: 0 measured; 1 error; 2 invalid option.
        """;

    private const string LatencyDescription = """
        Event-to-dashboard latency. Connects to the dashboard hub ({--url}/hubs/dashboard) as a SignalR client, as the
        dashboard page does, and keeps the funnel windows it is pushed: the number the page shows is the events counted
        in them (views + cart additions + purchases). It first sends one event per user (--prime-rate) and waits until
        they are counted, so that the steps meet a running shop's known users. Then, for each rate of --rates, produces live events (event time =
        now) to --topic at that rate with the Producer's settings (lz4, idempotent, acks=all, linger 5 ms unless --linger): --warm-up,
        then --duration measured; and waits up to --drain-timeout for the dashboard to count them all.
        Latency of the k-th event of a step = when the first push arrived whose count reached k (over the step's
        baseline) minus when event k was handed to the Kafka client. Partitions are processed in parallel, so the k-th
        counted event need not be the k-th produced: this is the delay of the number on the page behind what was
        produced, which is what a viewer sees. Only this benchmark may produce to the pipeline while it runs
        (./bench.sh latency starts one with run_all.sh --no-producer).
        Exit codes: 0 measured (targets met or not); 1 error (events never counted, delivery failures); 2 invalid option.
        """;

    private const string ThroughputDescription = """
        Sustainable throughput: the highest producer rate a pipeline keeps up with for --duration, found by stepping the
        rate. Two pipelines are searched in the same run, the bare one first: "bare", a plain Confluent consumer (its own
        process, group bench-bare, reading --bare-topic) that parses each event with the contract's parser, stores each
        batch with a binary COPY into a staging table and INSERT ... ON CONFLICT DO NOTHING into bench_bare.raw_events
        (created here like raw_events), commits its offsets after each batch, and keeps funnel counts per 10-minute
        window in memory; and "orleans", the running silo, reading --topic. Before each pipeline's first step one event
        per user is sent (--prime-rate) and waited for. Each step produces live events at one rate with the Producer's
        settings and samples the lag every second (acknowledged by the broker minus stored by the pipeline: the silo's
        'inserted' counter, the bare consumer's own count). A step is kept up when the producer held the rate, the
        largest lag of its last 10 s (or last third) is at most max(2 s of events, the lag at 2/3 of the step), and
        within --catch-up of its last event the pipeline reflects every event exactly: for orleans raw_events (the
        silo's counter), sum(views + add_to_carts + purchases + late_events) over funnel_summary and
        sum(total_views + total_add_to_carts + total_purchases) over churn_features; for bare its stored count and its
        funnel total. The rate starts at --start-rate and is multiplied by --factor while steps keep up (divided while
        they do not), up to --max-rate; then one step between the last rate kept up with and the first one not
        (--bisect). A step is stopped early once its lag passes 10 s of events or 150,000 events (the local broker keeps
        only ~5 MiB per partition). The silo's CPU time per event is measured at --cpu-rate, in a step of its own after
        the search. Only this benchmark may produce to the pipeline while it runs (./bench.sh throughput starts one with
        run_all.sh --no-producer).
        Exit codes: 0 measured; 1 error (delivery failures, a pipeline that never caught up with the priming); 2 invalid option.
        """;

    public static async Task<int> RunAsync(
        string[] args,
        TextWriter error,
        Func<LatencyBenchmarkOptions, Task<int>> runLatency,
        Func<ThroughputBenchmarkOptions, Task<int>> runThroughput,
        Func<BareConsumerOptions, Task<int>> runBareConsumer)
    {
        var root = new RootCommand(Description) { LatencyCommand(runLatency), ThroughputCommand(runThroughput), BareConsumerCommand(runBareConsumer) };
        return await CliOptions.InvokeAsync(root, args, error).ConfigureAwait(false);
    }

    private static Command LatencyCommand(Func<LatencyBenchmarkOptions, Task<int>> run)
    {
        var bootstrap = Bootstrap();
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
        var linger = Linger(5);
        var output = CliOptions.Output();

        var command = new Command("latency", LatencyDescription) { bootstrap, topic, url, rates, warmUp, duration, drain, users, prime, prefix, pids, seed, linger, output };
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
            LingerMs = (int)parse.GetValue(linger),
            Output = parse.GetValue(output),
        }));
        return command;
    }

    private static Option<long> Linger(long defaultMs) => CliOptions.Long(
        "--linger",
        "The load producer's linger.ms (the Producer's is 5). The local broker (librdkafka's mock) finds a fetch's offset by walking the partition's message sets one by one, so its CPU grows with their number: at 5 ms it spent about a quarter of the machine at 10,000 events/s; real Kafka indexes offsets.",
        defaultMs,
        0,
        1_000,
        "MS");

    private static Command ThroughputCommand(Func<ThroughputBenchmarkOptions, Task<int>> run)
    {
        var bootstrap = Bootstrap();
        var topic = new Option<string>("--topic") { Description = "Topic the silo reads.", HelpName = "NAME", DefaultValueFactory = _ => "user_events" };
        var bareTopic = new Option<string>("--bare-topic")
        {
            Description = "Topic of the bare pipeline; the local broker must create it with the same partitions (LocalBroker__Topics=user_events,user_events_bare).",
            HelpName = "NAME",
            DefaultValueFactory = _ => "user_events_bare",
        };
        var postgres = new Option<string>("--postgres")
        {
            Description = "Npgsql connection string of the pipeline's database; run_all.sh writes it to .run/env as POSTGRES_CONNECTION.",
            HelpName = "CONNECTION",
            Required = true,
        };
        var siloUrl = CliOptions.HttpUrl("--silo-url", "Base address of the silo's HTTP endpoint (/health/ingestion); run_all.sh writes it to .run/env as SILO_URL.");
        var pipelines = new Option<string[]>("--pipelines")
        {
            Description = "Which pipelines to search, in this order, comma-separated: bare, orleans.",
            HelpName = "P,P",
            DefaultValueFactory = _ => [.. ThroughputBenchmarkOptions.PipelineNames],
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var name in names)
                {
                    if (!ThroughputBenchmarkOptions.PipelineNames.Contains(name)) r.AddError($"--pipelines: '{name}' is not one of {string.Join(", ", ThroughputBenchmarkOptions.PipelineNames)}");
                }

                if (names.Length == 0) r.AddError("--pipelines: name at least one pipeline");
                if (names.Distinct().Count() != names.Length) r.AddError("--pipelines: a pipeline is named twice");
                return names;
            },
        };
        const long DefaultStartRate = 5_000, DefaultMaxRate = 100_000;
        var startRate = CliOptions.Long("--start-rate", "Rate of the first step, events/s.", DefaultStartRate, 100, 1_000_000, "R");
        var factor = CliOptions.Real("--factor", "Each step's rate over the previous one while the steps keep up (under it while they do not).", 1.5, 1.05, 10, "F");
        var maxRate = CliOptions.Long("--max-rate", "Highest rate tried, events/s.", DefaultMaxRate, 100, 1_000_000, "R");
        var bisect = new Option<bool>("--bisect")
        {
            Description = "One more step between the last rate kept up with and the first one not (--bisect false: none).",
            DefaultValueFactory = _ => true,
        };
        var duration = CliOptions.Duration("--duration", "How long each step produces.", TimeSpan.FromSeconds(60));
        var catchUp = CliOptions.Duration("--catch-up", "How soon after a step's last event every event must be reflected (stored and counted).", TimeSpan.FromSeconds(10));
        var cpuRate = CliOptions.Long("--cpu-rate", "Rate at which the silo's CPU time per event is measured (a step of --duration after the search, on a warm pipeline).", 5_000, 100, 1_000_000, "R");
        var users = CliOptions.Long("--users", "Shoppers <prefix>0..<prefix>N-1; each event names one uniformly.", 20_000, 1, 10_000_000, "N");
        var prime = CliOptions.Long("--prime-rate", "Before each pipeline's first step, one event per user at this rate, waited for (0: none; the first step then also pays first activations).", 2_000, 0, 1_000_000, "R");
        var prefix = new Option<string>("--user-prefix")
        {
            Description = "Prefix of the user ids (distinct from the simulator's user_).",
            HelpName = "TEXT",
            DefaultValueFactory = _ => "live_",
        };
        var pids = CliOptions.Pids("A process of the running pipeline whose CPU time is measured over each step (Linux /proc); repeat for several: the silo first, then the web API and the broker.");
        var seed = CliOptions.Long("--seed", "Seed of the event generator.", 42, 0, int.MaxValue, "N");
        var linger = Linger(20);
        var output = CliOptions.Output();

        var command = new Command("throughput", ThroughputDescription)
        {
            bootstrap, topic, bareTopic, postgres, siloUrl, pipelines, startRate, factor, maxRate, bisect, duration, catchUp, cpuRate, users, prime, prefix, pids, seed, linger, output,
        };
        command.Validators.Add(r =>
        {
            // A validator sees 0, not the default, for an option not given.
            var start = r.GetResult(startRate) is null ? DefaultStartRate : r.GetValue(startRate);
            var max = r.GetResult(maxRate) is null ? DefaultMaxRate : r.GetValue(maxRate);
            if (start > max) r.AddError("--start-rate is above --max-rate");
        });
        command.SetAction((parse, _) => run(new ThroughputBenchmarkOptions
        {
            BootstrapServers = parse.GetValue(bootstrap)!,
            Topic = parse.GetValue(topic) ?? "user_events",
            BareTopic = parse.GetValue(bareTopic) ?? "user_events_bare",
            Postgres = parse.GetValue(postgres)!,
            SiloUrl = parse.GetValue(siloUrl)!,
            Pipelines = parse.GetValue(pipelines) ?? [],
            StartRate = (int)parse.GetValue(startRate),
            Factor = parse.GetValue(factor),
            MaxRate = (int)parse.GetValue(maxRate),
            Bisect = parse.GetValue(bisect),
            Duration = parse.GetValue(duration),
            CatchUp = parse.GetValue(catchUp),
            CpuRate = (int)parse.GetValue(cpuRate),
            Users = (int)parse.GetValue(users),
            PrimeRate = (int)parse.GetValue(prime),
            UserPrefix = parse.GetValue(prefix) ?? "live_",
            Pids = parse.GetValue(pids) ?? [],
            Seed = (int)parse.GetValue(seed),
            LingerMs = (int)parse.GetValue(linger),
            Output = parse.GetValue(output),
        }));
        return command;
    }

    /// <summary>The bare pipeline's consumer, run by the throughput verb in a process of its own so that its CPU time is its own.</summary>
    private static Command BareConsumerCommand(Func<BareConsumerOptions, Task<int>> run)
    {
        var bootstrap = Bootstrap();
        var topic = new Option<string>("--topic") { Description = "Topic it reads.", HelpName = "NAME", Required = true };
        var group = new Option<string>("--group") { Description = "Its consumer group.", HelpName = "NAME", DefaultValueFactory = _ => "bench-bare" };
        var postgres = new Option<string>("--postgres") { Description = "Npgsql connection string of the database with bench_bare.raw_events.", HelpName = "CONNECTION", Required = true };
        var command = new Command("bare-consumer", "The throughput verb's bare pipeline (started by it; stops when its standard input closes).")
        {
            bootstrap, topic, group, postgres,
        };
        command.Hidden = true;
        command.SetAction((parse, _) => run(new BareConsumerOptions
        {
            BootstrapServers = parse.GetValue(bootstrap)!,
            Topic = parse.GetValue(topic)!,
            Group = parse.GetValue(group) ?? "bench-bare",
            Postgres = parse.GetValue(postgres)!,
        }));
        return command;
    }

    private static Option<string> Bootstrap() => new("--bootstrap-servers")
    {
        Description = "Kafka bootstrap servers of the pipeline (host:port,…); run_all.sh writes them to .run/env as KAFKA_BOOTSTRAP.",
        HelpName = "SERVERS",
        Required = true,
    };
}
