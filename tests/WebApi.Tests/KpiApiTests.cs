using System.Text.Json;
using Analytics.TestInfrastructure;
using Npgsql;

namespace Analytics.WebApi.Tests;

/// <summary><c>GET /api/kpis</c> over real HTTP, against what the pipeline stored for the harness's events.</summary>
[Collection(PipelineCollection.Name)]
public sealed class KpiApiTests(PipelineHarness pipeline) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = pipeline.ApiAddress };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Kpis_HaveTheDocumentedFields_AndCountTheStoredEvents()
    {
        var produced = pipeline.EventsByUser.Values.Sum(e => e.Count);
        var kpis = await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/kpis"));
        Assert.Equal(
            ["activeUsers", "asOf", "currentWindow", "currentWindowStart", "deadLetters", "eventsLastMinute", "eventsPerSecond", "lastHour", "lateEvents", "rawEvents"],
            kpis.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.InRange(kpis.GetProperty("asOf").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));

        // Other tests of the collection add a few events of their own: compare with the tables, read around the call.
        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        (long Raw, long LastMinute, long Active, long DeadLetters) stored = default;
        await Eventually.UntilAsync(
            async () =>
            {
                var before = await ReadStoredCountsAsync(data);
                kpis = await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/kpis"));
                stored = await ReadStoredCountsAsync(data);
                return before.Raw == stored.Raw && before.Active == stored.Active
                    && kpis.GetProperty("rawEvents").GetInt64() == stored.Raw
                    && kpis.GetProperty("activeUsers").GetInt64() == stored.Active;
            },
            TimeSpan.FromSeconds(30),
            "the KPIs to count what raw_events holds");

        Assert.True(stored.Raw >= produced, $"raw_events holds the {produced} events produced (has {stored.Raw})");
        Assert.Equal(stored.DeadLetters, kpis.GetProperty("deadLetters").GetInt64());
        Assert.InRange(kpis.GetProperty("eventsLastMinute").GetInt64(), 0, stored.Raw);
        Assert.InRange(kpis.GetProperty("eventsPerSecond").GetDouble() * 10, 0, kpis.GetProperty("eventsLastMinute").GetInt64() + 0.001);

        // Active users: at least the harness's users with an event in the 30 minutes before its newest event, when that
        // is the newest of all (other tests' events are newer: then the KPIs are checked against the table only).
        var newest = pipeline.EventsByUser.Values.SelectMany(e => e).Max(e => e.EventTime);
        if (stored.Raw == produced)
        {
            Assert.Equal(pipeline.EventsByUser.Count(u => u.Value.Any(e => e.EventTime > newest.AddMinutes(-30))), kpis.GetProperty("activeUsers").GetInt64());
        }

        Assert.True(kpis.GetProperty("activeUsers").GetInt64() > 0);

        // The running total stays exact from call to call.
        var again = await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/kpis"));
        Assert.True(again.GetProperty("rawEvents").GetInt64() >= stored.Raw);
    }

    private static async Task<(long Raw, long LastMinute, long Active, long DeadLetters)> ReadStoredCountsAsync(NpgsqlDataSource data)
    {
        await using var command = data.CreateCommand("""
            SELECT (SELECT count(*) FROM raw_events),
                   (SELECT count(*) FROM raw_events WHERE ingested_at >= now() - interval '1 minute'),
                   (SELECT count(DISTINCT user_id) FROM raw_events WHERE event_time > (SELECT max(event_time) FROM raw_events) - interval '30 minutes'),
                   (SELECT count(*) FROM dead_letters)
            """);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    [Fact]
    public async Task Kpis_Funnel_IsTheNewestStoredWindow_AndTheSumOfTheLastHoursWindows()
    {
        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        JsonElement kpis = default;
        (DateTimeOffset Start, long Views, long Purchases, long HourViews, long HourCarts, long Late)? stored = null;
        // Windows are rewritten while the silo works: compare a read of the API with the table around it, until both agree.
        await Eventually.UntilAsync(
            async () =>
            {
                kpis = await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/kpis"));
                stored = await ReadStoredAsync(data);
                return stored is { } s
                    && kpis.GetProperty("currentWindowStart").ValueKind != JsonValueKind.Null
                    && kpis.GetProperty("currentWindowStart").GetDateTimeOffset() == s.Start
                    && kpis.GetProperty("currentWindow").GetProperty("views").GetInt64() == s.Views
                    && kpis.GetProperty("lastHour").GetProperty("views").GetInt64() == s.HourViews
                    && kpis.GetProperty("lateEvents").GetInt64() == s.Late;
            },
            TimeSpan.FromSeconds(30),
            "the KPIs' funnel to match funnel_summary");

        var expected = stored!.Value;
        Assert.Equal(expected.Purchases, kpis.GetProperty("currentWindow").GetProperty("purchases").GetInt64());
        Assert.Equal(expected.HourCarts, kpis.GetProperty("lastHour").GetProperty("addToCarts").GetInt64());
        Assert.True(expected.HourViews >= expected.Views);
        var lastHour = kpis.GetProperty("lastHour");
        var views = lastHour.GetProperty("views").GetInt64();
        if (views > 0) Assert.Equal((double)lastHour.GetProperty("addToCarts").GetInt64() / views, lastHour.GetProperty("cartRate").GetDouble(), 9);
    }

    private static async Task<(DateTimeOffset, long, long, long, long, long)?> ReadStoredAsync(NpgsqlDataSource data)
    {
        await using var command = data.CreateCommand("""
            WITH n AS (SELECT window_start, window_end, views, purchases FROM funnel_summary ORDER BY window_start DESC LIMIT 1)
            SELECT n.window_start, n.views, n.purchases,
                   (SELECT sum(views) FROM funnel_summary f WHERE f.window_start >= n.window_end - interval '1 hour')::bigint,
                   (SELECT sum(add_to_carts) FROM funnel_summary f WHERE f.window_start >= n.window_end - interval '1 hour')::bigint,
                   (SELECT sum(late_events) FROM funnel_summary f WHERE f.window_start >= n.window_end - interval '24 hours')::bigint
            FROM n
            """);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) return null;
        return (reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
    }
}
