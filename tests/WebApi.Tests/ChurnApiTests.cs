using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Analytics.Churn;
using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Npgsql;

namespace Analytics.WebApi.Tests;

/// <summary>
/// <c>POST /predict</c> and the live churn predictions, over real HTTP against the real web API, with the real silo,
/// the local broker and PostgreSQL behind it.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ChurnApiTests(PipelineHarness pipeline) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = pipeline.ApiAddress };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Predict_KnownUser_ReturnsTheDocumentedBody_ScoredByTheModelOnTheGrainsLiveFeatures()
    {
        const string user = "web_7";
        var response = await _http.PostAsJsonAsync("/predict", new { user_id = user });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal(
            ["as_of", "churn_probability", "churned", "features", "last_event_time", "model_version", "threshold", "user_id"],
            root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(user, root.GetProperty("user_id").GetString());

        // The model in the directory, loaded independently, gives the same probability on the features reported.
        var (model, metadata) = await ChurnModelFile.LoadAsync(new MLContext(), pipeline.ModelDirectory);
        Assert.Equal(metadata.Version, root.GetProperty("model_version").GetString());
        var features = root.GetProperty("features");
        Assert.Equal(ChurnModelInput.FeatureNames, features.EnumerateObject().Select(p => p.Name));
        var input = new ChurnModelInput { Features = [.. features.EnumerateObject().Select(p => p.Value.GetSingle())] };
        var expected = new MLContext().Model.CreatePredictionEngine<ChurnModelInput, ChurnModelOutput>(model).Predict(input).Probability;
        var probability = root.GetProperty("churn_probability").GetDouble();
        Assert.Equal(expected, probability, 5);
        Assert.Equal(probability >= 0.5, root.GetProperty("churned").GetBoolean());
        Assert.Equal(0.5, root.GetProperty("threshold").GetDouble());

        // The features are the grain's, computed from the events produced for this user.
        var events = pipeline.EventsByUser[user];
        Assert.Equal(events.Count(e => e.EventType == UserEventType.View), features.GetProperty("total_views").GetSingle());
        Assert.Equal(events.Count(e => e.EventType == UserEventType.Purchase), features.GetProperty("total_purchases").GetSingle());
        var lastEvent = events.Max(e => e.EventTime);
        Assert.Equal(lastEvent, root.GetProperty("last_event_time").GetDateTimeOffset());
        var asOf = root.GetProperty("as_of").GetDateTimeOffset();
        Assert.InRange(asOf, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal((asOf - lastEvent).TotalSeconds, features.GetProperty("seconds_since_last_event").GetSingle(), 0);
    }

    [Fact]
    public async Task Predict_UnknownUser_Is404ProblemJson()
    {
        var response = await _http.PostAsJsonAsync("/predict", new { user_id = "nobody_" + Guid.NewGuid().ToString("N") });
        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal("Unknown user", problem.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("{", "Invalid JSON")]
    [InlineData("[1, 2]", "Invalid JSON")]
    [InlineData("{\"user_id\": 42}", "Invalid JSON")]
    [InlineData("{}", "Invalid prediction request")]
    [InlineData("{\"userId\": \"web_1\"}", "Invalid prediction request")]
    [InlineData("{\"user_id\": \"  \"}", "Invalid prediction request")]
    [InlineData("{\"user_id\": null}", "Invalid prediction request")]
    public async Task Predict_BadRequest_Is400ProblemJson_ThatSaysWhy(string json, string title)
    {
        var response = await _http.PostAsync("/predict", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(title, problem.GetProperty("title").GetString());
        if (title == "Invalid prediction request") Assert.True(problem.GetProperty("errors").TryGetProperty("user_id", out _));
        else Assert.Contains("user_id", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_TooLongUserId_Is400()
    {
        var response = await _http.PostAsJsonAsync("/predict", new { user_id = new string('u', 129) });
        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Predict_NotJson_Is415ProblemJson()
    {
        var response = await _http.PostAsync("/predict", new StringContent("user_id=web_1", Encoding.UTF8, "application/x-www-form-urlencoded"));
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task Predict_WithoutAModel_Is503ProblemJson_AndTheModelIsPickedUpOnceWritten()
    {
        var empty = Directory.CreateTempSubdirectory("webapi-nomodel-").FullName;
        try
        {
            var (address, _) = pipeline.StartWebApi(empty);
            using var http = new HttpClient { BaseAddress = address };
            var problem = await AssertProblemAsync(await http.PostAsJsonAsync("/predict", new { user_id = "web_3" }), HttpStatusCode.ServiceUnavailable);
            Assert.Equal("No churn model yet", problem.GetProperty("title").GetString());

            foreach (var file in Directory.GetFiles(pipeline.ModelDirectory)) File.Copy(file, Path.Combine(empty, Path.GetFileName(file)));
            await Eventually.UntilAsync(
                async () => (await http.PostAsJsonAsync("/predict", new { user_id = "web_3" })).StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(15),
                "the new model to be served");
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task ModelSwap_IsPickedUpLive_ByPredictAndByTheScoring()
    {
        var cluster = pipeline.ApiServices.GetRequiredService<IClusterClient>();
        var scorer = cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key);
        var before = await ModelVersionOfPredictAsync();
        var first = await scorer.ScoreNowAsync();
        var active = await ActiveUsersAsync();
        Assert.Equal(before, first.ModelVersion);
        Assert.Equal(active, first.ScoredUsers);
        Assert.Equal(first.ScoredUsers, first.Churned + first.NotChurned);

        var swapped = await pipeline.SaveModelAsync(seed: 2 + Random.Shared.Next(1000) * 2);
        Assert.NotEqual(before, swapped.Version);
        await Eventually.UntilAsync(async () => await ModelVersionOfPredictAsync() == swapped.Version, TimeSpan.FromSeconds(15), "/predict to use the new model");

        // The silo's scorer loads it too; every user gets a new prediction under the new version.
        ChurnTotals? after = null;
        await Eventually.UntilAsync(
            async () => (after = await scorer.ScoreNowAsync()).ModelVersion == swapped.Version,
            TimeSpan.FromSeconds(15),
            "the scoring pass to use the new model");
        // Every user scored gets a row under the new version: those active before, and any another test of the
        // collection (or the silo's churn_features check) added since.
        Assert.Equal(after!.ScoredUsers, after.Written);
        Assert.True(after.Written >= active, $"{after.Written} written under the new model, {active} users active before the swap");
        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        var current = (long)(await data.CreateCommand($"""
            SELECT count(*) FROM (SELECT DISTINCT ON (user_id) model_version FROM churn_predictions ORDER BY user_id, scored_at DESC, id DESC) latest
            WHERE model_version = '{swapped.Version}'
            """).ExecuteScalarAsync())!;
        Assert.Equal(after.Written, current);
    }

    [Fact]
    public async Task Scoring_WritesEveryActiveUser_ThenOnlyChanges_AndPublishesTotals()
    {
        var cluster = pipeline.ApiServices.GetRequiredService<IClusterClient>();
        var totals = await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).ScoreNowAsync();
        // Every user in churn_features: the harness's, and any another test of the collection added.
        Assert.Equal(await ActiveUsersAsync(), totals.ScoredUsers);
        Assert.True(totals.ScoredUsers >= PipelineHarness.Users);
        Assert.Equal(0, totals.Failed);
        Assert.Equal(Math.Min(20, totals.ScoredUsers), totals.AtRisk.Count);
        Assert.Equal(totals.AtRisk.OrderByDescending(u => u.Probability).Select(u => u.UserId), totals.AtRisk.Select(u => u.UserId));
        Assert.Equal(totals.AtRisk.Count(u => u.Probability >= 0.5), Math.Min(totals.Churned, totals.AtRisk.Count));

        // Scored again right away, nobody's prediction moves: nothing is written twice.
        var again = await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).ScoreNowAsync();
        Assert.Equal(0, again.Written);
        Assert.Equal((totals.Churned, totals.NotChurned), (again.Churned, again.NotChurned));

        // The totals over HTTP, and one latest row per user in churn_predictions with the same labels.
        using var body = JsonDocument.Parse(await _http.GetStringAsync("/api/churn"));
        Assert.Equal(again.ScoredUsers, body.RootElement.GetProperty("scoredUsers").GetInt32());
        Assert.Equal(again.Churned, body.RootElement.GetProperty("churned").GetInt32());
        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        var churned = (long)(await data.CreateCommand("""
            SELECT count(*) FILTER (WHERE churned) FROM (SELECT DISTINCT ON (user_id) churned FROM churn_predictions ORDER BY user_id, scored_at DESC, id DESC) latest
            """).ExecuteScalarAsync())!;
        Assert.Equal(again.Churned, churned);
    }

    private async Task<int> ActiveUsersAsync()
    {
        await using var data = NpgsqlDataSource.Create(pipeline.Database);
        return (int)(long)(await data.CreateCommand("SELECT count(*) FROM churn_features").ExecuteScalarAsync())!;
    }

    private async Task<string?> ModelVersionOfPredictAsync()
    {
        using var body = JsonDocument.Parse(await (await _http.PostAsJsonAsync("/predict", new { user_id = "web_5" })).Content.ReadAsStringAsync());
        return body.RootElement.TryGetProperty("model_version", out var version) ? version.GetString() : null;
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)status, body.RootElement.GetProperty("status").GetInt32());
        return body.RootElement.Clone();
    }
}
