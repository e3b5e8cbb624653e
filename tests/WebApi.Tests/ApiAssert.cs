using System.Net;
using System.Text.Json;

namespace Analytics.WebApi.Tests;

/// <summary>Assertions on the web API's answers.</summary>
internal static class ApiAssert
{
    /// <summary>The answer is <c>application/problem+json</c> with <paramref name="status"/>; returns its body.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)status, body.RootElement.GetProperty("status").GetInt32());
        return body.RootElement.Clone();
    }

    /// <summary>A validation problem (400) whose errors name <paramref name="parameter"/>.</summary>
    public static async Task<JsonElement> ValidationProblemAsync(HttpResponseMessage response, string parameter)
    {
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), $"The errors name '{parameter}': {problem}");
        return problem;
    }

    /// <summary>The body of a 200 answer as JSON.</summary>
    public static async Task<JsonElement> OkJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        return body.RootElement.Clone();
    }
}
