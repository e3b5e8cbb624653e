using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Analytics.Grains.Interfaces.Events;
using Analytics.Producer.Simulation;
using Analytics.Storage;
using Npgsql;

namespace Analytics.ChurnBenchmark.Training;

/// <summary>What the simulator generated and the loader stored.</summary>
/// <param name="Events">Rows in raw_events.</param>
/// <param name="UsersWithEvents">Simulated users with at least one event.</param>
/// <param name="UsersChurned">Users whose hidden churn time came before the end of the history (the simulator's truth).</param>
/// <param name="FirstEvent">Event time of the first event.</param>
/// <param name="LastEvent">Event time of the last event.</param>
/// <param name="GenerateSeconds">Time the generator thread spent simulating (it overlaps the load).</param>
/// <param name="CopyStatements">Binary COPY statements (one transaction each).</param>
internal sealed record LoadedHistory(
    long Events, int UsersWithEvents, int UsersChurned, DateTimeOffset FirstEvent, DateTimeOffset LastEvent, double GenerateSeconds, int CopyStatements);

/// <summary>
/// Generates the shop simulator's history in this process and stores it in <c>raw_events</c> with binary COPY
/// straight into the table (a fresh table cannot hold duplicates, so the ingestion path's staging table and
/// ON CONFLICT are not needed). The simulator runs on a thread of its own and hands batches over a bounded queue, so
/// generating and loading overlap; each COPY of <c>copyBatch</c> rows commits on its own.
/// </summary>
internal static class SimulatedHistoryLoader
{
    private const int HandOverBatch = 8192;
    private const int Partitions = 8;

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>One event as stored: the event and a made-up Kafka position (partition by user, offsets in order).</summary>
    private readonly record struct Row(UserEvent Event, int Partition, long Offset);

    public static async Task<LoadedHistory> LoadAsync(
        NpgsqlDataSource dataSource, SimulationSettings settings, int copyBatch, TextWriter progress, CancellationToken cancellationToken)
    {
        var simulator = new ShopSimulator(settings);
        using var queue = new BlockingCollection<Row[]>(boundedCapacity: 16);
        using var stopGenerating = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var generateSeconds = 0.0;
        var generator = Task.Factory.StartNew(
            () => generateSeconds = Generate(simulator, queue, stopGenerating.Token),
            stopGenerating.Token,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        var loaded = 0L;
        var statements = 0;
        var first = DateTimeOffset.MaxValue;
        var last = DateTimeOffset.MinValue;
        try
        {
            // Npgsql's synchronous writer is much cheaper per field than its async one; this runs on a thread of its own.
            await Task.Factory.StartNew(
                () =>
                {
                    using var connection = dataSource.OpenConnection();
                    var clock = Stopwatch.StartNew();
                    var nextProgress = ProgressInterval;
                    var lastProgressCount = 0L;
                    var lastProgressAt = TimeSpan.Zero;
                    NpgsqlBinaryImporter? importer = null;
                    var inStatement = 0;
                    try
                    {
                        foreach (var batch in queue.GetConsumingEnumerable(cancellationToken))
                        {
                            foreach (var row in batch)
                            {
                                if (importer is null)
                                {
                                    importer = connection.BeginBinaryImport(RawEventBulkCopy.Command);
                                    importer.Timeout = TimeSpan.Zero;
                                    inStatement = 0;
                                }

                                RawEventBulkCopy.WriteRow(importer, row.Event, row.Partition, row.Offset);
                                inStatement++;
                                if (inStatement == copyBatch)
                                {
                                    importer.Complete();
                                    importer.Dispose();
                                    importer = null;
                                    statements++;
                                }
                            }

                            loaded += batch.Length;
                            if (batch.Length > 0)
                            {
                                var firstTime = batch[0].Event.EventTime;
                                if (firstTime < first) first = firstTime;
                                last = batch[^1].Event.EventTime;
                            }

                            if (clock.Elapsed >= nextProgress)
                            {
                                var now = clock.Elapsed;
                                nextProgress = now + ProgressInterval;
                                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                    $"[load] {now.TotalSeconds,6:0.0} s: {loaded,11:N0} events ({(loaded - lastProgressCount) / (now - lastProgressAt).TotalSeconds,9:N0}/s), event time {last:yyyy-MM-dd HH:mm}"));
                                lastProgressCount = loaded;
                                lastProgressAt = now;
                            }
                        }

                        if (importer is not null)
                        {
                            importer.Complete();
                            statements++;
                        }
                    }
                    finally
                    {
                        importer?.Dispose();
                    }
                },
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).ConfigureAwait(false);
        }
        catch
        {
            // The generator may be blocked on a full queue: release it before leaving.
            await stopGenerating.CancelAsync().ConfigureAwait(false);
            try
            {
                await generator.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Expected: it was told to stop.
            }

            throw;
        }

        await generator.ConfigureAwait(false);
        var truth = simulator.GetTruth();
        return new LoadedHistory(
            loaded,
            truth.Count(t => t.FirstEventTime is not null),
            truth.Count(t => t.Churned),
            loaded > 0 ? first : settings.Start,
            loaded > 0 ? last : settings.Start,
            generateSeconds,
            statements);
    }

    /// <summary>Runs the simulator to its end, handing batches of rows to <paramref name="queue"/>; returns the seconds it was busy.</summary>
    private static double Generate(ShopSimulator simulator, BlockingCollection<Row[]> queue, CancellationToken cancellationToken)
    {
        var busy = new Stopwatch();
        var offsets = new long[Partitions];
        try
        {
            while (true)
            {
                busy.Start();
                var batch = new Row[HandOverBatch];
                var count = 0;
                while (count < batch.Length && simulator.TryNext(out var e))
                {
                    var partition = e.UserIndex % Partitions;
                    batch[count++] = new Row(simulator.ToUserEvent(e), partition, offsets[partition]++);
                }

                busy.Stop();
                if (count > 0) queue.Add(count == batch.Length ? batch : batch[..count], cancellationToken);
                if (count < batch.Length) break;
            }
        }
        finally
        {
            queue.CompleteAdding();
        }

        return busy.Elapsed.TotalSeconds;
    }
}
