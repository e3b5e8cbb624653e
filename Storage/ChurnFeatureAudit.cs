using Npgsql;

namespace Analytics.Storage;

/// <summary>
/// Finds users whose <c>churn_features</c> row is behind their stored events: a silo that dies takes the rows still in
/// its writer's batch with it, and a user with no later event has no grain activation to write them again.
/// </summary>
public sealed class ChurnFeatureAudit
{
    // Users with events ingested within the lookback of the newest ingestion (not of now: after a whole-cluster outage
    // the last events before it are what matters), whose row is missing or counts fewer events than raw_events holds.
    // Fewer, not different: a row ahead of raw_events is not something an activation can mend.
    private const string BehindSql = """
        WITH recent AS (
            SELECT DISTINCT user_id FROM raw_events
            WHERE ingested_at >= (SELECT max(ingested_at) FROM raw_events) - $1::interval
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
    /// Users with events ingested within <paramref name="lookback"/> of the newest ingestion whose <c>churn_features</c>
    /// row is missing or counts fewer events than <c>raw_events</c> holds for them; at most <paramref name="limit"/>.
    /// </summary>
    public async Task<IReadOnlyList<string>> FindUsersBehindAsync(TimeSpan lookback, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lookback, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = _dataSource.CreateCommand(BehindSql);
        command.Parameters.Add(new NpgsqlParameter { Value = lookback });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var users = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) users.Add(reader.GetString(0));
        return users;
    }
}
