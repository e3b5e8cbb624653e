using System.Text.Json;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Analytics.WebApi.Tests;

/// <summary>The OpenAPI document and the health endpoints, over real HTTP.</summary>
[Collection(PipelineCollection.Name)]
public sealed class HostingTests(PipelineHarness pipeline) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = pipeline.ApiAddress };

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task OpenApiDocument_DescribesEveryEndpoint_WithItsSummary()
    {
        var document = await ApiAssert.OkJsonAsync(await _http.GetAsync("/openapi/v1.json"));

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.GetProperty("paths");
        foreach (var (path, method) in new[]
                 {
                     ("/predict", "post"), ("/api/kpis", "get"), ("/api/users/{id}", "get"), ("/api/funnel", "get"),
                     ("/api/funnel/windows", "get"), ("/api/churn", "get"), ("/api/churn/model", "get"), ("/api/churn/models", "get"),
                     ("/api/ingestion", "get"), ("/admin/churn/retrain", "post"),
                 })
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is in the document");
            Assert.False(string.IsNullOrEmpty(item.GetProperty(method).GetProperty("summary").GetString()), $"{method} {path} has a summary");
        }

        var funnel = paths.GetProperty("/api/funnel").GetProperty("get");
        Assert.Equal(["from", "to"], funnel.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.True(paths.GetProperty("/api/users/{id}").GetProperty("get").GetProperty("responses").TryGetProperty("404", out _));
    }

    [Fact]
    public async Task Ready_ChecksPostgresKafkaAndTheCluster_LiveChecksNothing()
    {
        Assert.Equal("Healthy", await _http.GetStringAsync("/health/ready"));
        Assert.Equal("Healthy", await _http.GetStringAsync("/health/live"));

        var report = await pipeline.ApiServices.GetRequiredService<HealthCheckService>().CheckHealthAsync(check => check.Tags.Contains("ready"));
        Assert.Equal(["kafka", "orleans", "postgres"], report.Entries.Keys.Order(StringComparer.Ordinal));
        Assert.All(report.Entries.Values, entry => Assert.Equal(HealthStatus.Healthy, entry.Status));
        Assert.Equal($"topic {PipelineHarness.Topic}: {PipelineHarness.Partitions} partitions on 1 broker(s)", report.Entries["kafka"].Description);
    }

    [Fact]
    public async Task Ready_IsUnhealthy_WhenTheKafkaBrokersDoNotAnswer_NamingTheSetting()
    {
        // Nothing listens on a free port: the brokers are down as far as the web API can tell.
        var (address, services) = pipeline.StartWebApi(pipeline.ModelDirectory, new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = $"127.0.0.1:{FreePorts.Next()}",
            ["Kafka:HealthTimeout"] = "00:00:01",
        });
        using var http = new HttpClient { BaseAddress = address };

        using var ready = await http.GetAsync("/health/ready");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("Unhealthy", await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", await http.GetStringAsync("/health/live"));

        var report = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(check => check.Tags.Contains("ready"));
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["kafka"].Status);
        Assert.Contains("Kafka:BootstrapServers", report.Entries["kafka"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, report.Entries["postgres"].Status);
    }
}
