using System.Diagnostics.Metrics;

namespace Analytics.StreamingBenchmark.Measurement;

/// <summary>
/// Listens, for one run of the users benchmark, to the meters the silo already publishes: the user grains'
/// (<c>Analytics.Grains</c>), the Kafka stream provider's (<c>Analytics.Streaming.Kafka</c>: commit gate), Orleans'
/// activations (<c>Microsoft.Orleans</c>) and Npgsql's (statements, connection pool). Nothing is added to the code
/// under test. The meters are process-wide, so one listener at a time, created when the run starts.
/// </summary>
internal sealed class UserGrainsMetrics : IDisposable
{
    public const string Applied = "analytics_user_events_applied";
    public const string Replayed = "analytics_user_events_replayed";
    public const string Duplicates = "analytics_user_events_duplicates";
    public const string CaughtUp = "analytics_user_events_caught_up";
    public const string StateWrites = "analytics_user_state_writes";
    public const string ChurnRows = "analytics_churn_features_rows_written";
    public const string ChurnUpserts = "analytics_churn_features_upserts";
    public const string GateFailures = "kafka_stream_commit_gate_failures";
    public const string StoreFailures = "kafka_stream_store_failures";
    public const string DeliveryFailures = "kafka_stream_delivery_failures";
    public const string DeadLetters = "kafka_stream_dead_letters";
    public const string FunnelCounted = "analytics_funnel_events_counted";
    public const string FunnelLate = "analytics_funnel_events_late";
    public const string FunnelReplayed = "analytics_funnel_events_replayed";
    public const string WindowsOpened = "analytics_funnel_windows_opened";
    public const string WindowsFinalised = "analytics_funnel_windows_finalised";
    public const string Activations = "orleans-catalog-activation-created";
    public const string DbOperationsFailed = "db.client.operation.failed";
    public const string DbConnectionTimeouts = "db.client.connection.npgsql.timeouts";

    private const string GateDuration = "kafka_stream_commit_gate_duration";
    private const string DbOperationDuration = "db.client.operation.duration";
    private const string DbConnectionCount = "db.client.connection.count";
    private const string DbConnectionMax = "db.client.connection.max";
    private const string DbPendingRequests = "db.client.connection.npgsql.pending_requests";
    private const string DbPoolNameTag = "db.client.connection.pool.name";
    private const string DbConnectionStateTag = "db.client.connection.state";

    private static readonly HashSet<string> Meters = ["Analytics.Grains", "Analytics.Streaming.Kafka", "Microsoft.Orleans", "Npgsql"];

    private static readonly HashSet<string> Counted =
    [
        Applied, Replayed, Duplicates, CaughtUp, StateWrites, ChurnRows, ChurnUpserts, GateFailures, StoreFailures,
        DeliveryFailures, DeadLetters, Activations, DbOperationsFailed, DbConnectionTimeouts, FunnelCounted, FunnelLate,
        FunnelReplayed, WindowsOpened, WindowsFinalised,
    ];

    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long[]> _counts = Counted.ToDictionary(name => name, _ => new long[1]);
    private readonly Lock _gate = new();
    private readonly List<double> _gateMilliseconds = [];
    private readonly string? _excludedPool;
    private long _dbOperations;
    private long _dbOperationMicroseconds;
    private long _connectionsUsed;
    private long _connectionsMax;
    private long _pending;
    private long _peakConnectionsUsed;
    private long _peakPending;

