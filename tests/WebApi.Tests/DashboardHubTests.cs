using System.Text.Json;
using System.Threading.Channels;
using Analytics.Grains.Interfaces.Events;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;
using Xunit.Abstractions;

namespace Analytics.WebApi.Tests;

/// <summary>The dashboard hub with a real SignalR client over WebSockets, against the real web API and pipeline.</summary>
[Collection(PipelineCollection.Name)]
public sealed class DashboardHubTests(PipelineHarness pipeline, ITestOutputHelper output)
{
    [Fact]
    public async Task NewClient_GetsTheCurrentPicture_ThenAWindowPush_WithinASecondOfTheEventBeingProcessed()
    {
        var snapshot = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pushes = Channel.CreateUnbounded<(DateTimeOffset ReceivedAt, JsonElement Windows)>();
        await using var connection = new HubConnectionBuilder().WithUrl(new Uri(pipeline.ApiAddress, "/hubs/dashboard")).Build();
        connection.On<JsonElement>("snapshot", s => snapshot.TrySetResult(s));
        connection.On<JsonElement>("windows", w => pushes.Writer.TryWrite((DateTimeOffset.UtcNow, w)));
        await connection.StartAsync();

        // The picture at once: the windows the harness's events fall in. (A window still being published when the
        // snapshot was taken arrives in the pushes that follow; together they hold every view produced.)
        var first = await snapshot.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var viewsByWindow = new Dictionary<DateTimeOffset, long>();
        Merge(viewsByWindow, first.GetProperty("windows"));
        // The same windows as the REST API reads from funnel_summary (events that came after their window was final
        // are late, in neither), each with the same views.
        using var http = new HttpClient { BaseAddress = pipeline.ApiAddress };
        using var stored = JsonDocument.Parse(await http.GetStringAsync("/api/funnel/windows?hours=23"));
        var expected = new Dictionary<DateTimeOffset, long>();
        Merge(expected, stored.RootElement);
        Assert.Contains(expected.Values, v => v > 0);
        bool Complete() => expected.All(w => viewsByWindow.GetValueOrDefault(w.Key) == w.Value);
        using (var settle = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (!Complete()) Merge(viewsByWindow, (await pushes.Reader.ReadAsync(settle.Token)).Windows);
        }

        // One more view: the push that carries it comes within a second of the silo storing (processing) it.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var view = new UserEvent
        {
            EventId = Guid.CreateVersion7(),
            UserId = "hub_" + Guid.NewGuid().ToString("N")[..8],
            SessionId = "s-hub",
            EventType = UserEventType.View,
            ProductId = "p-1",
            Category = "books",
            Price = 12m,
            EventTime = now,
            Device = "desktop",
            Channel = "email",
        };
        var windowStart = WindowStart(now);
        var before = viewsByWindow.GetValueOrDefault(windowStart);
        while (pushes.Reader.TryRead(out _))
        {
        }

        await pipeline.ProduceAsync([view]);
        DateTimeOffset? receivedAt = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (receivedAt is null)
        {
            var (at, windows) = await pushes.Reader.ReadAsync(deadline.Token);
            if (ViewsOf(windows, windowStart) > before) receivedAt = at;
        }

        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        await using var command = data.CreateCommand($"SELECT ingested_at FROM raw_events WHERE event_id = '{view.EventId}'");
        var processedAt = (DateTime)(await command.ExecuteScalarAsync())!;
        var latency = receivedAt.Value - new DateTimeOffset(processedAt, TimeSpan.Zero);
        output.WriteLine($"stored at {processedAt:O}, pushed to the client at {receivedAt:O}: {latency.TotalMilliseconds:0} ms");
        Assert.InRange(latency, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    private static void Merge(Dictionary<DateTimeOffset, long> viewsByWindow, JsonElement windows)
    {
        foreach (var window in windows.EnumerateArray())
        {
            viewsByWindow[window.GetProperty("windowStart").GetDateTimeOffset()] = window.GetProperty("total").GetProperty("views").GetInt64();
        }
    }

    private static DateTimeOffset WindowStart(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds() / 600_000 * 600_000);

    private static long ViewsOf(JsonElement windows, DateTimeOffset start) => windows.EnumerateArray()
        .Where(w => w.GetProperty("windowStart").GetDateTimeOffset() == start)
        .Sum(w => w.GetProperty("total").GetProperty("views").GetInt64());
}
