using System.Globalization;
using System.Text.Json;
using Analytics.TestInfrastructure;
using Npgsql;

namespace Analytics.WebApi.Tests;

/// <summary><c>GET /api/funnel?from&amp;to</c> and <c>GET /api/funnel/windows?hours</c> over real HTTP, against the windows the silo stored.</summary>
[Collection(PipelineCollection.Name)]
public sealed class FunnelApiTests(PipelineHarness pipeline) : IDisposable
{
    private static readonly TimeSpan WindowSize = TimeSpan.FromMinutes(10);
    private readonly HttpClient _http = new() { BaseAddress = pipeline.ApiAddress };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Range_ReturnsTheStoredWindowsStartingInIt_WhichAreThoseTheEventsFallIn()
    {
        var to = DateTimeOffset.UtcNow.AddHours(1);
        var from = to.AddDays(-3);
        var query = $"/api/funnel?from={Iso(from)}&to={Iso(to)}";
        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        List<DateTimeOffset> returned = [], stored = [];
        // The silo writes windows periodically: wait until what the API returns is what the table holds, and not nothing.
        await Eventually.UntilAsync(
            async () =>
            {
                returned = WindowStarts(await ApiAssert.OkJsonAsync(await _http.GetAsync(query)));
                stored = await StoredWindowStartsAsync(data, from, to);
                return stored.Count > 0 && returned.SequenceEqual(stored);
            },
            TimeSpan.FromSeconds(30),
            "/api/funnel to return the stored windows of the last three days");

        Assert.All(returned, start => Assert.InRange(start, from, to.AddTicks(-1)));
        // Windows exist only where events are (late ones may only count as late, so not every event's window need
        // exist). Other tests add events of their own: all stored events count.
        var eventWindows = (await StoredEventTimesAsync(data))
            .Select(time => new DateTimeOffset(time.UtcTicks - time.UtcTicks % WindowSize.Ticks, TimeSpan.Zero))
            .ToHashSet();
        Assert.Subset(eventWindows, returned.ToHashSet());
        // The harness's newest events (user web_0's, the first produced, never late) are in windows that are returned.
        var newest = pipeline.EventsByUser["web_0"].Max(e => e.EventTime);
        Assert.Contains(new DateTimeOffset(newest.UtcTicks - newest.UtcTicks % WindowSize.Ticks, TimeSpan.Zero), returned);

        // The half-open range: a window starting exactly at 'to' is left out, one starting at 'from' is in.
        var first = returned[0];
        var exact = WindowStarts(await ApiAssert.OkJsonAsync(await _http.GetAsync($"/api/funnel?from={Iso(first)}&to={Iso(first + WindowSize)}")));
        Assert.Equal([first], exact);
        Assert.DoesNotContain(first, WindowStarts(await ApiAssert.OkJsonAsync(await _http.GetAsync($"/api/funnel?from={Iso(first - WindowSize)}&to={Iso(first)}"))));
    }

    [Fact]
    public async Task Range_Items_AreTheSameAsThoseOfWindows()
    {
        var from = DateTimeOffset.UtcNow.AddHours(-24);
        await Eventually.UntilAsync(
            async () => (await ApiAssert.OkJsonAsync(await _http.GetAsync($"/api/funnel?from={Iso(from)}"))).GetArrayLength() > 0,
            TimeSpan.FromSeconds(30),
            "a funnel window of the last 24 hours");
        var range = await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/funnel"));
        var recent = await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/funnel/windows?hours=24"));
        var item = range.EnumerateArray().First();
        Assert.Equal(
            ["byCategory", "byDevice", "isFinal", "lateEvents", "ordered", "total", "users", "windowEnd", "windowStart"],
            item.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(
            recent.EnumerateArray().Select(w => w.GetProperty("windowStart").GetDateTimeOffset()).First(),
            range.EnumerateArray().Select(w => w.GetProperty("windowStart").GetDateTimeOffset()).First());
    }

    [Theory]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2024-13-01T00:00:00Z", "to")]
    [InlineData("from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from")]
    [InlineData("from=2024-01-01T00:00:00Z&to=2024-01-01T00:00:00Z", "from")]
    [InlineData("from=2024-01-01T00:00:00Z&to=2024-02-01T00:00:01Z", "from")]
    public async Task Range_BadQuery_Is400ProblemJson_NamingTheParameter(string query, string parameter)
    {
        var problem = await ApiAssert.ValidationProblemAsync(await _http.GetAsync($"/api/funnel?{query}"), parameter);
        Assert.Equal("Invalid query", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Range_OfExactly31Days_IsAccepted()
    {
        await ApiAssert.OkJsonAsync(await _http.GetAsync("/api/funnel?from=2024-01-01T00:00:00Z&to=2024-02-01T00:00:00Z"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(24 * 31 + 1)]
    public async Task Windows_HoursOutOfRange_Is400(int hours)
    {
        await ApiAssert.ValidationProblemAsync(await _http.GetAsync($"/api/funnel/windows?hours={hours}"), "hours");
    }

    private static string Iso(DateTimeOffset time) => Uri.EscapeDataString(time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));

    private static List<DateTimeOffset> WindowStarts(JsonElement windows)
        => [.. windows.EnumerateArray().Select(w => w.GetProperty("windowStart").GetDateTimeOffset())];

    private static async Task<List<DateTimeOffset>> StoredEventTimesAsync(NpgsqlDataSource data)
    {
        var times = new List<DateTimeOffset>();
        await using var reader = await data.CreateCommand("SELECT event_time FROM raw_events").ExecuteReaderAsync();
        while (await reader.ReadAsync()) times.Add(reader.GetFieldValue<DateTimeOffset>(0));
        return times;
    }

    private static async Task<List<DateTimeOffset>> StoredWindowStartsAsync(NpgsqlDataSource data, DateTimeOffset from, DateTimeOffset to)
    {
        await using var command = data.CreateCommand("SELECT window_start FROM funnel_summary WHERE window_start >= $1 AND window_start < $2 ORDER BY window_start");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = from.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = to.ToUniversalTime() });
        var starts = new List<DateTimeOffset>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) starts.Add(reader.GetFieldValue<DateTimeOffset>(0));
        return starts;
    }
}
