using System.Net;
using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Analytics.WebApi.Tests;

/// <summary><c>GET /api/users/{id}</c> over real HTTP: the user grain's summary and features, and the stored prediction.</summary>
[Collection(PipelineCollection.Name)]
public sealed class UsersApiTests(PipelineHarness pipeline) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = pipeline.ApiAddress };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task KnownUser_ReturnsTheTotalsOfTheProducedEvents_TheLiveFeatures_AndTheLatestPrediction()
    {
        const string user = "web_7";
        var events = pipeline.EventsByUser[user];
        // A scoring pass first, so that the user has a stored prediction.
        var cluster = pipeline.ApiServices.GetRequiredService<IClusterClient>();
        await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).ScoreNowAsync();

        var body = await ApiAssert.OkJsonAsync(await _http.GetAsync($"/api/users/{user}"));

        Assert.Equal(["features", "prediction", "summary"], body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var summary = body.GetProperty("summary");
        Assert.Equal(user, summary.GetProperty("userId").GetString());
        Assert.Equal(events.Count, summary.GetProperty("totalEvents").GetInt64());
        Assert.Equal(events.Count(e => e.EventType == UserEventType.View), summary.GetProperty("views").GetInt64());
        Assert.Equal(events.Count(e => e.EventType == UserEventType.AddToCart), summary.GetProperty("addToCarts").GetInt64());
        Assert.Equal(events.Count(e => e.EventType == UserEventType.Purchase), summary.GetProperty("purchases").GetInt64());
        Assert.Equal(events.Select(e => e.SessionId).Distinct().Count(), summary.GetProperty("sessions").GetInt64());
        Assert.Equal(events.Where(e => e.EventType == UserEventType.Purchase).Sum(e => e.Price), summary.GetProperty("totalSpend").GetDecimal());
        Assert.Equal(events.Min(e => e.EventTime), summary.GetProperty("firstEventTime").GetDateTimeOffset());
        Assert.Equal(events.Max(e => e.EventTime), summary.GetProperty("lastEventTime").GetDateTimeOffset());

        var features = body.GetProperty("features");
        Assert.Equal(user, features.GetProperty("userId").GetString());
        Assert.Equal(events.Count(e => e.EventType == UserEventType.View), features.GetProperty("totalViews").GetInt64());
        Assert.InRange(features.GetProperty("asOf").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));

        var prediction = body.GetProperty("prediction");
        Assert.Equal(user, prediction.GetProperty("userId").GetString());
        Assert.InRange(prediction.GetProperty("probability").GetDouble(), 0, 1);
        Assert.False(string.IsNullOrEmpty(prediction.GetProperty("modelVersion").GetString()));
    }

    [Fact]
    public async Task UnknownUser_Is404ProblemJson()
    {
        var problem = await ApiAssert.ProblemAsync(await _http.GetAsync($"/api/users/nobody_{Guid.NewGuid():N}"), HttpStatusCode.NotFound);
        Assert.Equal("Unknown user", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task IdOf128Characters_IsLookedUp_OneOf129_Is400()
    {
        await ApiAssert.ProblemAsync(await _http.GetAsync($"/api/users/{new string('u', 128)}"), HttpStatusCode.NotFound);
        await ApiAssert.ValidationProblemAsync(await _http.GetAsync($"/api/users/{new string('u', 129)}"), "id");
    }
}
