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

    // Counts only grow while a window is open, and snapshots of one window may arrive out of order (two silos, a
    // restart): GREATEST keeps the newest. A final row keeps its counts; only its late events still grow.
    private const string UpsertSummaries = """
        INSERT INTO funnel_summary AS f (window_start, window_end, views, add_to_carts, purchases, unique_viewers,
            unique_carters, unique_purchasers, revenue, late_events, is_final, users, cart_rate, purchase_rate,
            conversion_rate, finalised_at, updated_at)
        SELECT s.window_start, s.window_end, s.views, s.add_to_carts, s.purchases, s.unique_viewers, s.unique_carters,
            s.unique_purchasers, s.revenue, s.late_events, s.is_final, s.users, s.cart_rate, s.purchase_rate,
            s.conversion_rate, CASE WHEN s.is_final THEN now() END, now()
        FROM unnest($1::timestamptz[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
            $7::bigint[], $8::bigint[], $9::numeric[], $10::bigint[], $11::boolean[], $12::bigint[],
            $13::double precision[], $14::double precision[], $15::double precision[])
            AS s (window_start, window_end, views, add_to_carts, purchases, unique_viewers, unique_carters,
                unique_purchasers, revenue, late_events, is_final, users, cart_rate, purchase_rate, conversion_rate)
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
               unique_purchasers, revenue, late_events, is_final, users
        FROM funnel_summary
        WHERE window_start >= $1
        ORDER BY window_start
        """;

    private const string ReadRecentBreakdowns = """
        SELECT window_start, dimension, value, views, add_to_carts, purchases, unique_viewers, unique_carters,
               unique_purchasers, revenue
        FROM funnel_breakdown
        WHERE window_start >= $1
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
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The windows that start at or after <paramref name="since"/>, oldest first, with their breakdowns.</summary>
    public async Task<IReadOnlyList<FunnelWindowSnapshot>> ReadRecentAsync(DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var breakdowns = new Dictionary<DateTimeOffset, (Dictionary<string, FunnelStepCounts> Category, Dictionary<string, FunnelStepCounts> Device)>();
        await using (var command = new NpgsqlCommand(ReadRecentBreakdowns, connection))
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = since.ToUniversalTime() });
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
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { NpgsqlDbType = NpgsqlDbType.TimestampTz, TypedValue = since.ToUniversalTime() });
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
                    ByCategory = window.Category ?? [],
                    ByDevice = window.Device ?? [],
                });
            }
        }

        return windows;
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
