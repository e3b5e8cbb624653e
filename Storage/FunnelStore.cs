using System.Runtime.CompilerServices;
using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;
using Npgsql;
using NpgsqlTypes;

namespace Analytics.Storage;

/// <summary>
/// The funnel windows' tables: <c>funnel_summary</c> (one row per window) and <c>funnel_breakdown</c> (per category and
/// device), and the stored events a window grain rebuilds itself from.
/// </summary>
public sealed class FunnelStore
{
    private const string ReadWindowEvents = """
        SELECT user_id, event_type, category, device, price, event_time, kafka_epoch, kafka_partition, kafka_offset
        FROM raw_events
        WHERE event_time >= $1 AND event_time < $2
        ORDER BY kafka_epoch, kafka_partition, kafka_offset
        """;

    // Sessions whose first view is in the window: a view there, and none earlier. Steps as the user grains compute
    // them (first cart at or after the first view, first purchase at or after that cart); version = events of the session.
    private const string ReadWindowSessions = """
        WITH candidates AS (
            SELECT user_id, session_id, min(event_time) AS first_view
            FROM raw_events
            WHERE event_type = 'view' AND event_time >= $1 AND event_time < $2
            GROUP BY user_id, session_id
        ), sessions AS (
            SELECT c.user_id, c.session_id, c.first_view
            FROM candidates c
            WHERE NOT EXISTS (SELECT 1 FROM raw_events e WHERE e.user_id = c.user_id AND e.session_id = c.session_id
                              AND e.event_type = 'view' AND e.event_time < $1)
        )
        SELECT s.user_id, s.session_id, s.first_view, steps.cart,
               (SELECT min(p.event_time) FROM raw_events p WHERE p.user_id = s.user_id AND p.session_id = s.session_id
                    AND p.event_type = 'purchase' AND p.event_time >= steps.cart) AS purchase,
               (SELECT count(*) FROM raw_events a WHERE a.user_id = s.user_id AND a.session_id = s.session_id) AS version
        FROM sessions s
        CROSS JOIN LATERAL (SELECT min(c.event_time) AS cart FROM raw_events c
                            WHERE c.user_id = s.user_id AND c.session_id = s.session_id
                              AND c.event_type = 'add_to_cart' AND c.event_time >= s.first_view) steps
        """;

