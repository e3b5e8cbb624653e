using System.Diagnostics.Metrics;

namespace Analytics.Silo.Ingestion;

/// <summary>Running totals of what this silo stored from Kafka, exported as metrics (meter <c>Analytics.Ingestion</c>) and on <c>/health/ingestion</c>.</summary>
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

    public IngestionStatus(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableCounter("analytics.ingestion.consumed", () => Consumed, "{message}", "Kafka messages stored (events and dead letters)");
        _meter.CreateObservableCounter("analytics.ingestion.inserted", () => Inserted, "{event}", "Events newly stored in raw_events");
        _meter.CreateObservableCounter("analytics.ingestion.already_stored", () => AlreadyStored, "{event}", "Replayed or duplicate events that raw_events already held");
        _meter.CreateObservableCounter("analytics.ingestion.dead_lettered", () => DeadLettered, "{message}", "Messages stored in dead_letters");
        _meter.CreateObservableCounter("analytics.ingestion.missed_offsets", () => MissedOffsets, "{message}", "Offsets skipped because the broker no longer had them");
        _meter.CreateObservableCounter("analytics.ingestion.write_failures", () => WriteFailures, "{attempt}", "Failed attempts to write a batch to PostgreSQL");
    }

    public long Consumed => Interlocked.Read(ref _consumed);
    public long Inserted => Interlocked.Read(ref _inserted);
    public long AlreadyStored => Interlocked.Read(ref _alreadyStored);
    public long DeadLettered => Interlocked.Read(ref _deadLettered);
    public long MissedOffsets => Interlocked.Read(ref _missedOffsets);
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    /// <summary>When a batch was last stored, if ever.</summary>
    public DateTimeOffset? LastFlushAt
    {
        get
        {
            var ticks = Interlocked.Read(ref _lastFlushTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    internal void OnWriteFailure() => Interlocked.Increment(ref _writeFailures);

    internal void OnStored(int events, int inserted, int deadLetters, long missedOffsets, DateTimeOffset at)
    {
        Interlocked.Add(ref _consumed, events + deadLetters);
        Interlocked.Add(ref _inserted, inserted);
        Interlocked.Add(ref _alreadyStored, events - inserted);
        Interlocked.Add(ref _deadLettered, deadLetters);
        Interlocked.Add(ref _missedOffsets, missedOffsets);
        Interlocked.Exchange(ref _lastFlushTicks, at.UtcTicks);
    }

    public void Dispose() => _meter.Dispose();
}
