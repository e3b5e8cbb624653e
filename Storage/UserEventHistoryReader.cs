using Analytics.Grains.Interfaces.Events;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>How far a consumer has applied one partition of one incarnation (epoch) of the topic.</summary>
/// <param name="Epoch">The topic's epoch.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The highest offset applied.</param>
public readonly record struct AppliedPosition(int Epoch, int Partition, long Offset);

/// <summary>A stored event and where it was read from.</summary>
public sealed record StoredUserEvent(UserEvent Event, int KafkaEpoch, int KafkaPartition, long KafkaOffset);

/// <summary>
/// Reads one user's events back from <c>raw_events</c>, which holds every event before any grain sees it: the ones
/// beyond what a grain's stored state has applied, so that it can catch up after its last write.
/// </summary>
public sealed class UserEventHistoryReader
{
    // An event is new to the caller if its (epoch, partition) is not among the applied positions, or lies above the
    // applied offset there. Ordered by position, so that the caller's offset bookkeeping stays in log order.
    private const string ReadUnapplied = """
        SELECT r.event_id, r.user_id, r.session_id, r.event_type, r.product_id, r.category, r.price, r.event_time,
               r.device, r.channel, r.kafka_epoch, r.kafka_partition, r.kafka_offset
        FROM raw_events r
        LEFT JOIN unnest($2::integer[], $3::integer[], $4::bigint[]) AS applied (epoch, part, applied_offset)
               ON applied.epoch = r.kafka_epoch AND applied.part = r.kafka_partition
        WHERE r.user_id = $1 AND (applied.applied_offset IS NULL OR r.kafka_offset > applied.applied_offset)
        ORDER BY r.kafka_epoch, r.kafka_partition, r.kafka_offset
        """;

    private readonly NpgsqlDataSource _dataSource;

    public UserEventHistoryReader(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>The events of <paramref name="userId"/> stored beyond <paramref name="applied"/>, in log order.</summary>
    public async Task<IReadOnlyList<StoredUserEvent>> ReadUnappliedAsync(
        string userId, IReadOnlyCollection<AppliedPosition> applied, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(applied);
        await using var command = _dataSource.CreateCommand(ReadUnapplied);
        command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = PostgresText.Clean(userId) });
        command.Parameters.Add(new NpgsqlParameter<int[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, TypedValue = [.. applied.Select(a => a.Epoch)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, TypedValue = [.. applied.Select(a => a.Partition)] });
        command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = [.. applied.Select(a => a.Offset)] });

        var events = new List<StoredUserEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var userEvent = RawEventColumns.ReadEvent(reader);
            events.Add(new StoredUserEvent(userEvent, reader.GetInt32(10), reader.GetInt32(11), reader.GetInt64(12)));
        }

        return events;
    }
}
