using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>A message that could not be used, kept with the reason.</summary>
/// <param name="Topic">The topic it came from.</param>
/// <param name="KafkaPartition">Its partition, when known.</param>
/// <param name="KafkaOffset">Its offset, when known.</param>
/// <param name="Payload">The message value exactly as received (empty for a null value).</param>
/// <param name="Reason">Why it was refused, e.g. <c>MissingField: missing field 'user_id'</c>.</param>
/// <param name="ReceivedAt">When it was received.</param>
public sealed record DeadLetter(
    string Topic,
    int? KafkaPartition,
    long? KafkaOffset,
    byte[] Payload,
    string Reason,
    DateTimeOffset ReceivedAt);

/// <summary>
/// Appends to <c>dead_letters</c>. Idempotent on (topic, partition, offset, payload hash), since a redelivered bad message
/// is the same bad message, while a new one at a reused offset (a recreated topic) is not; a letter without partition or
/// offset has no identity to compare and is always stored.
/// </summary>
public sealed class DeadLetterWriter
{
    // One round trip for the whole batch: the columns travel as arrays and unnest turns them back into rows.
    private const string InsertLetters = """
        INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, payload, reason, received_at)
        SELECT * FROM unnest(@topics, @partitions, @offsets, @payloads, @reasons, @received_at)
        ON CONFLICT (topic, kafka_partition, kafka_offset, payload_sha256) DO NOTHING
        """;

    private readonly NpgsqlDataSource _dataSource;

    public DeadLetterWriter(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Stores a batch in one statement: all of it or none.</summary>
    /// <returns>How many letters were new.</returns>
    public async Task<int> WriteAsync(IReadOnlyCollection<DeadLetter> letters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letters);
        if (letters.Count == 0)
        {
            return 0;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await WriteAsync(connection, transaction: null, letters, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores a batch on a connection the caller owns, inside its transaction if given.</summary>
    internal static async Task<int> WriteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<DeadLetter> letters, CancellationToken cancellationToken)
    {
        if (letters.Count == 0)
        {
            return 0;
        }

        var topics = new string[letters.Count];
        var partitions = new int?[letters.Count];
        var offsets = new long?[letters.Count];
        var payloads = new byte[letters.Count][];
        var reasons = new string[letters.Count];
        var receivedAt = new DateTimeOffset[letters.Count];
        var i = 0;
        foreach (var letter in letters)
        {
            topics[i] = PostgresText.Clean(letter.Topic);
            partitions[i] = letter.KafkaPartition;
            offsets[i] = letter.KafkaOffset;
            payloads[i] = letter.Payload ?? [];
            // The reason quotes parts of the payload, which may hold what text columns cannot.
            reasons[i] = PostgresText.Clean(letter.Reason);
            receivedAt[i] = letter.ReceivedAt.ToUniversalTime();
            i++;
        }

        await using var command = new NpgsqlCommand(InsertLetters, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]>("topics", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = topics });
        command.Parameters.Add(new NpgsqlParameter<int?[]>("partitions", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = partitions });
        command.Parameters.Add(new NpgsqlParameter<long?[]>("offsets", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = offsets });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = payloads });
        command.Parameters.Add(new NpgsqlParameter<string[]>("reasons", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = reasons });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("received_at", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = receivedAt });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
