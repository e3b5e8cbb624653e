using System.Text.Json;
using Analytics.TestInfrastructure;
using Npgsql;

namespace Analytics.Pipeline.Tests;

/// <summary>
/// The product's front door: <c>./run_all.sh</c> starts every service as a real process, events flow into
/// <c>raw_events</c>, and <c>./run_all.sh stop</c> leaves nothing running. State goes to a temporary ANALYTICS_HOME and
/// every port is free, so a pipeline a developer has running is never touched.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunAllTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly RunAllHome _home = new(new Dictionary<string, string>
    {
        ["PRODUCER_ARGS"] = "--users 300 --start -2d --speed 0 --rate 400 --malformed-fraction 0.01",
        // The first churn model is trained once a day of history is in (the default wants two weeks), on a short horizon.
        ["Retraining__MinimumHistory"] = "1.00:00:00",
        ["Retraining__CheckInterval"] = "00:00:02",
        ["Training__Horizon"] = "06:00:00",
    });

    [Fact]
    public async Task RunAll_StartsThePipeline_EventsFlowIntoRawEvents_AndStopLeavesNothingRunning()
    {
        var start = await _home.RunScriptAsync(StartTimeout);
        Assert.True(start.ExitCode == 0, $"./run_all.sh exited {start.ExitCode}:\n{start.Output}");
        Assert.Contains("Pipeline running.", start.Output, StringComparison.Ordinal);

        var env = _home.ReadEnv();
        foreach (var key in new[] { "KAFKA_BOOTSTRAP", "POSTGRES_CONNECTION", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "API_URL", "DASHBOARD_URL" })
        {
            Assert.True(env.ContainsKey(key), $".run/env lacks {key}");
        }

        Assert.Equal(_home.Environment["POSTGRES_PORT"], env["PGPORT"]);
        Assert.Equal($"http://localhost:{_home.Environment["API_PORT"]}", env["API_URL"]);

        var pids = _home.Pids();
        Assert.Equal(["localbroker", "producer", "silo", "webapi"], pids.Keys.Order().ToArray());

        try
        {
            // Events flow: the count grows while we watch, and malformed ones land in dead_letters.
            await using var data = NpgsqlDataSource.Create(env["POSTGRES_CONNECTION"]);
            long first = 0;
            await Eventually.UntilAsync(async () => (first = await RunAllHome.CountAsync(data, "raw_events")) > 0, TimeSpan.FromSeconds(60), "the first events in raw_events");
            await Eventually.UntilAsync(async () => await RunAllHome.CountAsync(data, "raw_events") > first + 500, TimeSpan.FromSeconds(60), "raw_events to keep growing");
            await Eventually.UntilAsync(async () => await RunAllHome.CountAsync(data, "dead_letters") > 0, TimeSpan.FromSeconds(60), "a malformed event in dead_letters");

            // The user grains apply the events and their features reach churn_features.
            await Eventually.UntilAsync(async () => await RunAllHome.CountAsync(data, "churn_features") > 0, TimeSpan.FromSeconds(60), "users' features in churn_features");

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var totals = JsonDocument.Parse(await http.GetStringAsync(new Uri($"{env["API_URL"]}/api/ingestion"))).RootElement;
            Assert.True(totals.GetProperty("rawEvents").GetInt64() > 0);

            // The funnel windows the user grains fed, through the API's recent-windows query.
            await Eventually.UntilAsync(
                async () => JsonDocument.Parse(await http.GetStringAsync(new Uri($"{env["API_URL"]}/api/funnel/windows?hours=24"))).RootElement
                    .EnumerateArray().Any(w => w.GetProperty("total").GetProperty("views").GetInt64() > 0),
                TimeSpan.FromSeconds(60),
                "a funnel window with views in /api/funnel/windows");
            using var bad = await http.GetAsync(new Uri($"{env["API_URL"]}/api/funnel/windows?hours=0"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
            Assert.Contains("hours", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // No model was shipped: the web API trains the first one from the history, /predict serves it, and the
            // silo's scoring pass (a reminder, every minute) writes live predictions with it.
            var user = await RunAllHome.ScalarAsync<string>(data, "SELECT user_id FROM churn_features ORDER BY user_id LIMIT 1");
            JsonElement prediction = default;
            await Eventually.UntilAsync(
                async () =>
                {
                    using var response = await http.PostAsync(
                        new Uri($"{env["API_URL"]}/predict"), new StringContent($"{{\"user_id\":\"{user}\"}}", System.Text.Encoding.UTF8, "application/json"));
                    if (response.StatusCode != System.Net.HttpStatusCode.OK) return false;
                    prediction = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                    return true;
                },
                TimeSpan.FromSeconds(120),
                "a first churn model, trained by the web API, to answer POST /predict");
            var version = prediction.GetProperty("model_version").GetString();
            Assert.True(File.Exists(Path.Combine(_home.Path, "models", "model.json")), "the model was not written to <home>/models");
            await Eventually.UntilAsync(
                async () => await RunAllHome.ScalarAsync<long>(data, $"SELECT count(*) FROM churn_predictions WHERE model_version = '{version}'") > 0,
                TimeSpan.FromSeconds(150),
                "live predictions of that model in churn_predictions");

            var page = await http.GetStringAsync(new Uri(env["DASHBOARD_URL"]));
            Assert.Contains("<title>User analytics", page, StringComparison.Ordinal);
        }
        finally
        {
            var stop = await _home.RunScriptAsync(TimeSpan.FromMinutes(2), "stop");
            Assert.True(stop.ExitCode == 0, $"./run_all.sh stop exited {stop.ExitCode}:\n{stop.Output}");
        }

        foreach (var (name, pid) in pids)
        {
            Assert.False(RunAllHome.IsRunning(pid), $"{name} (pid {pid}) still runs after ./run_all.sh stop");
        }

        Assert.False(RunAllHome.PortAnswers(int.Parse(env["PGPORT"], System.Globalization.CultureInfo.InvariantCulture)), "PostgreSQL still listens after ./run_all.sh stop");
    }

    public void Dispose() => _home.Dispose();
}
