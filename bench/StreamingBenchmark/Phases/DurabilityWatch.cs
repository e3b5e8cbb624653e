using System.Globalization;
using Analytics.StreamingBenchmark.Measurement;
using Confluent.Kafka;
using Npgsql;

namespace Analytics.StreamingBenchmark.Phases;

/// <summary>
/// Decides, off the meter's thread, when a users run is over: every event applied, the silo's consumer group committed
/// to the end of every partition, and <c>churn_features</c> holding a row per user. Polls the group's committed offsets
/// (an OffsetFetch to the broker) every 200 ms, and counts <c>churn_features</c> only once the rest holds, so that its
/// own queries barely touch the database being measured; it counts them, to take them out of PostgreSQL's figures.
/// </summary>
internal sealed class DurabilityWatch : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private readonly IConsumer<Ignore, Ignore> _consumer;
    private readonly List<TopicPartition> _partitions;
    private readonly IReadOnlyList<long> _ends;
    private readonly long _events;
    private readonly long _users;
    private readonly Func<long> _applied;
    private readonly NpgsqlDataSource _database;
    private readonly UserGrainsMetrics _metrics;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _committed;
    private long _churnRows = -1;
    private long _queries;
    private volatile bool _settled;
    private volatile string? _failure;

    public DurabilityWatch(
        string bootstrapServers, string consumerGroup, string topic, IReadOnlyList<long> partitionEnds, long users, Func<long> applied,
        string databaseConnectionString, UserGrainsMetrics metrics)
    {
        _ends = partitionEnds;
        _events = partitionEnds.Sum();
        _users = users;
        _applied = applied;
        _metrics = metrics;
        _partitions = [.. Enumerable.Range(0, partitionEnds.Count).Select(p => new TopicPartition(topic, p))];
        // Same group id, but never subscribed nor assigned: it only asks the coordinator for the group's offsets.
        _consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = consumerGroup,
            EnableAutoCommit = false,
        }).Build();
        _database = PostgresProbe.Build(databaseConnectionString);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>True once the end condition held (read by the meter every few milliseconds).</summary>
    public bool Settled => _settled;

    /// <summary>Offsets committed by the silo's group, summed over the partitions (= events committed).</summary>
    public long Committed => Interlocked.Read(ref _committed);

    /// <summary>Rows in <c>churn_features</c> at the last count; -1 before the first.</summary>
    public long ChurnRows => Interlocked.Read(ref _churnRows);

    /// <summary>Transactions this watch ran in the measured database.</summary>
    public long Queries => Interlocked.Read(ref _queries);

    /// <summary>Why watching failed, if it did.</summary>
    public string? Failure => _failure;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"committed {Committed:N0}{(ChurnRows >= 0 ? $", churn_features {ChurnRows:N0} rows" : "")}");

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _metrics.Sample();
                var committed = _consumer.Committed(_partitions, TimeSpan.FromSeconds(5));
                var total = 0L;
                var complete = true;
                foreach (var offset in committed)
                {
                    var value = offset.Offset.IsSpecial ? 0 : offset.Offset.Value;
                    total += value;
                    if (value < _ends[offset.Partition.Value]) complete = false;
                }

                Interlocked.Exchange(ref _committed, total);
                if (complete && _applied() >= _events)
                {
                    await using var command = _database.CreateCommand("SELECT count(*) FROM churn_features");
                    Interlocked.Increment(ref _queries);
                    var rows = (long)(await command.ExecuteScalarAsync(_stop.Token).ConfigureAwait(false))!;
                    Interlocked.Exchange(ref _churnRows, rows);
                    if (rows >= _users)
                    {
                        _settled = true;
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is KafkaException or NpgsqlException)
            {
                // Transient (the broker or the server is busy): the meter's timeout bounds the wait.
                _failure = $"{ex.GetType().Name}: {ex.Message}";
            }

            try
            {
                await Task.Delay(Interval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _consumer.Close();
        _consumer.Dispose();
        // Closing its connections ends their backends, which publishes their statistics at once.
        await _database.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
