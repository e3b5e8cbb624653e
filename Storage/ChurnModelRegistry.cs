using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>One trained churn model version: a row of <c>churn_models</c>.</summary>
/// <param name="Version">The model's unique version, e.g. <c>churn-20260601T120000.123Z-3f9a</c>.</param>
/// <param name="TrainedAt">When it was trained (wall clock).</param>
/// <param name="Cutoff">The data set's cutoff: features from events up to it.</param>
/// <param name="Horizon">The label horizon: churned = no event in (cutoff, cutoff + horizon].</param>
/// <param name="TrainingUsers">Users it was fitted on.</param>
/// <param name="TestUsers">Users held out for the metrics.</param>
/// <param name="Metrics">The model's held-out metrics, a JSON object (stored as <c>jsonb</c>, so read back normalised).</param>
/// <param name="Baseline">The recency-only baseline's metrics on the same users, a JSON object.</param>
/// <param name="TruthMetrics">Both against the simulator's hidden truth, a JSON object; null when trained without it.</param>
/// <param name="ModelDirectory">Where model.zip and model.json were written.</param>
public sealed record ChurnModelRecord(
    string Version,
    DateTimeOffset TrainedAt,
    DateTimeOffset Cutoff,
    TimeSpan Horizon,
    int TrainingUsers,
    int TestUsers,
    string Metrics,
    string Baseline,
    string? TruthMetrics,
    string ModelDirectory);

/// <summary>
/// The history of churn model versions in <c>churn_models</c>: the training writes one row per model it saves; the
/// web API lists them. A version is written once: registering it again changes nothing.
/// </summary>
public sealed class ChurnModelRegistry
{
    private const string Columns =
        "version, trained_at, cutoff, horizon, training_users, test_users, metrics, baseline, truth_metrics, model_directory";

    private const string Insert = $"""
        INSERT INTO churn_models ({Columns})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (version) DO NOTHING
        """;

    private const string SelectNewestFirst = $"""
        SELECT {Columns} FROM churn_models
        ORDER BY trained_at DESC, version DESC
        LIMIT $1
        """;

    private const string SelectOne = $"SELECT {Columns} FROM churn_models WHERE version = $1";

    private readonly NpgsqlDataSource _dataSource;

    public ChurnModelRegistry(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Records <paramref name="model"/> unless its version is already recorded.</summary>
    /// <returns>True when the row was written; false when the version was already there (that row is left as it was).</returns>
    public async Task<bool> RegisterAsync(ChurnModelRecord model, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        await using var command = _dataSource.CreateCommand(Insert);
        command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = model.Version });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = model.TrainedAt.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = model.Cutoff.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { NpgsqlDbType = NpgsqlDbType.Interval, TypedValue = model.Horizon });
        command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = model.TrainingUsers });
        command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = model.TestUsers });
        command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = model.Metrics });
        command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = model.Baseline });
        command.Parameters.Add(model.TruthMetrics is null
            ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = DBNull.Value }
            : new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Jsonb, TypedValue = model.TruthMetrics });
        command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = model.ModelDirectory });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>The recorded versions, newest first (by training time, then version), at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<ChurnModelRecord>> ListAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var command = _dataSource.CreateCommand(SelectNewestFirst);
        command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer, TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var models = new List<ChurnModelRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) models.Add(Read(reader));
        return models;
    }

    /// <summary>The recorded <paramref name="version"/>, or null when there is none.</summary>
    public async Task<ChurnModelRecord?> FindAsync(string version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        await using var command = _dataSource.CreateCommand(SelectOne);
        command.Parameters.Add(new NpgsqlParameter<string> { NpgsqlDbType = NpgsqlDbType.Text, TypedValue = version });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    private static ChurnModelRecord Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetFieldValue<DateTimeOffset>(1),
        reader.GetFieldValue<DateTimeOffset>(2),
        reader.GetFieldValue<TimeSpan>(3),
        reader.GetInt32(4),
        reader.GetInt32(5),
        reader.GetString(6),
        reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8),
        reader.GetString(9));
}