    /// <param name="excludedPool">Name of the benchmark's own Npgsql data source, whose statements are not the silo's.</param>
    public UserGrainsMetrics(string? excludedPool)
    {
        _excludedPool = excludedPool;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (Meters.Contains(instrument.Meter.Name)
                && (Counted.Contains(instrument.Name) || instrument.Name is GateDuration or DbOperationDuration or DbConnectionCount or DbConnectionMax or DbPendingRequests))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == GateDuration)
            {
                lock (_gate) _gateMilliseconds.Add(value);
            }
            else if (instrument.Name == DbOperationDuration && !IsExcluded(tags))
            {
                // Npgsql follows OpenTelemetry's conventions: seconds.
                Interlocked.Increment(ref _dbOperations);
                Interlocked.Add(ref _dbOperationMicroseconds, (long)(value * 1e6));
            }
        });
        _listener.Start();
    }

    /// <summary>The current total of a counter this listener follows (see the constants).</summary>
    public long Count(string name) => Interlocked.Read(ref _counts[name][0]);

    /// <summary>Statements the silo's data source ran (every command, including each grain state read and write).</summary>
    public long DbOperations => Interlocked.Read(ref _dbOperations);

    /// <summary>Time those statements took, summed, in microseconds.</summary>
    public long DbOperationMicroseconds => Interlocked.Read(ref _dbOperationMicroseconds);

    /// <summary>Connections of the silo's pool in use at the last <see cref="Sample"/>.</summary>
    public long ConnectionsUsed => Interlocked.Read(ref _connectionsUsed);

    /// <summary>Most connections of the silo's pool in use at once, as sampled.</summary>
    public long PeakConnectionsUsed => Interlocked.Read(ref _peakConnectionsUsed);

    /// <summary>The pool's maximum size, as Npgsql reports it.</summary>
    public long ConnectionsMax => Interlocked.Read(ref _connectionsMax);

    /// <summary>Callers waiting for a connection of the silo's pool now.</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Most callers waiting for a connection at once (exact: Npgsql reports every start and end of a wait).</summary>
    public long PeakPending => Interlocked.Read(ref _peakPending);

    /// <summary>Reads the observable instruments (the connection pool's size and use) now; call it often to catch peaks.</summary>
    public void Sample()
    {
        Interlocked.Exchange(ref _connectionsUsed, 0);
        _listener.RecordObservableInstruments();
        InterlockedMax(ref _peakConnectionsUsed, ConnectionsUsed);
    }

    /// <summary>Every commit gate's duration so far, in milliseconds.</summary>
    public CommitGateStats GateStats()
    {
        double[] values;
        lock (_gate) values = [.. _gateMilliseconds];
        return CommitGateStats.From(values, Count(GateFailures));
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (instrument.Name)
        {
            case DbConnectionCount:
                if (!IsExcluded(tags) && Tag(tags, DbConnectionStateTag) is "used") Interlocked.Add(ref _connectionsUsed, value);
                return;
            case DbPendingRequests:
                // An up-down counter: +1 when a caller starts waiting for a connection, -1 when it gets one.
                if (!IsExcluded(tags)) InterlockedMax(ref _peakPending, Interlocked.Add(ref _pending, value));
                return;
            case DbConnectionMax:
                if (!IsExcluded(tags)) Interlocked.Exchange(ref _connectionsMax, value);
                return;
        }

        if (instrument.Meter.Name == "Npgsql" && IsExcluded(tags)) return;
        if (_counts.TryGetValue(instrument.Name, out var total)) Interlocked.Add(ref total[0], value);
    }

    private bool IsExcluded(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        => _excludedPool is not null && Tag(tags, DbPoolNameTag) is string pool && pool == _excludedPool;

    private static object? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key) return tag.Value;
        }

        return null;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }
}

/// <summary>How long the commit gate took (the user grains of one partition writing their state before a commit).</summary>
/// <param name="Count">Gates that made streams durable (a commit with nothing new to write has no gate).</param>
/// <param name="Failures">Gates that failed (nothing committed; tried again).</param>
/// <param name="MeanMs">Mean duration.</param>
/// <param name="P50Ms">Median.</param>
/// <param name="P99Ms">99th percentile (nearest rank).</param>
/// <param name="MaxMs">Longest.</param>
internal sealed record CommitGateStats(long Count, long Failures, double MeanMs, double P50Ms, double P99Ms, double MaxMs)
{
    public static CommitGateStats From(double[] milliseconds, long failures)
    {
        if (milliseconds.Length == 0) return new CommitGateStats(0, failures, 0, 0, 0, 0);
        Array.Sort(milliseconds);
        return new CommitGateStats(milliseconds.Length, failures, milliseconds.Average(), Percentile(milliseconds, 0.50), Percentile(milliseconds, 0.99), milliseconds[^1]);
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
