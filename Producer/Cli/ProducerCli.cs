using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Analytics.Producer.Sending;
using Analytics.Producer.Simulation;
using Confluent.Kafka;

namespace Analytics.Producer.Cli;

/// <summary>The command line: option definitions, validation, and the run they describe.</summary>
public static class ProducerCli
{
    /// <summary>The environment variable that supplies the default of --bootstrap-servers.</summary>
    public const string BootstrapEnvironmentVariable = "KAFKA_BOOTSTRAP";

    private const string DefaultBootstrapServers = "127.0.0.1:9092";

    private const string Description = """
        Shop simulator: users of an online shop view, cart and buy products; every event is a JSON UserEvent sent to a
        Kafka topic keyed by user_id (or written as NDJSON with --output).

        Density (event time): each active user's sessions arrive as a Poisson process averaging --sessions-per-day
        (default 3) over the persona mix; a session has about 8.5 events (7.5 views, 0.75 add_to_cart, 0.33 purchase).
        So the natural rate is about users x sessions/day x 8.5 per day of event time (1000 users: ~25,000/day, 0.3/s).
        Pacing (sending only): --speed X makes event time advance X times faster than wall-clock time, but never past
        the present: once the simulated clock reaches now it runs live (1x); --speed 0 = no event-time pacing.
        --rate R caps sending at R events per wall-clock second (0 = no cap); --speed 0 --rate R sends ~R events/s.
        With --output nothing is paced: as fast as possible.
        Limits: --events N stops after N generated valid events (duplicates and malformed payloads come on top; events
        held back as late are still sent). --duration is the wall-clock run time when sending, and the event-time span
        from --start when writing --output. With neither, sending goes on until Ctrl+C (which stops generating, sends
        the held-back events, flushes and prints the summary), and --output writes the history from --start up to now.
        Same --seed and options with an explicit --start and a limit give byte-identical output.
        Exit codes: 0 ok; 1 delivery errors; 2 invalid option; 3 Kafka unreachable.
        """;

