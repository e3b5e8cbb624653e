using Analytics.Grains.Interfaces.Events;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>
/// Binary COPY straight into <c>raw_events</c>, for loading a whole history into a fresh table (benchmarks, test
/// fixtures): no staging table and no de-duplication, so the caller guarantees that every event is new. Ingestion
/// uses <see cref="RawEventWriter"/>, which is idempotent.
/// </summary>
public static class RawEventBulkCopy
{
    /// <summary>The columns <see cref="WriteRow"/> writes, in its order.</summary>
    public const string Columns =
        "event_id, user_id, session_id, event_type, product_id, category, price, event_time, device, channel, kafka_partition, kafka_offset, kafka_epoch";

    /// <summary>The COPY statement whose rows <see cref="WriteRow"/> writes.</summary>
    public const string Command = $"COPY raw_events ({Columns}) FROM STDIN (FORMAT BINARY)";

    /// <summary>Writes one row: the event and the Kafka position it is recorded at.</summary>
    public static void WriteRow(NpgsqlBinaryImporter importer, UserEvent e, int partition, long offset, int epoch = 0)
    {
        ArgumentNullException.ThrowIfNull(importer);
        ArgumentNullException.ThrowIfNull(e);
        importer.StartRow();
        importer.Write(e.EventId, NpgsqlDbType.Uuid);
        importer.Write(PostgresText.Clean(e.UserId), NpgsqlDbType.Text);
        importer.Write(PostgresText.Clean(e.SessionId), NpgsqlDbType.Text);
        importer.Write(e.EventType.ToWireName(), NpgsqlDbType.Text);
        importer.Write(PostgresText.Clean(e.ProductId), NpgsqlDbType.Text);
        importer.Write(PostgresText.Clean(e.Category), NpgsqlDbType.Text);
        importer.Write(e.Price, NpgsqlDbType.Numeric);
        importer.Write(e.EventTime, NpgsqlDbType.TimestampTz);
        WriteNullable(importer, e.Device);
        WriteNullable(importer, e.Channel);
        importer.Write(partition, NpgsqlDbType.Integer);
        importer.Write(offset, NpgsqlDbType.Bigint);
        importer.Write(epoch, NpgsqlDbType.Integer);
    }

    private static void WriteNullable(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null) importer.WriteNull();
        else importer.Write(PostgresText.Clean(value), NpgsqlDbType.Text);
    }
}
