using System.Net;
using System.Net.Http.Json;
using System.Text;
using Analytics.TestInfrastructure;

namespace Analytics.WebApi.Tests;

/// <summary>Body size limits and the rate limit of <c>POST /predict</c>, over real HTTP; refusals are problem details.</summary>
[Collection(PipelineCollection.Name)]
public sealed class ApiLimitsTests(PipelineHarness pipeline) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = pipeline.ApiAddress };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Predict_DeclaredBodyOver4KiB_Is413ProblemJson()
    {
        var json = $"{{\"user_id\": \"web_1\", \"padding\": \"{new string('x', 4096)}\"}}";
        var problem = await ApiAssert.ProblemAsync(
            await _http.PostAsync("/predict", new StringContent(json, Encoding.UTF8, "application/json")), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("RequestLimits:PredictMaxBodyBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_ChunkedBodyOver4KiB_Is413ProblemJson()
    {
        var json = Encoding.UTF8.GetBytes($"{{\"user_id\": \"web_1\", \"padding\": \"{new string('x', 8192)}\"}}");
        using var content = new StreamContent(new MemoryStream(json));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        await ApiAssert.ProblemAsync(await _http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Predict_SmallBody_IsServed()
    {
        await ApiAssert.OkJsonAsync(await _http.PostAsJsonAsync("/predict", new { user_id = "web_2" }));
    }

    [Fact]
    public async Task AnyEndpoint_BodyOverTheGlobalLimit_Is413ProblemJson()
    {
        var problem = await ApiAssert.ProblemAsync(
            await _http.PostAsync("/admin/churn/retrain", new ByteArrayContent(new byte[1024 * 1024 + 1])), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("RequestLimits:MaxBodyBytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_OverTheRate_Is429ProblemJson_WithRetryAfter_OtherEndpointsAreNotLimited()
    {
        var (address, _) = pipeline.StartWebApi(pipeline.ModelDirectory, new Dictionary<string, string?> { ["RateLimiting:PredictPermitsPerSecond"] = "2" });
        using var http = new HttpClient { BaseAddress = address };

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await http.PostAsJsonAsync("/predict", new { user_id = "web_4" });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) refused = response;
        }

        Assert.NotNull(refused);
        Assert.Contains(HttpStatusCode.OK, statuses);
        var problem = await ApiAssert.ProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Contains("RateLimiting:PredictPermitsPerSecond", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        for (var i = 0; i < 10; i++) await ApiAssert.OkJsonAsync(await http.GetAsync("/api/kpis"));
        await Eventually.UntilAsync(
            async () => (await http.PostAsJsonAsync("/predict", new { user_id = "web_4" })).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(5),
            "the token bucket to refill");
    }

    [Fact]
    public async Task Predict_RateLimitingDisabled_NeverRefuses()
    {
        var (address, _) = pipeline.StartWebApi(pipeline.ModelDirectory, new Dictionary<string, string?>
        {
            ["RateLimiting:Enabled"] = "false",
            ["RateLimiting:PredictPermitsPerSecond"] = "1",
        });
        using var http = new HttpClient { BaseAddress = address };
        for (var i = 0; i < 10; i++) await ApiAssert.OkJsonAsync(await http.PostAsJsonAsync("/predict", new { user_id = "web_4" }));
    }

    [Theory]
    [InlineData("RateLimiting:PredictPermitsPerSecond", "0")]
    [InlineData("RequestLimits:MaxBodyBytes", "0")]
    [InlineData("RequestLimits:PredictMaxBodyBytes", "0")]
    [InlineData("RequestLimits:PredictMaxBodyBytes", "2000000")]
    [InlineData("Kafka:BootstrapServers", "")]
    [InlineData("Kafka:HealthTimeout", "00:00:00")]
    [InlineData("Retraining:Enabled", "true")] // without Retraining:ApiKey: an open admin endpoint is refused
    public void InvalidSetting_RefusesStartUp_NamingIt(string setting, string value)
    {
        var error = Assert.ThrowsAny<Exception>(() => pipeline.StartWebApi(pipeline.ModelDirectory, new Dictionary<string, string?> { [setting] = value }));
        Assert.Contains(setting, error.ToString(), StringComparison.Ordinal);
    }
}
