using Analytics.Storage;
using Npgsql;

namespace Analytics.PipelineBenchmark.Throughput;

/// <summary>
/// How the bare pipeline stores a batch, as one would by hand for large batches: a binary COPY (the fastest way into
/// PostgreSQL) into a temporary table, then <c>INSERT … SELECT … ON CONFLICT (event_id) DO NOTHING</c> into
/// <c>raw_events</c>, so that a redelivered batch is stored once; one transaction. The silo stores its smaller
/// batches (one per pull of a partition) with one <c>unnest</c> statement instead (<see cref="RawEventWriter"/>):
/// there the temporary table per batch cost more than the COPY saved.
/// </summary>
internal static class BareRawEventWriter
{
    private const string CreateStagingTable = """
        CREATE TEMP TABLE raw_events_staging
        (
            event_id uuid, user_id text, session_id text, event_type text, product_id text, category text,
            price numeric, event_time timestamptz, device text, channel text, kafka_partition integer, kafka_offset bigint,
            kafka_epoch integer
        ) ON COMMIT DROP
        """;

    private const string CopyIntoStaging = $"COPY raw_events_staging ({RawEventBulkCopy.Columns}) FROM STDIN (FORMAT BINARY)";

    private const string MoveStagedEvents = $"""
        INSERT INTO raw_events ({RawEventBulkCopy.Columns})
        SELECT {RawEventBulkCopy.Columns} FROM raw_events_staging
        ORDER BY kafka_partition, kafka_offset
        ON CONFLICT (event_id) DO NOTHING
        """;

    /// <summary>Stores the batch; returns how many events were new.</summary>
    public static int Write(NpgsqlDataSource database, IReadOnlyList<RawEvent> events)
    {
        using var connection = database.OpenConnection();
        using var transaction = connection.BeginTransaction();
        using (var create = new NpgsqlCommand(CreateStagingTable, connection, transaction)) create.ExecuteNonQuery();
        using (var importer = connection.BeginBinaryImport(CopyIntoStaging))
        {
            foreach (var (e, partition, offset, epoch) in events) RawEventBulkCopy.WriteRow(importer, e, partition, offset, epoch);
            importer.Complete();
        }

        int inserted;
        using (var move = new NpgsqlCommand(MoveStagedEvents, connection, transaction)) inserted = move.ExecuteNonQuery();
        transaction.Commit();
        return inserted;
    }
}
