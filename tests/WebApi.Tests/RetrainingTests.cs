using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Analytics.Churn;
using Analytics.TestInfrastructure;

namespace Analytics.WebApi.Tests;

/// <summary>Training from the web API: the guarded admin endpoint, and the first model trained on start-up.</summary>
[Collection(PipelineCollection.Name)]
public sealed class RetrainingTests(PipelineHarness pipeline) : IDisposable
{
    // The harness's events: odd users went quiet three days ago, so a one-day horizon has both classes.
    private static readonly Dictionary<string, string?> Trainable = new()
    {
        ["Training:Horizon"] = "1.00:00:00",
        ["Training:TestFraction"] = "0.5",
    };

    private readonly string _models = Directory.CreateTempSubdirectory("webapi-retrain-").FullName;

    public void Dispose() => Directory.Delete(_models, recursive: true);

    [Fact]
    public async Task Retrain_IsOffByDefault()
    {
        using var http = new HttpClient { BaseAddress = pipeline.ApiAddress };
        var problem = await ProblemAsync(await http.PostAsync("/admin/churn/retrain", null), HttpStatusCode.Forbidden);
        Assert.Contains("Retraining:Enabled", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retrain_WantsTheKey_ThenTrainsRegistersAndServesTheNewModel()
    {
        var (address, _) = pipeline.StartWebApi(_models, new Dictionary<string, string?>(Trainable)
        {
            ["Retraining:Enabled"] = "true",
            ["Retraining:ApiKey"] = "s3cret",
        });
        using var http = new HttpClient { BaseAddress = address };
        await ProblemAsync(await http.PostAsync("/admin/churn/retrain", null), HttpStatusCode.Unauthorized);

        http.DefaultRequestHeaders.Add("X-Api-Key", "s3cret");
        var started = await http.PostAsync("/admin/churn/retrain", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var location = started.Headers.Location!;
        using (var job = JsonDocument.Parse(await started.Content.ReadAsStringAsync()))
        {
            Assert.Equal("api", job.RootElement.GetProperty("reason").GetString());
            Assert.EndsWith(job.RootElement.GetProperty("id").GetString()!, location.ToString(), StringComparison.Ordinal);
        }

        JsonElement finished = default;
        await Eventually.UntilAsync(
            async () =>
            {
                using var job = JsonDocument.Parse(await http.GetStringAsync(location));
                finished = job.RootElement.Clone();
                return finished.GetProperty("state").GetString() != "running";
            },
            TimeSpan.FromSeconds(60),
            "the training to finish");
        Assert.True(finished.GetProperty("state").GetString() == "succeeded", finished.ToString());
        var version = finished.GetProperty("model").GetProperty("version").GetString();
        Assert.NotEmpty(finished.GetProperty("progress").EnumerateArray());

        // Written where this API serves from, and served at once.
        var (_, saved) = await ChurnModelFile.LoadAsync(new Microsoft.ML.MLContext(), _models);
        Assert.Equal(version, saved.Version);
        using (var prediction = JsonDocument.Parse(await (await http.PostAsJsonAsync("/predict", new { user_id = "web_9" })).Content.ReadAsStringAsync()))
        {
            Assert.Equal(version, prediction.RootElement.GetProperty("model_version").GetString());
        }

        // Recorded as a version.
        using var models = JsonDocument.Parse(await http.GetStringAsync("/api/churn/models"));
        Assert.Contains(version, models.RootElement.EnumerateArray().Select(m => m.GetProperty("version").GetString()));

        await ProblemAsync(await http.GetAsync("/admin/churn/retrain/nope"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task WithoutAModel_TheFirstOneIsTrainedOnStartUp_OnceTheHistoryAllows()
    {
        var (address, _) = pipeline.StartWebApi(_models, new Dictionary<string, string?>(Trainable)
        {
            ["Retraining:TrainWhenMissing"] = "true",
            ["Retraining:CheckInterval"] = "00:00:00.500",
            ["Retraining:CaughtUpWithin"] = "01:00:00", // the harness's newest event is half an hour old
        });
        using var http = new HttpClient { BaseAddress = address };
        await Eventually.UntilAsync(
            async () => (await http.PostAsJsonAsync("/predict", new { user_id = "web_4" })).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(60),
            "a first model to be trained and served");
        Assert.True(File.Exists(Path.Combine(_models, ChurnModelFile.MetadataName)));
    }

    [Fact]
    public async Task WithoutEnoughHistory_NoModelIsTrained()
    {
        var (address, _) = pipeline.StartWebApi(_models, new Dictionary<string, string?>(Trainable)
        {
            ["Retraining:TrainWhenMissing"] = "true",
            ["Retraining:CheckInterval"] = "00:00:00.200",
            ["Retraining:MinimumHistory"] = "365.00:00:00",
        });
        using var http = new HttpClient { BaseAddress = address };
        await Task.Delay(TimeSpan.FromSeconds(2));
        await ProblemAsync(await http.PostAsJsonAsync("/predict", new { user_id = "web_4" }), HttpStatusCode.ServiceUnavailable);
        Assert.False(File.Exists(Path.Combine(_models, ChurnModelFile.MetadataName)));
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.Clone();
    }
}
