using System.Runtime.CompilerServices;
using Analytics.Grains.Interfaces.Events;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>
/// Reads <c>raw_events</c> for building a point-in-time churn data set: the events up to a cutoff, user by user, and
/// who was active in a later span (the label).
/// </summary>
public sealed class ChurnHistoryReader
{
    // Every event at or before the cutoff, grouped by user (the (user_id, event_time) index gives this order).
    private const string ReadUpTo = $"""
        SELECT {RawEventColumns.Select}
        FROM raw_events
        WHERE event_time <= $1
        ORDER BY user_id, event_time, event_id
        """;

    private const string ReadActive = """
        SELECT DISTINCT user_id FROM raw_events WHERE event_time > $1 AND event_time <= $2
        """;

    private const string ReadLatest = "SELECT max(event_time) FROM raw_events";

    private readonly NpgsqlDataSource _dataSource;

    public ChurnHistoryReader(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Every stored event with an event time at or before <paramref name="cutoff"/>, ordered by user, then time.</summary>
    public async IAsyncEnumerable<UserEvent> ReadUpToAsync(DateTimeOffset cutoff, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ReadUpTo);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = cutoff.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return RawEventColumns.ReadEvent(reader);
        }
    }

    /// <summary>The users with an event in (<paramref name="after"/>, <paramref name="until"/>].</summary>
    public async Task<HashSet<string>> ReadActiveUsersAsync(DateTimeOffset after, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ReadActive);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = after.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = until.ToUniversalTime() });
        var users = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) users.Add(reader.GetString(0));
        return users;
    }

    /// <summary>The latest event time stored, or null when there is none.</summary>
    public async Task<DateTimeOffset?> ReadLatestEventTimeAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ReadLatest);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is DateTime latest ? new DateTimeOffset(latest, TimeSpan.Zero) : null;
    }

    /// <summary>The earliest and latest event times stored, or null when there is none.</summary>
    public async Task<(DateTimeOffset Earliest, DateTimeOffset Latest)?> ReadEventTimeRangeAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT min(event_time), max(event_time) FROM raw_events");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.IsDBNull(0)) return null;
        return (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }
}
