using Analytics.Grains.Interfaces.Users;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>
/// Upserts rows of <c>churn_features</c> in batches: one statement per batch (arrays unnested server-side), not one
/// round trip per user. A row never goes back in time: an older <c>as_of</c> does not overwrite a newer one (two
/// activations of a user can briefly coexist when a silo dies).
/// </summary>
public sealed class ChurnFeatureWriter
{
    private const string Columns = """
        user_id, total_views, total_add_to_carts, total_purchases, session_count, avg_session_seconds,
        avg_events_per_session, first_event_time, last_event_time, seconds_since_last_event, total_spend,
        avg_order_value, distinct_products, distinct_categories, cart_abandonments, cart_to_purchase_ratio,
        favourite_category, events_last_7d, events_prev_7d, activity_trend, recency_days, frequency_per_day, monetary, as_of
        """;

    private const string Upsert = $"""
        INSERT INTO churn_features ({Columns}, updated_at)
        SELECT *, now() FROM unnest(
            $1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::float8[],
            $7::float8[], $8::timestamptz[], $9::timestamptz[], $10::float8[], $11::numeric[],
            $12::numeric[], $13::bigint[], $14::bigint[], $15::bigint[], $16::float8[],
            $17::text[], $18::bigint[], $19::bigint[], $20::float8[], $21::float8[], $22::float8[], $23::numeric[], $24::timestamptz[])
        ON CONFLICT (user_id) DO UPDATE SET
            total_views = EXCLUDED.total_views, total_add_to_carts = EXCLUDED.total_add_to_carts,
            total_purchases = EXCLUDED.total_purchases, session_count = EXCLUDED.session_count,
            avg_session_seconds = EXCLUDED.avg_session_seconds, avg_events_per_session = EXCLUDED.avg_events_per_session,
            first_event_time = EXCLUDED.first_event_time, last_event_time = EXCLUDED.last_event_time,
            seconds_since_last_event = EXCLUDED.seconds_since_last_event, total_spend = EXCLUDED.total_spend,
            avg_order_value = EXCLUDED.avg_order_value, distinct_products = EXCLUDED.distinct_products,
            distinct_categories = EXCLUDED.distinct_categories, cart_abandonments = EXCLUDED.cart_abandonments,
            cart_to_purchase_ratio = EXCLUDED.cart_to_purchase_ratio, favourite_category = EXCLUDED.favourite_category,
            events_last_7d = EXCLUDED.events_last_7d, events_prev_7d = EXCLUDED.events_prev_7d,
            activity_trend = EXCLUDED.activity_trend, recency_days = EXCLUDED.recency_days,
            frequency_per_day = EXCLUDED.frequency_per_day, monetary = EXCLUDED.monetary, as_of = EXCLUDED.as_of,
            updated_at = now()
        WHERE churn_features.as_of <= EXCLUDED.as_of
        """;

    private readonly NpgsqlDataSource _dataSource;

    public ChurnFeatureWriter(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Upserts <paramref name="rows"/> in one statement (at most one row per user).</summary>
    /// <returns>Rows inserted or updated (a row older than the stored one is skipped).</returns>
    public async Task<int> UpsertAsync(IReadOnlyCollection<ChurnFeatures> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) return 0;

        await using var command = _dataSource.CreateCommand(Upsert);
        Add(command, rows, r => r.UserId, NpgsqlDbType.Text);
        Add(command, rows, r => r.TotalViews, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.TotalAddToCarts, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.TotalPurchases, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.SessionCount, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.AvgSessionSeconds, NpgsqlDbType.Double);
        Add(command, rows, r => r.AvgEventsPerSession, NpgsqlDbType.Double);
        Add(command, rows, r => r.FirstEventTime?.UtcDateTime, NpgsqlDbType.TimestampTz);
        Add(command, rows, r => r.LastEventTime?.UtcDateTime, NpgsqlDbType.TimestampTz);
        Add(command, rows, r => r.SecondsSinceLastEvent, NpgsqlDbType.Double);
        Add(command, rows, r => r.TotalSpend, NpgsqlDbType.Numeric);
        Add(command, rows, r => r.AvgOrderValue, NpgsqlDbType.Numeric);
        Add(command, rows, r => r.DistinctProducts, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.DistinctCategories, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.CartAbandonments, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.CartToPurchaseRatio, NpgsqlDbType.Double);
        Add(command, rows, r => r.FavouriteCategory, NpgsqlDbType.Text);
        Add(command, rows, r => r.EventsLast7Days, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.EventsPrevious7Days, NpgsqlDbType.Bigint);
        Add(command, rows, r => r.ActivityTrend, NpgsqlDbType.Double);
        Add(command, rows, r => r.RecencyDays, NpgsqlDbType.Double);
        Add(command, rows, r => r.FrequencyPerDay, NpgsqlDbType.Double);
        Add(command, rows, r => r.Monetary, NpgsqlDbType.Numeric);
        Add(command, rows, r => r.AsOf.UtcDateTime, NpgsqlDbType.TimestampTz);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Add<T>(NpgsqlCommand command, IReadOnlyCollection<ChurnFeatures> rows, Func<ChurnFeatures, T> column, NpgsqlDbType type)
        => command.Parameters.Add(new NpgsqlParameter<T[]>
        {
            NpgsqlDbType = NpgsqlDbType.Array | type,
            TypedValue = [.. rows.Select(column)],
        });
}
