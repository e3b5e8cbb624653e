using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Analytics.ChurnBenchmark.Cli;

namespace Analytics.ChurnBenchmark.Predict;

/// <summary>
/// The prediction load benchmark: <see cref="PredictBenchmarkOptions.Concurrency"/> async loops, each sending
/// <c>POST /predict</c> and awaiting the whole answer before its next request (a closed loop), over one shared
/// <see cref="HttpClient"/>. A request counts in the measured window when it completes inside it; each loop keeps its
/// own histogram and status counts, merged at the end.
/// </summary>
internal static class PredictBenchmarkRun
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    public static Task<int> RunAsync(PredictBenchmarkOptions options, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
        => BenchmarkRunner.RunAsync(output, progress, options.Output, machine => RunAsync(machine, options, progress, cancellationToken), cancellationToken);

    private static async Task<IBenchmarkReport> RunAsync(Machine machine, PredictBenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var endpoint = new Uri(options.Url.AbsoluteUri.TrimEnd('/') + "/predict");
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = options.Concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = options.RequestTimeout,
        };
        using var client = new HttpClient(handler, disposeHandler: false) { Timeout = options.RequestTimeout };
        var bodies = options.UserIdsFile is null ? null : await ReadBodiesAsync(options.UserIdsFile, cancellationToken).ConfigureAwait(false);
        var shared = new SharedState();
        var loops = Enumerable.Range(0, options.Concurrency).Select(i => new LoadLoop(i, options, endpoint, client, shared, bodies)).ToArray();

        await progress.WriteLineAsync(Invariant($"[predict] POST {endpoint} from {options.Concurrency} loops, {options.DescribeUsers(bodies?.Length)}; warm-up {options.WarmUp.TotalSeconds:0.#} s, then {options.Duration.TotalSeconds:0.#} s measured")).ConfigureAwait(false);
        var began = Stopwatch.GetTimestamp();
        var tasks = loops.Select(l => Task.Run(() => l.RunAsync(cancellationToken), cancellationToken)).ToArray();
        try
        {
            await WarmUpAsync(options, loops, shared, began, progress, cancellationToken).ConfigureAwait(false);

            var start = Stopwatch.GetTimestamp();
            var cpuBefore = Snapshot(options.Pids);
            var window = new Window(start, start + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency));
            shared.Window = window;
            var lastCount = 0L;
            var lastAt = TimeSpan.Zero;
            await EveryAsync(start, options.Duration, async now =>
            {
                var count = loops.Sum(l => l.WindowCount);
                await progress.WriteLineAsync(Invariant($"[predict] {now.TotalSeconds,5:0} s: {count,9:N0} requests ({(count - lastCount) / (now - lastAt).TotalSeconds,7:N0}/s), not 200: {loops.Sum(l => l.WindowNot200):N0}")).ConfigureAwait(false);
                lastCount = count;
                lastAt = now;
            }, cancellationToken).ConfigureAwait(false);

            // Exactly the window's end: the loops stop counting there, whatever this thread's timer did.
            var seconds = (double)(window.End - start) / Stopwatch.Frequency;
            var cpuAfter = Snapshot(options.Pids);
            var cpuSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            shared.Stop = true;
            await Task.WhenAll(tasks).ConfigureAwait(false);

            var histogram = new LatencyHistogram();
            var statuses = new SortedDictionary<int, long>();
            var failures = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var loop in loops)
            {
                histogram.Add(loop.Histogram);
                for (var code = 0; code < loop.Statuses.Length; code++)
                {
                    if (loop.Statuses[code] > 0) statuses[code] = statuses.GetValueOrDefault(code) + loop.Statuses[code];
                }

                foreach (var (kind, n) in loop.Failures) failures[kind] = failures.GetValueOrDefault(kind) + n;
            }

            var processes = options.Pids.Select(pid => ProcessCpu.Between(pid, cpuBefore.Processes, cpuAfter.Processes, cpuSeconds)).ToList();
            return new PredictReport(
                machine,
                options,
                options.DescribeUsers(bodies?.Length),
                endpoint,
                seconds,
                histogram,
                statuses,
                failures,
                shared.FirstAnswer,
                shared.FirstAnswerProblem,
                loops.Sum(l => l.TotalRequests),
                processes,
                new ProcessCpu(Environment.ProcessId, "load generator (this process)", (cpuAfter.Self - cpuBefore.Self) / cpuSeconds),
                cpuAfter.SelfAllocated - cpuBefore.SelfAllocated,
                cpuBefore.Machine is { } m0 && cpuAfter.Machine is { } m1 && m1.Total > m0.Total ? (m1.Busy - m0.Busy) / (m1.Total - m0.Total) * Environment.ProcessorCount : null,
                Machine.LoadAverage());
        }
        finally
        {
            shared.Stop = true;
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C: the loops stopped mid-request.
            }
        }
    }

    private static async Task WarmUpAsync(
        PredictBenchmarkOptions options, LoadLoop[] loops, SharedState shared, long start, TextWriter progress, CancellationToken cancellationToken)
    {
        await EveryAsync(start, options.WarmUp, now => progress.WriteLineAsync(Invariant($"[warm-up] {now.TotalSeconds,5:0} s: {loops.Sum(l => l.TotalRequests):N0} requests")), cancellationToken)
            .ConfigureAwait(false);
        if (shared.FirstAnswerProblem is { } problem) throw new BenchmarkException(problem);
    }

    /// <summary>Waits until <paramref name="length"/> after <paramref name="start"/>, calling <paramref name="report"/> every 5 s and at the end.</summary>
    private static async Task EveryAsync(long start, TimeSpan length, Func<TimeSpan, Task> report, CancellationToken cancellationToken)
    {
        var next = ProgressInterval;
        while (true)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed >= length) return;
            var until = next < length ? next : length;
            // Rounded up: a delay below a millisecond would return at once and spin.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling((until - elapsed).TotalMilliseconds)), cancellationToken).ConfigureAwait(false);
            var now = Stopwatch.GetElapsedTime(start);
            if (now >= next || now >= length)
            {
                await report(now).ConfigureAwait(false);
                next += ProgressInterval;
            }
        }
    }

    /// <summary>The request body of every user id of <paramref name="path"/> (one a line, blank lines skipped), encoded once.</summary>
    private static async Task<byte[][]> ReadBodiesAsync(string path, CancellationToken cancellationToken)
    {
        var ids = (await File.ReadAllLinesAsync(path, cancellationToken).ConfigureAwait(false))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0)
            .ToArray();
        if (ids.Length == 0) throw new BenchmarkException($"--user-ids: {path} holds no user id");
        return [.. ids.Select(id => Encoding.UTF8.GetBytes("{\"user_id\":" + JsonSerializer.Serialize(id) + "}"))];
    }

    private static CpuSnapshot Snapshot(IReadOnlyList<int> pids)
    {
        using var self = Process.GetCurrentProcess();
        return new CpuSnapshot(
            self.TotalProcessorTime.TotalSeconds,
            GC.GetTotalAllocatedBytes(precise: false),
            pids.Distinct().ToDictionary(pid => pid, CpuProbe.ProcessSeconds),
            CpuProbe.MachineSeconds());
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record CpuSnapshot(double Self, long SelfAllocated, IReadOnlyDictionary<int, double?> Processes, (double Busy, double Total)? Machine);

    /// <summary>The measured window, in <see cref="Stopwatch"/> timestamps.</summary>
    private sealed record Window(long Start, long End);

    /// <summary>What the loops share: the window, the stop flag, the check of the first answer.</summary>
    private sealed class SharedState
    {
        private volatile Window? _window;
        private volatile bool _stop;
        private int _firstAnswerTaken;

        /// <summary>Null until the warm-up ends.</summary>
        public Window? Window
        {
            get => _window;
            set => _window = value;
        }

        public bool Stop
        {
            get => _stop;
            set => _stop = value;
        }

        /// <summary>The first answer with status 200, as text (cut to 1,000 characters).</summary>
        public string? FirstAnswer { get; set; }

        /// <summary>What is wrong with the first answer; null when it is fine (or none came yet).</summary>
        public string? FirstAnswerProblem { get; set; }

        /// <summary>True for exactly one caller: the one that checks the first answer.</summary>
        public bool TakeFirstAnswer() => Interlocked.Exchange(ref _firstAnswerTaken, 1) == 0;
    }

    /// <summary>One closed loop: a request, its whole answer, the next request.</summary>
    private sealed class LoadLoop
    {
        private readonly PredictBenchmarkOptions _options;
        private readonly Uri _endpoint;
        private readonly HttpClient _client;
        private readonly SharedState _shared;
        private readonly Random _random;
        private readonly byte[] _body;
        private readonly int _prefixLength;
        private readonly byte[] _drain = new byte[16 * 1024];
        private readonly byte[][]? _bodies;
        private long _windowCount;
        private long _windowNot200;
        private long _totalRequests;

        public LoadLoop(int index, PredictBenchmarkOptions options, Uri endpoint, HttpClient client, SharedState shared, byte[][]? bodies)
        {
            _bodies = bodies;
            _options = options;
            _endpoint = endpoint;
            _client = client;
            _shared = shared;
            _random = new Random(HashCode.Combine(options.Seed, index));
            // {"user_id":"<prefix><k>"}: the constant head once, the number written in place for each request.
            var head = Encoding.UTF8.GetBytes("{\"user_id\":" + JsonSerializer.Serialize(options.UserPrefix)[..^1]);
            _prefixLength = head.Length;
            _body = new byte[head.Length + 12];
            head.CopyTo(_body, 0);
        }

        public LatencyHistogram Histogram { get; } = new();

        /// <summary>Answers by status code, in the window (0–599; anything else counts as 0).</summary>
        public long[] Statuses { get; } = new long[600];

        /// <summary>Requests with no answer (connection refused, timeout), by kind, in the window.</summary>
        public Dictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

        public long WindowCount => Volatile.Read(ref _windowCount);

        public long WindowNot200 => Volatile.Read(ref _windowNot200);

        public long TotalRequests => Volatile.Read(ref _totalRequests);

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            while (!_shared.Stop)
            {
                using var content = _bodies is null
                    ? new ByteArrayContent(_body, 0, WriteBody(_random.Next(1, _options.Users + 1)))
                    : new ByteArrayContent(_bodies[_random.Next(_bodies.Length)]);
                content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
                using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = content };
                var started = Stopwatch.GetTimestamp();
                var status = 0;
                string? failure = null;
                try
                {
                    using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                    status = (int)response.StatusCode;
                    if (status == 200 && _shared.FirstAnswer is null && _shared.TakeFirstAnswer())
                    {
                        await CheckFirstAnswerAsync(response, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                        while (await stream.ReadAsync(_drain, cancellationToken).ConfigureAwait(false) > 0)
                        {
                            // Read to the end and discard: the connection is then free for the next request.
                        }
                    }
                }
                catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = ex.InnerException is TimeoutException ? "timeout" : "cancelled";
                }
                catch (HttpRequestException ex)
                {
                    failure = ex.HttpRequestError == HttpRequestError.Unknown ? ex.GetType().Name : ex.HttpRequestError.ToString();
                }
                catch (IOException ex)
                {
                    failure = ex.GetType().Name;
                }

                var ended = Stopwatch.GetTimestamp();
                _totalRequests++;
                if (_shared.Window is { } window && ended >= window.Start && ended < window.End)
                {
                    Histogram.Record((ended - started) * 1_000_000 / Stopwatch.Frequency);
                    if (failure is not null)
                    {
                        Failures[failure] = Failures.GetValueOrDefault(failure) + 1;
                    }
                    else
                    {
                        Statuses[status is >= 0 and < 600 ? status : 0]++;
                    }

                    if (status != 200) Volatile.Write(ref _windowNot200, _windowNot200 + 1);
                    Volatile.Write(ref _windowCount, _windowCount + 1);
                }

                if (failure is not null && _shared.Window is null)
                {
                    // During the warm-up a refused connection would otherwise spin this loop at full speed.
                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private int WriteBody(int user)
        {
            Utf8Formatter.TryFormat(user, _body.AsSpan(_prefixLength), out var written);
            var end = _prefixLength + written;
            _body[end] = (byte)'"';
            _body[end + 1] = (byte)'}';
            return end + 2;
        }

        private async Task CheckFirstAnswerAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var text = Encoding.UTF8.GetString(body);
            _shared.FirstAnswer = text.Length <= 1000 ? text : text[..1000] + "…";
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    _shared.FirstAnswerProblem = $"the first answer with status 200 is not a JSON object: {_shared.FirstAnswer}";
                }
                else if (!document.RootElement.TryGetProperty("churn_probability", out var probability) || probability.ValueKind != JsonValueKind.Number)
                {
                    _shared.FirstAnswerProblem = $"the first answer with status 200 has no numeric churn_probability: {_shared.FirstAnswer}";
                }
            }
            catch (JsonException ex)
            {
                _shared.FirstAnswerProblem = $"the first answer with status 200 is not JSON ({ex.Message}): {_shared.FirstAnswer}";
            }
        }
    }
}
