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
    // Binary COPY is the fastest way into PostgreSQL but cannot skip duplicates, so the batch lands in a temporary
    // table first and moves over with ON CONFLICT DO NOTHING. ON COMMIT DROP keeps pooled connections clean.
    private const string CreateStagingTable = """
        CREATE TEMP TABLE raw_events_staging
        (
            event_id uuid, user_id text, session_id text, event_type text, product_id text, category text,
            price numeric, event_time timestamptz, device text, channel text, kafka_partition integer, kafka_offset bigint,
            kafka_epoch integer
        ) ON COMMIT DROP
        """;

    private const string Columns =
        "event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel, kafka_partition, kafka_offset, kafka_epoch";

    private const string CopyIntoStaging = $"COPY raw_events_staging ({Columns}) FROM STDIN (FORMAT BINARY)";

    // Ordered so that of two copies of one event in a batch, the earlier one in the log is the one kept.
    private const string MoveStagedEvents = $"""
        INSERT INTO raw_events ({Columns})
        SELECT {Columns} FROM raw_events_staging
        ORDER BY kafka_partition, kafka_offset
        ON CONFLICT (event_id) DO NOTHING
        """;

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
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var inserted = await WriteAsync(connection, transaction, events, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return inserted;
    }

    /// <summary>Stores a batch inside the caller's transaction (the staging table lives until it commits).</summary>
    internal static async Task<int> WriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyCollection<RawEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return 0;
        }

        await using (var create = new NpgsqlCommand(CreateStagingTable, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var importer = await connection.BeginBinaryImportAsync(CopyIntoStaging, cancellationToken).ConfigureAwait(false))
        {
            foreach (var (e, partition, offset, epoch) in events)
            {
                await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.EventId, NpgsqlDbType.Uuid, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(PostgresText.Clean(e.UserId), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(PostgresText.Clean(e.SessionId), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.EventType.ToWireName(), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(PostgresText.Clean(e.ProductId), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(PostgresText.Clean(e.Category), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.Price, NpgsqlDbType.Numeric, cancellationToken).ConfigureAwait(false);
                // timestamptz takes only offset-zero values; the contract promises them, this makes sure.
                await importer.WriteAsync(e.EventTime.ToUniversalTime(), NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                await WriteNullableTextAsync(importer, e.Device, cancellationToken).ConfigureAwait(false);
                await WriteNullableTextAsync(importer, e.Channel, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(partition, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(offset, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(epoch, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            }

            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var move = new NpgsqlCommand(MoveStagedEvents, connection, transaction);
        return await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteNullableTextAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken)
        => value is null
            ? importer.WriteNullAsync(cancellationToken)
            : importer.WriteAsync(PostgresText.Clean(value), NpgsqlDbType.Text, cancellationToken);
}
