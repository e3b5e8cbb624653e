using System.Diagnostics.Metrics;

namespace Analytics.Silo.Ingestion;

/// <summary>Running totals of the raw-events consumer, exported as metrics (meter <c>Analytics.Ingestion</c>) and on <c>/health</c>.</summary>
public sealed class IngestionStatus : IDisposable
{
    public const string MeterName = "Analytics.Ingestion";

    private readonly Meter _meter;
    private long _consumed;
    private long _inserted;
    private long _alreadyStored;
    private long _deadLettered;
    private long _missedOffsets;
    private long _writeFailures;
    private long _lastFlushTicks;
    private volatile int _assignedPartitions;

    public IngestionStatus(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableCounter("analytics.ingestion.consumed", () => Consumed, "{message}", "Kafka messages read from the topic");
        _meter.CreateObservableCounter("analytics.ingestion.inserted", () => Inserted, "{event}", "Events newly stored in raw_events");
        _meter.CreateObservableCounter("analytics.ingestion.already_stored", () => AlreadyStored, "{event}", "Replayed or duplicate events that raw_events already held");
        _meter.CreateObservableCounter("analytics.ingestion.dead_lettered", () => DeadLettered, "{message}", "Messages refused by the contract and stored in dead_letters");
        _meter.CreateObservableCounter("analytics.ingestion.missed_offsets", () => MissedOffsets, "{message}", "Offsets skipped because the broker no longer had them");
        _meter.CreateObservableCounter("analytics.ingestion.write_failures", () => WriteFailures, "{attempt}", "Failed attempts to write a batch to PostgreSQL");
        _meter.CreateObservableGauge("analytics.ingestion.assigned_partitions", () => AssignedPartitions, "{partition}", "Partitions this silo reads");
    }

    public long Consumed => Interlocked.Read(ref _consumed);
    public long Inserted => Interlocked.Read(ref _inserted);
    public long AlreadyStored => Interlocked.Read(ref _alreadyStored);
    public long DeadLettered => Interlocked.Read(ref _deadLettered);
    public long MissedOffsets => Interlocked.Read(ref _missedOffsets);
    public long WriteFailures => Interlocked.Read(ref _writeFailures);
    public int AssignedPartitions => _assignedPartitions;

    /// <summary>When the last batch was stored and committed, if ever.</summary>
    public DateTimeOffset? LastFlushAt
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastFlushTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>True once the consumer has joined its group and holds at least one partition, or was told it holds none.</summary>
    public bool Running { get; internal set; }

    internal void OnConsumed() => Interlocked.Increment(ref _consumed);

    internal void OnMissedOffsets(long count) => Interlocked.Add(ref _missedOffsets, count);

    internal void OnWriteFailure() => Interlocked.Increment(ref _writeFailures);

    internal void OnAssignmentChanged(int count) => _assignedPartitions = count;

    internal void OnFlushed(int valid, int inserted, int deadLettered, DateTimeOffset at)
    {
        Interlocked.Add(ref _inserted, inserted);
        Interlocked.Add(ref _alreadyStored, valid - inserted);
        Interlocked.Add(ref _deadLettered, deadLettered);
        Interlocked.Exchange(ref _lastFlushTicks, at.UtcTicks);
    }

    public void Dispose() => _meter.Dispose();
}
