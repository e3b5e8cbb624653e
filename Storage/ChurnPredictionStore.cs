using Analytics.Grains.Interfaces.Churn;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>
/// <c>churn_predictions</c>, a history of each user's predictions (the newest row per user is the current one), and
/// the active users to score, from <c>churn_features</c>.
/// </summary>
public sealed class ChurnPredictionStore(NpgsqlDataSource dataSource)
{
    private const string Latest = """
        SELECT DISTINCT ON (user_id) user_id, churn_probability, churned, model_version, scored_at
        FROM churn_predictions
        """;

    /// <summary>Users whose last event is at or after <paramref name="since"/>, in user id order.</summary>
    public async Task<IReadOnlyList<(string UserId, DateTimeOffset LastEventTime)>> ReadActiveUsersAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT user_id, last_event_time FROM churn_features WHERE last_event_time >= $1 ORDER BY user_id");
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = since.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        var users = new List<(string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            users.Add((reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return users;
    }

    /// <summary>The newest prediction of every user.</summary>
    public async Task<IReadOnlyList<ChurnPrediction>> ReadLatestAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"{Latest} ORDER BY user_id, scored_at DESC, id DESC");
        return await ReadAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The newest prediction of <paramref name="userId"/>, if it was ever scored.</summary>
    public async Task<ChurnPrediction?> ReadLatestAsync(string userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"{Latest} WHERE user_id = $1 ORDER BY user_id, scored_at DESC, id DESC");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        return (await ReadAsync(command, cancellationToken).ConfigureAwait(false)).SingleOrDefault();
    }

    /// <summary>Appends <paramref name="predictions"/> in one statement.</summary>
    public async Task WriteAsync(IReadOnlyCollection<ChurnPrediction> predictions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        if (predictions.Count == 0) return;
        await using var command = dataSource.CreateCommand("""
            INSERT INTO churn_predictions (user_id, churn_probability, churned, model_version, scored_at)
            SELECT * FROM unnest($1::text[], $2::float8[], $3::boolean[], $4::text[], $5::timestamptz[])
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. predictions.Select(p => PostgresText.Clean(p.UserId))] });
        command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = [.. predictions.Select(p => p.Probability)] });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. predictions.Select(p => p.Churned)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. predictions.Select(p => p.ModelVersion)] });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]>
        {
            TypedValue = [.. predictions.Select(p => p.ScoredAt.UtcDateTime)],
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
        });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<ChurnPrediction>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var predictions = new List<ChurnPrediction>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            predictions.Add(new ChurnPrediction(
                reader.GetString(0), reader.GetDouble(1), reader.GetBoolean(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return predictions;
    }
}