    // Counts only grow while a window is open, and snapshots of one window may arrive out of order (two silos, a
    // restart): GREATEST keeps the newest. A final row keeps its counts; only its late events still grow.
    private const string UpsertSummaries = """
        INSERT INTO funnel_summary AS f (window_start, window_end, views, add_to_carts, purchases, unique_viewers,
            unique_carters, unique_purchasers, revenue, late_events, is_final, users, cart_rate, purchase_rate,
            conversion_rate, sessions, sessions_carted, sessions_purchased, view_to_cart_median_seconds,
            view_to_cart_p90_seconds, view_to_purchase_median_seconds, view_to_purchase_p90_seconds, ordered_final,
            finalised_at, updated_at)
        SELECT s.window_start, s.window_end, s.views, s.add_to_carts, s.purchases, s.unique_viewers, s.unique_carters,
            s.unique_purchasers, s.revenue, s.late_events, s.is_final, s.users, s.cart_rate, s.purchase_rate,
            s.conversion_rate, s.sessions, s.sessions_carted, s.sessions_purchased, s.view_to_cart_median_seconds,
            s.view_to_cart_p90_seconds, s.view_to_purchase_median_seconds, s.view_to_purchase_p90_seconds,
            s.ordered_final, CASE WHEN s.is_final THEN now() END, now()
        FROM unnest($1::timestamptz[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
            $7::bigint[], $8::bigint[], $9::numeric[], $10::bigint[], $11::boolean[], $12::bigint[],
            $13::double precision[], $14::double precision[], $15::double precision[], $16::bigint[], $17::bigint[],
            $18::bigint[], $19::double precision[], $20::double precision[], $21::double precision[],
            $22::double precision[], $23::boolean[])
            AS s (window_start, window_end, views, add_to_carts, purchases, unique_viewers, unique_carters,
                unique_purchasers, revenue, late_events, is_final, users, cart_rate, purchase_rate, conversion_rate,
                sessions, sessions_carted, sessions_purchased, view_to_cart_median_seconds, view_to_cart_p90_seconds,
                view_to_purchase_median_seconds, view_to_purchase_p90_seconds, ordered_final)
        ON CONFLICT (window_start) DO UPDATE SET
            views = CASE WHEN f.is_final THEN f.views ELSE GREATEST(f.views, EXCLUDED.views) END,
            add_to_carts = CASE WHEN f.is_final THEN f.add_to_carts ELSE GREATEST(f.add_to_carts, EXCLUDED.add_to_carts) END,
            purchases = CASE WHEN f.is_final THEN f.purchases ELSE GREATEST(f.purchases, EXCLUDED.purchases) END,
            unique_viewers = CASE WHEN f.is_final THEN f.unique_viewers ELSE GREATEST(f.unique_viewers, EXCLUDED.unique_viewers) END,
            unique_carters = CASE WHEN f.is_final THEN f.unique_carters ELSE GREATEST(f.unique_carters, EXCLUDED.unique_carters) END,
            unique_purchasers = CASE WHEN f.is_final THEN f.unique_purchasers ELSE GREATEST(f.unique_purchasers, EXCLUDED.unique_purchasers) END,
            revenue = CASE WHEN f.is_final THEN f.revenue ELSE GREATEST(f.revenue, EXCLUDED.revenue) END,
            users = CASE WHEN f.is_final THEN f.users ELSE GREATEST(f.users, EXCLUDED.users) END,
            cart_rate = CASE WHEN f.is_final THEN f.cart_rate ELSE EXCLUDED.cart_rate END,
            purchase_rate = CASE WHEN f.is_final THEN f.purchase_rate ELSE EXCLUDED.purchase_rate END,
            conversion_rate = CASE WHEN f.is_final THEN f.conversion_rate ELSE EXCLUDED.conversion_rate END,
            late_events = GREATEST(f.late_events, EXCLUDED.late_events),
            is_final = f.is_final OR EXCLUDED.is_final,
            sessions = CASE WHEN f.ordered_final THEN f.sessions ELSE EXCLUDED.sessions END,
            sessions_carted = CASE WHEN f.ordered_final THEN f.sessions_carted ELSE EXCLUDED.sessions_carted END,
            sessions_purchased = CASE WHEN f.ordered_final THEN f.sessions_purchased ELSE EXCLUDED.sessions_purchased END,
            view_to_cart_median_seconds = CASE WHEN f.ordered_final THEN f.view_to_cart_median_seconds ELSE EXCLUDED.view_to_cart_median_seconds END,
            view_to_cart_p90_seconds = CASE WHEN f.ordered_final THEN f.view_to_cart_p90_seconds ELSE EXCLUDED.view_to_cart_p90_seconds END,
            view_to_purchase_median_seconds = CASE WHEN f.ordered_final THEN f.view_to_purchase_median_seconds ELSE EXCLUDED.view_to_purchase_median_seconds END,
            view_to_purchase_p90_seconds = CASE WHEN f.ordered_final THEN f.view_to_purchase_p90_seconds ELSE EXCLUDED.view_to_purchase_p90_seconds END,
            ordered_final = f.ordered_final OR EXCLUDED.ordered_final,
            finalised_at = COALESCE(f.finalised_at, EXCLUDED.finalised_at),
            updated_at = now()
        """;

