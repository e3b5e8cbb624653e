using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>
/// The bare pipeline seen from the benchmark: its table (<c>bench_bare.raw_events</c>, made like raw_events in the
/// pipeline's database), its consumer process (this program again, verb <c>bare-consumer</c>) and the totals that
/// process reports after each batch.
/// </summary>
internal sealed class BarePipeline : IPipelineUnderTest
{
    /// <summary>The schema of the bare pipeline's table, first on its connections' search path.</summary>
    public const string Schema = "bench_bare";

    private const string CreateTable = $"""
        CREATE SCHEMA IF NOT EXISTS {Schema};
        DROP TABLE IF EXISTS {Schema}.raw_events;
        CREATE TABLE {Schema}.raw_events (LIKE public.raw_events INCLUDING ALL);
        """;

    private readonly Process _process;
    private readonly IReadOnlyList<MeasuredProcess> _shared;
    private readonly TextWriter _progress;
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _stored;
    private long _counted;
    private long _refused;

    private BarePipeline(string topic, Process process, IReadOnlyList<MeasuredProcess> shared, TextWriter progress)
    {
        Topic = topic;
        _process = process;
        _shared = shared;
        _progress = progress;
    }

    public string Name => "bare";

    public string Topic { get; }

    public IReadOnlyList<MeasuredProcess> Processes => [new MeasuredProcess(_process.Id, "bare-consumer"), .. _shared];

    public IReadOnlyList<string> ReflectedNames { get; } = ["bench_bare.raw_events", "funnel (memory)"];

    /// <summary>Creates the table, starts the consumer process and waits until its group has given it the partitions.</summary>
    /// <param name="bootstrapServers">The broker.</param>
    /// <param name="topic">What the consumer reads.</param>
    /// <param name="postgres">The pipeline's database, where the table is made.</param>
    /// <param name="shared">The processes both pipelines use (the broker, PostgreSQL), measured with the consumer's.</param>
    /// <param name="progress">Where the consumer's own messages go.</param>
    /// <param name="cancellationToken">Ends the wait.</param>
    public static async Task<BarePipeline> StartAsync(
        string bootstrapServers, string topic, string postgres, IReadOnlyList<MeasuredProcess> shared, TextWriter progress, CancellationToken cancellationToken)
    {
        await using (var database = NpgsqlDataSource.Create(postgres))
        await using (var create = database.CreateCommand(CreateTable))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var start = new ProcessStartInfo(Environment.ProcessPath ?? throw new BenchmarkException("the path of this process is unknown: the bare consumer cannot be started"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Started as "dotnet Analytics.PipelineBenchmark.dll": the host needs the assembly again.
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet") start.ArgumentList.Add(typeof(BarePipeline).Assembly.Location);
        foreach (var argument in (string[])["bare-consumer", "--bootstrap-servers", bootstrapServers, "--topic", topic, "--postgres", postgres]) start.ArgumentList.Add(argument);

        var process = new Process { StartInfo = start };
        var pipeline = new BarePipeline(topic, process, shared, progress);
        process.OutputDataReceived += (_, e) => pipeline.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) progress.WriteLine($"    [bare-consumer] {e.Data}"); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await pipeline._assigned.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await pipeline.DisposeAsync().ConfigureAwait(false);
            throw new BenchmarkException($"the bare consumer was given no partition of {topic} within 60 s");
        }
        catch
        {
            await pipeline.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return pipeline;
    }

    public Task<StoredSample> StoredAsync(CancellationToken cancellationToken)
    {
        ThrowIfExited();
        return Task.FromResult(new StoredSample(Interlocked.Read(ref _stored), 0));
    }

    public Task<IReadOnlyList<long>> ReflectedAsync(CancellationToken cancellationToken)
    {
        ThrowIfExited();
        return Task.FromResult<IReadOnlyList<long>>([Interlocked.Read(ref _stored), Interlocked.Read(ref _counted)]);
    }

    /// <summary>Messages the parser refused (none expected: the benchmark produces only valid events).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // Closing its input is its signal to stop (it commits nothing more and leaves the group).
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await _progress.WriteLineAsync("    the bare consumer did not stop within 15 s; killing it").ConfigureAwait(false);
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        var parts = line.Split(' ');
        if (parts[0] == BareConsumer.AssignedLine)
        {
            _progress.WriteLine($"    the bare consumer was assigned {(parts.Length > 1 ? parts[1] : "?")} partitions of {Topic}");
            _assigned.TrySetResult();
        }
        else if (parts[0] == BareConsumer.StoredLine && parts.Length == 4)
        {
            Interlocked.Exchange(ref _stored, long.Parse(parts[1], CultureInfo.InvariantCulture));
            Interlocked.Exchange(ref _counted, long.Parse(parts[2], CultureInfo.InvariantCulture));
            Interlocked.Exchange(ref _refused, long.Parse(parts[3], CultureInfo.InvariantCulture));
        }
        else
        {
            _progress.WriteLine($"    [bare-consumer] {line}");
        }
    }

    private void ThrowIfExited()
    {
        if (_process.HasExited) throw new BenchmarkException($"the bare consumer process stopped (exit code {_process.ExitCode}); see its lines above");
    }
}