    /// <summary>Parses <paramref name="args"/>, runs, and returns the exit code. Progress and summary go to <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stop, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        error = TextWriter.Synchronized(error);
        var command = new ProducerCommand(time.GetUtcNow());
        command.Root.SetAction(async (result, cancellationToken) =>
        {
            var options = command.Bind(result, out var problems);
            if (options is null)
            {
                foreach (var p in problems) await error.WriteLineAsync($"error: {p}").ConfigureAwait(false);
                await error.WriteLineAsync("Run with --help for the options.").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            return await RunAsync(options, error, cancellationToken, time).ConfigureAwait(false);
        });

        var parse = command.Root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // System.CommandLine would exit 1; invalid values are usage errors (2).
            foreach (var e in parse.Errors) await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            await error.WriteLineAsync("Run with --help for the options.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // Help and --version run their own actions. Ctrl+C is the caller's: no handler of System.CommandLine's own.
        var invocation = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
        return await parse.InvokeAsync(invocation, stop).ConfigureAwait(false);
    }

    /// <summary>Runs validated options (the part after parsing).</summary>
    public static async Task<int> RunAsync(ProducerOptions options, TextWriter error, CancellationToken stop, TimeProvider time)
    {
        var statistics = new SendStatistics();
        ShopSimulator? simulator = null;
        IMessageSource source;
        if (options.FromFile is { } replayPath)
        {
            if (!File.Exists(replayPath))
            {
                await error.WriteLineAsync($"error: --from-file: no such file '{replayPath}'").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            source = FileReplaySource.Open(replayPath, options.Events);
        }
        else
        {
            // --output with no limit: the history from --start up to now (an unbounded file would run into the future).
            var upToNow = options.Output is not null && options.Duration is null && options.Events is null;
            var span = upToNow ? time.GetUtcNow() - options.Start : options.Output is null ? null : options.Duration;
            if (upToNow && span < TimeSpan.FromSeconds(1))
            {
                await error.WriteLineAsync("error: --output with neither --events nor --duration writes the history up to now, but --start is not in the past").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            simulator = new ShopSimulator(new SimulationSettings
            {
                Seed = options.Seed,
                Users = options.Users,
                Products = options.Products,
                Start = options.Start,
                SessionsPerDay = options.SessionsPerDay,
                ChurnHorizon = options.ChurnHorizon,
                MaxEvents = options.Events,
                EventTimeSpan = span,
            });
            source = new SimulatedStream(simulator, new ImperfectionSettings(options.LateFraction, options.DuplicateFraction, options.MalformedFraction));
        }

        FileStream? truth = null;
        try
        {
            // Opened now so that an unwritable path fails before the run, not after it.
            try
            {
                if (simulator is not null && options.Truth is { } truthPath)
                    truth = new FileStream(truthPath, FileMode.Create, FileAccess.Write, FileShare.Read);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"error: --truth: cannot write '{options.Truth}': {ex.Message}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            IMessageSink sink;
            try
            {
                sink = options.Output is { } path
                    ? NdjsonSink.Open(path, statistics)
                    : KafkaSink.Connect(
                        new KafkaSinkSettings
                        {
                            BootstrapServers = options.BootstrapServers,
                            Topic = options.Topic,
                            Compression = options.Compression,
                            Linger = options.Linger,
                            ConnectTimeout = options.ConnectTimeout,
                        },
                        statistics,
                        error);
            }
            catch (KafkaUnreachableException ex)
            {
                await error.WriteLineAsync(ex.Message).ConfigureAwait(false);
                return ExitCodes.KafkaUnreachable;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"error: --output: cannot write '{options.Output}': {ex.Message}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            using (sink)
            {
                var sending = options.Output is null;
                var runner = new ProducerRunner(source, sink, statistics, sending ? new Pacer(options.Speed, options.Rate, time) : null, time)
                {
                    WallClockLimit = sending ? options.Duration : null,
                    Progress = options.Quiet ? null : error,
                };
                var elapsed = await runner.RunAsync(stop).ConfigureAwait(false);
                ProducerRunner.WriteSummary(error, statistics, elapsed, kafka: sending);
                if (source is SimulatedStream { SerializerWarning: { } warning })
                    await error.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
            }

            if (simulator is not null && truth is not null)
            {
                TruthFile.Write(simulator.GetTruth(), truth);
                await error.WriteLineAsync($"truth: {simulator.UserCount:N0} users written to {options.Truth}").ConfigureAwait(false);
            }

            return statistics.Failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        finally
        {
            if (truth is not null) await truth.DisposeAsync().ConfigureAwait(false);
            (source as IDisposable)?.Dispose();
        }
    }

    /// <summary>The option definitions (a class so that parsing and binding share them).</summary>
    private sealed class ProducerCommand
    {
        private static readonly string[] CompressionNames = ["none", "gzip", "snappy", "lz4", "zstd"];

        private readonly Option<string> _bootstrapServers = new("--bootstrap-servers")
        {
            Description = $"Kafka bootstrap servers. Default: ${BootstrapEnvironmentVariable}, else {DefaultBootstrapServers}.",
            HelpName = "HOST:PORT,...",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(BootstrapEnvironmentVariable) is { Length: > 0 } env ? env : DefaultBootstrapServers,
        };

        private readonly Option<string> _topic = new("--topic") { Description = "Topic to send to (it must exist).", HelpName = "NAME", DefaultValueFactory = _ => "user_events" };
        private readonly Option<int> _users = Int("--users", "Number of simulated users user_1..user_N.", 1000, 1, ShopSimulator.MaxUsers, "N");
        private readonly Option<int> _products = Int("--products", "Number of products in the catalogue.", 500, Category.All.Count, 10_000_000, "N");
        private readonly Option<double> _rate = Real("--rate", "Send at most this many events per wall-clock second; 0 = no cap.", 0, 0, 1e9, "EVENTS_PER_S");
        private readonly Option<long?> _events;
        private readonly Option<TimeSpan?> _duration;
        private readonly Option<DateTimeOffset?> _start;
        private readonly DateTimeOffset _now;
        private readonly Option<double> _speed = Real("--speed", "Event time runs X times faster than wall-clock time, never past now; 0 = no event-time pacing.", 1, 0, 1e12, "X");
        private readonly Option<long> _seed = new("--seed") { Description = "Seed of every random choice (fixed default: runs are reproducible).", HelpName = "N", DefaultValueFactory = _ => 42 };
        private readonly Option<double> _sessionsPerDay = Real("--sessions-per-day", "Mean sessions per day per active user (personas scale around it).", 3, 0.001, 10_000, "X", exclusiveMin: true);
        private readonly Option<TimeSpan?> _churnHorizon = Duration("--churn-horizon", "Churning users stop within this span after --start (decaying before).", "30d");
        private readonly Option<double> _lateFraction = Real("--late-fraction", "Share of events sent 3-60 min (event time) after their place.", 0, 0, 1, "F");
        private readonly Option<double> _duplicateFraction = Real("--duplicate-fraction", "Share of events sent twice (same bytes, 1 s-5 min later).", 0, 0, 1, "F");
        private readonly Option<double> _malformedFraction = Real("--malformed-fraction", "Per valid event, chance of an extra payload that the contract rejects.", 0, 0, 1, "F");
        private readonly Option<string?> _output = new("--output") { Description = "Write NDJSON to FILE instead of sending ('-' = stdout). No pacing.", HelpName = "FILE" };
        private readonly Option<string?> _fromFile = new("--from-file") { Description = "Send a recorded NDJSON file unchanged, line by line, keyed by its user_id (null key if none). Paced by --rate only.", HelpName = "FILE" };
        private readonly Option<string?> _truth = new("--truth") { Description = "At the end, write each user's hidden truth (JSON lines) to FILE.", HelpName = "FILE" };
        private readonly Option<CompressionType?> _compression;
        private readonly Option<int> _linger;
        private readonly Option<TimeSpan?> _connectTimeout = Duration("--connect-timeout", "How long to wait for the cluster's metadata at start-up.", "10s");
        private readonly Option<bool> _quiet = new("--quiet", "-q") { Description = "No progress lines on stderr (the summary is still printed)." };

        public ProducerCommand(DateTimeOffset now)
        {
            _events = new Option<long?>("--events")
            {
                Description = "Stop after N generated valid events (with --from-file: N lines).",
                HelpName = "N",
                CustomParser = r => ParseLong(r, "--events", 1),
            };
            _duration = Duration("--duration", "Wall-clock run time when sending; event-time span from --start with --output.", null);
            _now = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
            _start = new Option<DateTimeOffset?>("--start")
            {
                Description = "Event time where the simulation begins: ISO-8601 (UTC if no offset), 'now', or relative like -30d, -2h. [default: now]",
                HelpName = "TIME",
                CustomParser = r =>
                {
                    var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                    if (ValueParsers.TryParseTime(text, now, out var t) && t >= Grains.Interfaces.Events.UserEventJson.EarliestEventTime && t.Year < 9000)
                        return t;
                    r.AddError($"--start: '{text}' is not a usable time (ISO-8601 after 2000-01-01, 'now', or relative like -30d)");
                    return null;
                },
            };
            _compression = new Option<CompressionType?>("--compression")
            {
                Description = "Batch compression: none, gzip, snappy, lz4, zstd. [default: lz4]",
                HelpName = "CODEC",
                CustomParser = r =>
                {
                    var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                    CompressionType? codec = text.ToLowerInvariant() switch
                    {
                        "none" => CompressionType.None,
                        "gzip" => CompressionType.Gzip,
                        "snappy" => CompressionType.Snappy,
                        "lz4" => CompressionType.Lz4,
                        "zstd" => CompressionType.Zstd,
                        _ => null,
                    };
                    if (codec is not null) return codec;
                    r.AddError($"--compression: '{text}' is not one of {string.Join(", ", CompressionNames)}");
                    return null;
                },
            };

            _linger = Int("--linger", "Milliseconds the Kafka client waits to fill a batch (librdkafka linger.ms): larger batches compress better. [default: 5]", 5, 0, 10_000, "MS");

            Root = new RootCommand(Description)
            {
                _bootstrapServers, _topic, _users, _products, _rate, _events, _duration, _start, _speed, _seed,
                _sessionsPerDay, _churnHorizon, _lateFraction, _duplicateFraction, _malformedFraction, _output,
                _fromFile, _truth, _compression, _linger, _connectTimeout, _quiet,
            };
        }

        public RootCommand Root { get; }

        /// <summary>The options, or null with the reasons (combinations that no single option can judge).</summary>
        public ProducerOptions? Bind(ParseResult parse, out List<string> problems)
        {
            problems = [];
            var fromFile = parse.GetValue(_fromFile);
            var output = parse.GetValue(_output);
            if (fromFile is not null)
            {
                if (output is not null) problems.Add("--from-file and --output cannot be combined (the file is already NDJSON)");
                if (parse.GetValue(_truth) is not null) problems.Add("--truth needs a simulation; it cannot be combined with --from-file");
                foreach (var o in new[] { _lateFraction, _duplicateFraction, _malformedFraction })
                {
                    if (parse.GetValue(o) > 0) problems.Add($"{o.Name} needs a simulation; it cannot be combined with --from-file");
                }
            }

            if (string.IsNullOrWhiteSpace(parse.GetValue(_bootstrapServers))) problems.Add("--bootstrap-servers must not be empty");
            if (string.IsNullOrWhiteSpace(parse.GetValue(_topic))) problems.Add("--topic must not be empty");
            if (output is { Length: 0 }) problems.Add("--output needs a file name (or '-')");
            if (problems.Count > 0) return null;

            return new ProducerOptions
            {
                BootstrapServers = parse.GetValue(_bootstrapServers)!,
                Topic = parse.GetValue(_topic)!,
                Users = parse.GetValue(_users),
                Products = parse.GetValue(_products),
                Rate = parse.GetValue(_rate),
                Events = parse.GetValue(_events),
                Duration = parse.GetValue(_duration),
                Start = parse.GetValue(_start) ?? _now,
                Speed = parse.GetValue(_speed),
                Seed = parse.GetValue(_seed),
                SessionsPerDay = parse.GetValue(_sessionsPerDay),
                ChurnHorizon = parse.GetValue(_churnHorizon) ?? TimeSpan.FromDays(30),
                LateFraction = parse.GetValue(_lateFraction),
                DuplicateFraction = parse.GetValue(_duplicateFraction),
                MalformedFraction = parse.GetValue(_malformedFraction),
                Output = output,
                FromFile = fromFile,
                Truth = parse.GetValue(_truth),
                Compression = parse.GetValue(_compression) ?? CompressionType.Lz4,
                Linger = TimeSpan.FromMilliseconds(parse.GetValue(_linger)),
                ConnectTimeout = parse.GetValue(_connectTimeout) ?? TimeSpan.FromSeconds(10),
                Quiet = parse.GetValue(_quiet),
            };
        }

        private static Option<int> Int(string name, string description, int defaultValue, int min, int max, string helpName) => new(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => (int)(ParseLong(r, name, min, max) ?? defaultValue),
        };

        private static Option<double> Real(string name, string description, double defaultValue, double min, double max, string helpName, bool exclusiveMin = false) => new(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                    && double.IsFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max)
                    return value;
                r.AddError(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: '{text}' is not a number {(exclusiveMin ? "above" : "from")} {min} {(exclusiveMin ? "up " : "")}to {max}"));
                return defaultValue;
            },
        };

        /// <summary>A duration option. Its default is applied in <see cref="Bind"/> so that help shows "30d", not a TimeSpan.</summary>
        private static Option<TimeSpan?> Duration(string name, string description, string? defaultText) => new(name)
        {
            Description = description + (defaultText is null ? "" : $" [default: {defaultText}]"),
            HelpName = "DURATION",
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (ValueParsers.TryParseDuration(text, out var value) && value > TimeSpan.Zero) return value;
                r.AddError($"{name}: '{text}' is not a positive duration (e.g. 30s, 10m, 1h30m, 7d)");
                return null;
            },
        };

        private static long? ParseLong(ArgumentResult r, string name, long min, long max = long.MaxValue)
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
            if (long.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                && value >= min && value <= max)
                return value;
            r.AddError(max == long.MaxValue
                ? string.Create(CultureInfo.InvariantCulture, $"{name}: '{text}' is not a whole number of at least {min}")
                : string.Create(CultureInfo.InvariantCulture, $"{name}: '{text}' is not a whole number from {min} to {max}"));
            return null;
        }
    }
}