    // Written before the summary rows in the same transaction: a window's breakdown is frozen once its summary is final.
    private const string UpsertBreakdowns = """
        INSERT INTO funnel_breakdown AS b (window_start, dimension, value, views, add_to_carts, purchases,
            unique_viewers, unique_carters, unique_purchasers, revenue, updated_at)
        SELECT s.window_start, s.dimension, s.value, s.views, s.add_to_carts, s.purchases, s.unique_viewers,
            s.unique_carters, s.unique_purchasers, s.revenue, now()
        FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
            $8::bigint[], $9::bigint[], $10::numeric[])
            AS s (window_start, dimension, value, views, add_to_carts, purchases, unique_viewers, unique_carters,
                unique_purchasers, revenue)
        WHERE NOT EXISTS (SELECT 1 FROM funnel_summary f WHERE f.window_start = s.window_start AND f.is_final)
        ON CONFLICT (window_start, dimension, value) DO UPDATE SET
            views = GREATEST(b.views, EXCLUDED.views),
            add_to_carts = GREATEST(b.add_to_carts, EXCLUDED.add_to_carts),
            purchases = GREATEST(b.purchases, EXCLUDED.purchases),
            unique_viewers = GREATEST(b.unique_viewers, EXCLUDED.unique_viewers),
            unique_carters = GREATEST(b.unique_carters, EXCLUDED.unique_carters),
            unique_purchasers = GREATEST(b.unique_purchasers, EXCLUDED.unique_purchasers),
            revenue = GREATEST(b.revenue, EXCLUDED.revenue),
            updated_at = now()
        """;

    private const string ReadRecentSummaries = """
        SELECT window_start, window_end, views, add_to_carts, purchases, unique_viewers, unique_carters,
               unique_purchasers, revenue, late_events, is_final, users, sessions, sessions_carted, sessions_purchased,
               view_to_cart_median_seconds, view_to_cart_p90_seconds, view_to_purchase_median_seconds,
               view_to_purchase_p90_seconds, ordered_final
        FROM funnel_summary
        WHERE window_start >= $1 AND window_start < $2
        ORDER BY window_start
        """;

    private const string ReadRecentBreakdowns = """
        SELECT window_start, dimension, value, views, add_to_carts, purchases, unique_viewers, unique_carters,
               unique_purchasers, revenue
        FROM funnel_breakdown
        WHERE window_start >= $1 AND window_start < $2
        """;

    // The newest window, and sums over the windows that start within $1 (recent) and $2 (late events) before its end:
    // three range reads of the primary key.
    private const string ReadHeadlineTotals = """
        WITH newest AS (
            SELECT window_start, window_end, views, add_to_carts, purchases, unique_viewers, unique_carters,
                   unique_purchasers, revenue
            FROM funnel_summary
            ORDER BY window_start DESC
            LIMIT 1
        )
        SELECT n.window_start, n.views, n.add_to_carts, n.purchases, n.unique_viewers, n.unique_carters,
               n.unique_purchasers, n.revenue, r.views, r.add_to_carts, r.purchases, r.unique_viewers, r.unique_carters,
               r.unique_purchasers, r.revenue, l.late_events
        FROM newest n
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(views), 0)::bigint AS views, coalesce(sum(add_to_carts), 0)::bigint AS add_to_carts,
                   coalesce(sum(purchases), 0)::bigint AS purchases, coalesce(sum(unique_viewers), 0)::bigint AS unique_viewers,
                   coalesce(sum(unique_carters), 0)::bigint AS unique_carters,
                   coalesce(sum(unique_purchasers), 0)::bigint AS unique_purchasers, coalesce(sum(revenue), 0) AS revenue
            FROM funnel_summary
            WHERE window_start >= n.window_end - $1 AND window_start <= n.window_start) r
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(late_events), 0)::bigint AS late_events
            FROM funnel_summary
            WHERE window_start >= n.window_end - $2 AND window_start <= n.window_start) l
        """;

    private readonly NpgsqlDataSource _dataSource;

    public FunnelStore(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _dataSource = dataSource;
    }

