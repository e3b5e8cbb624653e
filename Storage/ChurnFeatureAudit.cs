using Npgsql;

namespace Analytics.Storage;

/// <summary>
/// Finds users whose <c>churn_features</c> row is behind their stored events: a silo that dies takes the rows still in
/// its writer's batch with it, and a user with no later event has no grain activation to write them again.
/// </summary>
public sealed class ChurnFeatureAudit
{
    // Users with events ingested in the lookback before the given instant (the death, or this silo's start), whose row
    // is missing or counts fewer events than raw_events holds. Only events from before that instant: later ones are in
    // flight to live grains, which write their rows themselves. The span ends at the newest ingestion before the instant,
    // not at the instant: after a whole-cluster outage the last events before it are what matters. Fewer, not different:
    // a row ahead of raw_events is not something an activation can mend.
    private const string BehindSql = """
        WITH recent AS (
            SELECT DISTINCT user_id FROM raw_events
            WHERE ingested_at < $3
              AND ingested_at >= (SELECT max(ingested_at) FROM raw_events WHERE ingested_at < $3) - $1::interval
        )
        SELECT r.user_id
        FROM recent r
        LEFT JOIN churn_features f ON f.user_id = r.user_id
        WHERE f.user_id IS NULL
           OR f.total_views + f.total_add_to_carts + f.total_purchases < (SELECT count(*) FROM raw_events e WHERE e.user_id = r.user_id)
        ORDER BY r.user_id
        LIMIT $2
        """;

    private readonly NpgsqlDataSource _dataSource;

    public ChurnFeatureAudit(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>
    /// Users with events ingested before <paramref name="before"/>, within <paramref name="lookback"/> of the newest such
    /// ingestion, whose <c>churn_features</c> row is missing or counts fewer events than <c>raw_events</c> holds for them;
    /// at most <paramref name="limit"/>.
    /// </summary>
    public async Task<IReadOnlyList<string>> FindUsersBehindAsync(DateTimeOffset before, TimeSpan lookback, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lookback, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = _dataSource.CreateCommand(BehindSql);
        command.Parameters.Add(new NpgsqlParameter { Value = lookback });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        command.Parameters.Add(new NpgsqlParameter { Value = before.ToUniversalTime() });
        var users = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) users.Add(reader.GetString(0));
        return users;
    }
}
