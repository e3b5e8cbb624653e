using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Analytics.Grains.Interfaces.Events;
using Analytics.PipelineBenchmark.Cli;
using Analytics.Storage;
using Confluent.Kafka;
using Npgsql;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>
/// The bare pipeline, the yardstick of the throughput verb: one Confluent consumer in a group, reading on one thread;
/// each value parsed with the contract's parser; each batch stored in one transaction by <see cref="BareRawEventWriter"/>
/// (binary COPY into a staging table, then INSERT … ON CONFLICT (event_id) DO NOTHING, so that a redelivered batch is
/// stored once) into <c>bench_bare.raw_events</c> (the schema first on the connection's search path), its offsets
/// committed after that, and funnel counts per
/// 10-minute event-time window kept in memory. Nothing else: no grains, no per-user state, no dead letters.
/// Runs in a process of its own (hidden verb <c>bare-consumer</c>) so that its CPU time is measured apart from the
/// producer's; it writes <c>stored STORED FUNNEL REFUSED</c> after each batch to standard output and stops when its
/// standard input closes.
/// </summary>
internal static class BareConsumer
{
    /// <summary>Written once the group has assigned it partitions: the parent starts producing after that.</summary>
    public const string AssignedLine = "assigned";

    /// <summary>Starts the line written after each batch: totals since start.</summary>
    public const string StoredLine = "stored";

    private const int MaxBatchEvents = 5_000;
    private static readonly TimeSpan MaxBatchWait = TimeSpan.FromMilliseconds(100);
    private static readonly long WindowTicks = TimeSpan.FromMinutes(10).Ticks;

    public static async Task<int> RunAsync(BareConsumerOptions options, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The parent stops it by closing its standard input.
        _ = Task.Run(async () =>
        {
            while (await Console.In.ReadLineAsync(stop.Token).ConfigureAwait(false) is not null)
            {
            }

            await stop.CancelAsync().ConfigureAwait(false);
        }, CancellationToken.None);
        try
        {
            await Task.Factory.StartNew(() => Consume(options, output, error, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await error.WriteLineAsync($"bare consumer failed: {ex}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }

    private static void Consume(BareConsumerOptions options, TextWriter output, TextWriter error, CancellationToken stop)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = options.Group,
            EnableAutoCommit = false,
            EnablePartitionEof = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // As run_all.sh gives the silo: the local broker answers an empty fetch only after the whole wait.
            FetchWaitMaxMs = 50,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) error.WriteLine($"librdkafka consumer {m.Level}: {m.Message}"); })
            .SetPartitionsAssignedHandler((_, partitions) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{AssignedLine} {partitions.Count}")))
            .Build();
        consumer.Subscribe(options.Topic);
        // raw_events resolves to bench_bare.raw_events: a table of its own, created like the silo's.
        using var database = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(options.Postgres) { SearchPath = BarePipeline.Schema }.ConnectionString);

        var batch = new List<RawEvent>(MaxBatchEvents);
        var funnel = new Dictionary<long, FunnelCounts>();
        long stored = 0, counted = 0, refused = 0;
        while (!stop.IsCancellationRequested)
        {
            batch.Clear();
            var first = 0L;
            while (batch.Count < MaxBatchEvents && !stop.IsCancellationRequested)
            {
                var wait = batch.Count == 0 ? MaxBatchWait : MaxBatchWait - Stopwatch.GetElapsedTime(first);
                if (wait <= TimeSpan.Zero) break;
                var result = consumer.Consume(wait);
                if (result?.Message is null)
                {
                    if (batch.Count > 0) break;
                    continue;
                }

                if (batch.Count == 0) first = Stopwatch.GetTimestamp();
                if (UserEventJson.TryParse(result.Message.Value, DateTimeOffset.UtcNow, out var userEvent, out _))
                {
                    batch.Add(new RawEvent(userEvent, result.Partition.Value, result.Offset.Value));
                }
                else
                {
                    refused++;
                }
            }

            if (batch.Count == 0) continue;
            stored += BareRawEventWriter.Write(database, batch);
            consumer.Commit();
            foreach (var (e, _, _, _) in batch)
            {
                var ticks = e.EventTime.UtcTicks;
                ref var window = ref CollectionsMarshal.GetValueRefOrAddDefault(funnel, ticks - (ticks % WindowTicks), out _);
                switch (e.EventType)
                {
                    case UserEventType.View: window.Views++; break;
                    case UserEventType.AddToCart: window.AddToCarts++; break;
                    case UserEventType.Purchase: window.Purchases++; break;
                }
            }

            // What a dashboard would show: the events counted in every window (a few of them; live events fill one).
            counted = 0;
            foreach (var window in funnel.Values) counted += window.Views + window.AddToCarts + window.Purchases;

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{StoredLine} {stored} {counted} {refused}"));
        }

        consumer.Close();
    }

    private struct FunnelCounts
    {
        public long Views;
        public long AddToCarts;
        public long Purchases;
    }
}