    /// <summary>Every stored event with an event time in [<paramref name="start"/>, <paramref name="end"/>), in Kafka order.</summary>
    public async IAsyncEnumerable<WindowContribution> ReadWindowEventsAsync(
        DateTimeOffset start, DateTimeOffset end, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ReadWindowEvents);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = start.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = end.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var wireType = reader.GetString(1);
            if (!UserEventJson.TryParseEventType(wireType, out var type))
            {
                throw new InvalidOperationException($"raw_events holds an unknown event_type '{wireType}' for user {reader.GetString(0)}.");
            }

            yield return new WindowContribution
            {
                UserId = reader.GetString(0),
                EventType = type,
                Category = reader.GetString(2),
                Device = reader.IsDBNull(3) ? null : reader.GetString(3),
                Price = reader.GetDecimal(4),
                EventTime = new DateTimeOffset(reader.GetFieldValue<DateTime>(5), TimeSpan.Zero),
                Position = (reader.GetInt32(6), reader.GetInt32(7), reader.GetInt64(8)),
            };
        }
    }

    /// <summary>The ordered-funnel progress of every stored session whose first view is in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public async IAsyncEnumerable<SessionProgress> ReadWindowSessionsAsync(
        DateTimeOffset start, DateTimeOffset end, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ReadWindowSessions);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = start.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = end.ToUniversalTime() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            DateTimeOffset? Time(int column) => reader.IsDBNull(column) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(column), TimeSpan.Zero);
            yield return new SessionProgress
            {
                UserId = reader.GetString(0),
                SessionId = reader.GetString(1),
                FirstView = Time(2)!.Value,
                Cart = Time(3),
                Purchase = Time(4),
                Version = checked((int)reader.GetInt64(5)),
            };
        }
    }

    /// <summary>Writes the latest funnels of some windows, in one transaction.</summary>
    public async Task UpsertAsync(IReadOnlyCollection<FunnelWindowSnapshot> windows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(windows);
        if (windows.Count == 0) return;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        var breakdowns = windows
            .SelectMany(w => w.ByCategory.Select(c => (w.WindowStart, Dimension: "category", Value: c.Key, Counts: c.Value))
                .Concat(w.ByDevice.Select(d => (w.WindowStart, Dimension: "device", Value: d.Key, Counts: d.Value))))
            .ToList();
        if (breakdowns.Count > 0)
        {
            await using var command = new NpgsqlCommand(UpsertBreakdowns, connection, transaction);
            Add(command, NpgsqlDbType.TimestampTz, breakdowns.Select(b => b.WindowStart.ToUniversalTime()));
            Add(command, NpgsqlDbType.Text, breakdowns.Select(b => PostgresText.Clean(b.Dimension)));
            Add(command, NpgsqlDbType.Text, breakdowns.Select(b => PostgresText.Clean(b.Value)));
            AddCounts(command, breakdowns.Select(b => b.Counts).ToList());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var command = new NpgsqlCommand(UpsertSummaries, connection, transaction))
        {
            Add(command, NpgsqlDbType.TimestampTz, windows.Select(w => w.WindowStart.ToUniversalTime()));
            Add(command, NpgsqlDbType.TimestampTz, windows.Select(w => w.WindowEnd.ToUniversalTime()));
            var totals = windows.Select(w => w.Total).ToList();
            Add(command, NpgsqlDbType.Bigint, totals.Select(t => t.Views));
            Add(command, NpgsqlDbType.Bigint, totals.Select(t => t.AddToCarts));
            Add(command, NpgsqlDbType.Bigint, totals.Select(t => t.Purchases));
            Add(command, NpgsqlDbType.Bigint, totals.Select(t => t.UniqueViewers));
            Add(command, NpgsqlDbType.Bigint, totals.Select(t => t.UniqueCarters));
            Add(command, NpgsqlDbType.Bigint, totals.Select(t => t.UniquePurchasers));
            Add(command, NpgsqlDbType.Numeric, totals.Select(t => t.Revenue));
            Add(command, NpgsqlDbType.Bigint, windows.Select(w => w.LateEvents));
            Add(command, NpgsqlDbType.Boolean, windows.Select(w => w.IsFinal));
            Add(command, NpgsqlDbType.Bigint, windows.Select(w => w.Users));
            Add(command, NpgsqlDbType.Double, totals.Select(t => t.CartRate));
            Add(command, NpgsqlDbType.Double, totals.Select(t => t.PurchaseRate));
            Add(command, NpgsqlDbType.Double, totals.Select(t => t.ConversionRate));
            var ordered = windows.Select(w => w.Ordered).ToList();
            Add(command, NpgsqlDbType.Bigint, ordered.Select(o => o.Sessions));
            Add(command, NpgsqlDbType.Bigint, ordered.Select(o => o.Carted));
            Add(command, NpgsqlDbType.Bigint, ordered.Select(o => o.Purchased));
            Add(command, NpgsqlDbType.Double, ordered.Select(o => o.ViewToCartMedianSeconds));
            Add(command, NpgsqlDbType.Double, ordered.Select(o => o.ViewToCartP90Seconds));
            Add(command, NpgsqlDbType.Double, ordered.Select(o => o.ViewToPurchaseMedianSeconds));
            Add(command, NpgsqlDbType.Double, ordered.Select(o => o.ViewToPurchaseP90Seconds));
            Add(command, NpgsqlDbType.Boolean, ordered.Select(o => o.IsFinal));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The windows that start at or after <paramref name="since"/>, oldest first, with their breakdowns.</summary>
    public Task<IReadOnlyList<FunnelWindowSnapshot>> ReadRecentAsync(DateTimeOffset since, CancellationToken cancellationToken)
        => ReadRangeAsync(since, DateTimeOffset.MaxValue, cancellationToken);

    /// <summary>
    /// The windows that start in [<paramref name="from"/>, <paramref name="to"/>), oldest first, with their breakdowns
    /// (range reads of the primary keys).
    /// </summary>
    public async Task<IReadOnlyList<FunnelWindowSnapshot>> ReadRangeAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var breakdowns = new Dictionary<DateTimeOffset, (Dictionary<string, FunnelStepCounts> Category, Dictionary<string, FunnelStepCounts> Device)>();
        await using (var command = new NpgsqlCommand(ReadRecentBreakdowns, connection))
        {
            AddRange(command, from, to);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var start = new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero);
                if (!breakdowns.TryGetValue(start, out var window)) breakdowns[start] = window = ([], []);
                var target = reader.GetString(1) == "category" ? window.Category : window.Device;
                target[reader.GetString(2)] = ReadCounts(reader, 3);
            }
        }

        var windows = new List<FunnelWindowSnapshot>();
        await using (var command = new NpgsqlCommand(ReadRecentSummaries, connection))
        {
            AddRange(command, from, to);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var start = new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero);
                breakdowns.TryGetValue(start, out var window);
                windows.Add(new FunnelWindowSnapshot
                {
                    WindowStart = start,
                    WindowEnd = new DateTimeOffset(reader.GetFieldValue<DateTime>(1), TimeSpan.Zero),
                    Total = ReadCounts(reader, 2),
                    LateEvents = reader.GetInt64(9),
                    IsFinal = reader.GetBoolean(10),
                    Users = reader.GetInt64(11),
                    Ordered = new OrderedFunnel
                    {
                        Sessions = reader.GetInt64(12),
                        Carted = reader.GetInt64(13),
                        Purchased = reader.GetInt64(14),
                        ViewToCartMedianSeconds = reader.IsDBNull(15) ? null : reader.GetDouble(15),
                        ViewToCartP90Seconds = reader.IsDBNull(16) ? null : reader.GetDouble(16),
                        ViewToPurchaseMedianSeconds = reader.IsDBNull(17) ? null : reader.GetDouble(17),
                        ViewToPurchaseP90Seconds = reader.IsDBNull(18) ? null : reader.GetDouble(18),
                        IsFinal = reader.GetBoolean(19),
                    },
                    ByCategory = window.Category ?? [],
                    ByDevice = window.Device ?? [],
                });
            }
        }

        return windows;
    }

    /// <summary>
    /// The newest window's funnel, the funnel summed over the windows that start within <paramref name="recent"/> before
    /// its end, and the late events over the windows within <paramref name="lateEventsSpan"/> before it (event time).
    /// Unique counts are summed per window. Zeros and no start before the first window.
    /// </summary>
    public async Task<FunnelHeadline> ReadHeadlineAsync(TimeSpan recent, TimeSpan lateEventsSpan, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ReadHeadlineTotals);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { NpgsqlDbType = NpgsqlDbType.Interval, TypedValue = recent });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { NpgsqlDbType = NpgsqlDbType.Interval, TypedValue = lateEventsSpan });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return new FunnelHeadline(null, new(), new(), 0);
        return new FunnelHeadline(
            new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero),
            ReadCounts(reader, 1),
            ReadCounts(reader, 8),
            reader.GetInt64(15));
    }

    // A window start in [from, to); DateTimeOffset.MaxValue stands for no upper bound (PostgreSQL's 'infinity').
    private static void AddRange(NpgsqlCommand command, DateTimeOffset from, DateTimeOffset to)
    {
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = to.ToUniversalTime() });
    }

    // views, add_to_carts, purchases, unique_viewers, unique_carters, unique_purchasers, revenue from 'first' on.
    private static FunnelStepCounts ReadCounts(NpgsqlDataReader reader, int first) => new()
    {
        Views = reader.GetInt64(first),
        AddToCarts = reader.GetInt64(first + 1),
        Purchases = reader.GetInt64(first + 2),
        UniqueViewers = reader.GetInt64(first + 3),
        UniqueCarters = reader.GetInt64(first + 4),
        UniquePurchasers = reader.GetInt64(first + 5),
        Revenue = reader.GetDecimal(first + 6),
    };

    private static void AddCounts(NpgsqlCommand command, List<FunnelStepCounts> counts)
    {
        Add(command, NpgsqlDbType.Bigint, counts.Select(c => c.Views));
        Add(command, NpgsqlDbType.Bigint, counts.Select(c => c.AddToCarts));
        Add(command, NpgsqlDbType.Bigint, counts.Select(c => c.Purchases));
        Add(command, NpgsqlDbType.Bigint, counts.Select(c => c.UniqueViewers));
        Add(command, NpgsqlDbType.Bigint, counts.Select(c => c.UniqueCarters));
        Add(command, NpgsqlDbType.Bigint, counts.Select(c => c.UniquePurchasers));
        Add(command, NpgsqlDbType.Numeric, counts.Select(c => c.Revenue));
    }

    private static void Add<T>(NpgsqlCommand command, NpgsqlDbType type, IEnumerable<T> values)
        => command.Parameters.Add(new NpgsqlParameter<T[]> { NpgsqlDbType = NpgsqlDbType.Array | type, TypedValue = [.. values] });
}

/// <summary>The funnel at a glance (<see cref="FunnelStore.ReadHeadlineAsync"/>).</summary>
/// <param name="NewestWindowStart">The newest window's start; null before the first window.</param>
/// <param name="Newest">That window's funnel.</param>
/// <param name="Recent">The funnel summed over the recent windows (unique counts summed per window: an upper bound).</param>
/// <param name="LateEvents">Late events over the windows of the late-events span.</param>
public sealed record FunnelHeadline(DateTimeOffset? NewestWindowStart, FunnelStepCounts Newest, FunnelStepCounts Recent, long LateEvents);
