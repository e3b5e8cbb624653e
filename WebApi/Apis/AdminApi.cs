using Analytics.Storage;
using Analytics.WebApi.Churn;
using Microsoft.Extensions.Options;

namespace Analytics.WebApi.Apis;

/// <summary>
/// Retraining the churn model (<c>POST /admin/churn/retrain</c>, off unless <c>Retraining:Enabled</c>, which requires
/// <c>Retraining:ApiKey</c>) and the model versions trained so far (<c>GET /api/churn/models</c>).
/// </summary>
public static class AdminApi
{
    public const string ApiKeyHeader = "X-Api-Key";

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/churn/retrain", Retrain)
            .WithName("RetrainChurnModel")
            .WithSummary("Starts training a new churn model from the stored history (202 with the job; 409 while one runs). The new model is served as soon as it is saved.")
            .Produces<TrainingJob>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict);
        app.MapGet("/admin/churn/retrain/{id}", GetJob)
            .WithName("GetChurnTraining")
            .WithSummary("A training job: state, progress lines, and the model it trained.")
            .Produces<TrainingJob>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapGet("/api/churn/models", ListModelsAsync)
            .WithName("ListChurnModels")
            .WithSummary("Every churn model version trained (newest first) with its cutoff, horizon, sizes and metrics.");
        return app;
    }

    private static IResult Retrain(HttpRequest request, TrainingJobs jobs, IOptions<RetrainingOptions> options)
    {
        if (Guard(request, options.Value) is { } refused) return refused;
        var (job, started) = jobs.Start("api");
        if (!started)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "A training is running",
                detail: $"Training {job.Id} started at {job.StartedAt:O} is still running; follow it at /admin/churn/retrain/{job.Id}.",
                extensions: new Dictionary<string, object?> { ["jobId"] = job.Id });
        }

        return TypedResults.Accepted($"/admin/churn/retrain/{job.Id}", job);
    }

    private static IResult GetJob(string id, HttpRequest request, TrainingJobs jobs, IOptions<RetrainingOptions> options)
    {
        if (Guard(request, options.Value) is { } refused) return refused;
        return jobs.Find(id) is { } job
            ? TypedResults.Ok(job)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown training", detail: $"No training '{id}' is known to this web API (it keeps the last 20).");
    }

    private static async Task<IResult> ListModelsAsync(ChurnModelRegistry registry, CancellationToken cancellationToken)
        => TypedResults.Ok(await registry.ListAsync(100, cancellationToken));

    private static IResult? Guard(HttpRequest request, RetrainingOptions options)
    {
        if (!options.Enabled)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                title: "Retraining is disabled",
                detail: "Retraining through the API is off; set Retraining:Enabled=true (Retraining__Enabled) to allow it, or run the Trainer.");
        }

        if (options.ApiKey is { } key && !KeyMatches(request.Headers[ApiKeyHeader].ToString(), key))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "API key required",
                detail: $"Send the key configured in Retraining:ApiKey in the {ApiKeyHeader} header.");
        }

        return null;
    }

    /// <summary>
    /// Compares the SHA-256 of both in fixed time: timing tells nothing about where they differ, nor about the key's
    /// length (a plain fixed-time comparison returns at once on different lengths).
    /// </summary>
    private static bool KeyMatches(string sent, string key)
        => System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sent)),
            System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));
}
