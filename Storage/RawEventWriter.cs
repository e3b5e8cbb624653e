using Analytics.Grains.Interfaces.Events;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>An accepted event and where it was read from.</summary>
/// <param name="Event">The validated event.</param>
/// <param name="KafkaPartition">The partition it was consumed from.</param>
/// <param name="KafkaOffset">Its offset in that partition.</param>
/// <param name="KafkaEpoch">The topic's epoch (a digest of its Kafka topic id; 0 when unknown).</param>
public sealed record RawEvent(UserEvent Event, int KafkaPartition, long KafkaOffset, int KafkaEpoch = 0);

/// <summary>
/// Appends events to <c>raw_events</c> in batches. Idempotent: an event already stored (same <c>event_id</c>) is skipped,
/// because Kafka delivers at least once and a consumer replays a batch after a crash or rebalance.
/// </summary>
public sealed class RawEventWriter
{
    // One statement per batch: the columns travel as arrays (binary) and unnest turns them back into rows. Ordered so
    // that of two copies of one event in a batch, the earlier one in the log is the one kept.
    // Why not binary COPY, the fastest way in: COPY cannot skip duplicates, so it needed a temporary table per batch
    // (CREATE, COPY, INSERT … SELECT, DROP at commit: four round trips and catalog churn). Ingestion stores one batch
    // per pull of a partition, often a few dozen events, hundreds of times a second; there the temporary table cost
    // more than the copy saved.
    private const string InsertEvents = """
        INSERT INTO raw_events (event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel,
                                kafka_partition, kafka_offset, kafka_epoch)
        SELECT event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel,
               kafka_partition, kafka_offset, kafka_epoch
        FROM unnest(@event_ids, @user_ids, @session_ids, @event_types, @product_ids, @categories, @prices, @event_times,
                    @devices, @channels, @partitions, @offsets, @epochs)
             AS e (event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel,
                   kafka_partition, kafka_offset, kafka_epoch)
        ORDER BY kafka_partition, kafka_offset
        ON CONFLICT (event_id) DO NOTHING
        """;

    // Rows per statement: bounds the parameter arrays of a large load (test fixtures load whole histories).
    internal const int RowsPerStatement = 5_000;

    private readonly NpgsqlDataSource _dataSource;

    public RawEventWriter(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Stores a batch in one transaction: all of it or none.</summary>
    /// <returns>How many events were new; duplicates, in the table or within the batch, are not counted.</returns>
    public async Task<int> WriteAsync(IReadOnlyCollection<RawEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return 0;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (events.Count <= RowsPerStatement)
        {
            return await WriteAsync(connection, transaction: null, events, cancellationToken).ConfigureAwait(false);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var inserted = await WriteAsync(connection, transaction, events, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return inserted;
    }

    /// <summary>Stores a batch inside the caller's transaction, if any (a batch of one statement is atomic without one).</summary>
    internal static async Task<int> WriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<RawEvent> events, CancellationToken cancellationToken)
    {
        // Sorted before it is cut into statements, so that the earliest copy of an event in the log is the one kept
        // across statements too.
        IEnumerable<RawEvent> ordered = events.Count <= RowsPerStatement ? events : events.OrderBy(e => (e.KafkaPartition, e.KafkaOffset));
        var inserted = 0;
        foreach (var chunk in ordered.Chunk(RowsPerStatement))
        {
            await using var command = Insert(chunk, connection, transaction);
            inserted += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return inserted;
    }

    private static NpgsqlCommand Insert(RawEvent[] events, NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        var n = events.Length;
        var eventIds = new Guid[n];
        var userIds = new string[n];
        var sessionIds = new string[n];
        var eventTypes = new string[n];
        var productIds = new string[n];
        var categories = new string[n];
        var prices = new decimal[n];
        var eventTimes = new DateTimeOffset[n];
        var devices = new string?[n];
        var channels = new string?[n];
        var partitions = new int[n];
        var offsets = new long[n];
        var epochs = new int[n];
        for (var i = 0; i < n; i++)
        {
            var (e, partition, offset, epoch) = events[i];
            eventIds[i] = e.EventId;
            userIds[i] = PostgresText.Clean(e.UserId);
            sessionIds[i] = PostgresText.Clean(e.SessionId);
            eventTypes[i] = e.EventType.ToWireName();
            productIds[i] = PostgresText.Clean(e.ProductId);
            categories[i] = PostgresText.Clean(e.Category);
            prices[i] = e.Price;
            // timestamptz takes only offset-zero values; the contract promises them, this makes sure.
            eventTimes[i] = e.EventTime.ToUniversalTime();
            devices[i] = e.Device is { } device ? PostgresText.Clean(device) : null;
            channels[i] = e.Channel is { } channel ? PostgresText.Clean(channel) : null;
            partitions[i] = partition;
            offsets[i] = offset;
            epochs[i] = epoch;
        }

        var command = new NpgsqlCommand(InsertEvents, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("event_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = eventIds });
        command.Parameters.Add(new NpgsqlParameter<string[]>("user_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = userIds });
        command.Parameters.Add(new NpgsqlParameter<string[]>("session_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = sessionIds });
        command.Parameters.Add(new NpgsqlParameter<string[]>("event_types", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = eventTypes });
        command.Parameters.Add(new NpgsqlParameter<string[]>("product_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = productIds });
        command.Parameters.Add(new NpgsqlParameter<string[]>("categories", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = categories });
        command.Parameters.Add(new NpgsqlParameter<decimal[]>("prices", NpgsqlDbType.Array | NpgsqlDbType.Numeric) { TypedValue = prices });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("event_times", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = eventTimes });
        command.Parameters.Add(new NpgsqlParameter<string?[]>("devices", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = devices });
        command.Parameters.Add(new NpgsqlParameter<string?[]>("channels", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = channels });
        command.Parameters.Add(new NpgsqlParameter<int[]>("partitions", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = partitions });
        command.Parameters.Add(new NpgsqlParameter<long[]>("offsets", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = offsets });
        command.Parameters.Add(new NpgsqlParameter<int[]>("epochs", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = epochs });
        return command;
    }
}
