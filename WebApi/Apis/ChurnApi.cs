using System.Text.Json;
using System.Text.Json.Serialization;
using Analytics.Churn.Serving;
using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Users;

namespace Analytics.WebApi.Apis;

/// <summary>
/// Churn predictions: <c>POST /predict</c> scores one user from the live features of the user's grain with the current
/// model (the original design's request and field names); <c>GET /api/churn</c> is the latest scoring pass over the
/// active users; <c>GET /api/churn/model</c> describes the model in use.
/// </summary>
public static class ChurnApi
{
    /// <summary>The event contract's limit on user ids.</summary>
    public const int MaxUserIdLength = 128;

    public static IEndpointRouteBuilder MapChurnApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/predict", PredictAsync)
            .WithName("PredictChurn")
            .WithSummary("The churn probability of one user, from the user's live features, with the model version and the feature values used.")
            .Accepts<PredictRequest>("application/json")
            .Produces<PredictResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/churn", GetTotalsAsync)
            .WithName("GetChurnTotals")
            .WithSummary("The latest scoring pass over the active users: churned and not churned totals, and the users most likely to churn.");
        app.MapGet("/api/churn/model", GetModel)
            .WithName("GetChurnModel")
            .WithSummary("The churn model in use: version, cutoff, horizon, features and held-out metrics next to the recency baseline's.")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> PredictAsync(HttpRequest request, IClusterClient cluster, ChurnModelProvider model, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the request as JSON (Content-Type: application/json), e.g. {\"user_id\": \"user_123\"}.");
        }

        PredictRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(request.Body, ChurnJson.Default.PredictRequest, cancellationToken);
        }
        catch (JsonException ex)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Invalid JSON",
                detail: $"The body is not a valid prediction request: {ex.Message} Expected {{\"user_id\": \"user_123\"}}.");
        }

        var userId = body?.UserId;
        if (string.IsNullOrWhiteSpace(userId) || userId.Length > MaxUserIdLength)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]>
                {
                    ["user_id"] = [userId is null ? "user_id is required." : $"user_id must be a non-blank string of at most {MaxUserIdLength} characters."],
                },
                title: "Invalid prediction request");
        }

        if (model.Current is null) return NoModel();
        var features = await cluster.GetGrain<IUserGrain>(userId).GetFeaturesAsync().WaitAsync(cancellationToken);
        if (features.FirstEventTime is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Unknown user",
                detail: $"No event of user '{userId}' has been processed.");
        }

        if (model.Score(features) is not { } score) return NoModel();
        var values = new Dictionary<string, float>(score.FeatureNames.Count, StringComparer.Ordinal);
        for (var i = 0; i < score.FeatureNames.Count; i++) values[score.FeatureNames[i]] = score.Inputs[i];
        return TypedResults.Json(
            new PredictResponse(userId, score.Probability, score.Churned, score.Threshold, score.ModelVersion, features.AsOf, features.LastEventTime, values),
            ChurnJson.Default.PredictResponse);
    }

    private static async Task<ChurnTotals> GetTotalsAsync(IClusterClient cluster, CancellationToken cancellationToken)
        => await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).GetTotalsAsync().WaitAsync(cancellationToken);

    private static IResult GetModel(ChurnModelProvider model)
        => model.Current is { } current ? TypedResults.Ok(current) : NoModel();

    private static IResult NoModel() => TypedResults.Problem(
        statusCode: StatusCodes.Status503ServiceUnavailable,
        title: "No churn model yet",
        detail: "No churn model has been trained yet. Run the Trainer (dotnet Trainer/bin/Release/net10.0/Analytics.Trainer.dll) or POST /admin/churn/retrain where enabled; the model is picked up without a restart.");
}

/// <summary>The body of <c>POST /predict</c>.</summary>
public sealed record PredictRequest([property: JsonPropertyName("user_id")] string? UserId);

/// <summary>The answer of <c>POST /predict</c>.</summary>
/// <param name="UserId">The user scored.</param>
/// <param name="ChurnProbability">The model's probability that the user churns.</param>
/// <param name="Churned">True when the probability is at least <paramref name="Threshold"/>.</param>
/// <param name="Threshold">The configured decision threshold (<c>Churn:Threshold</c>).</param>
/// <param name="ModelVersion">The model that scored.</param>
/// <param name="AsOf">The time the features describe (now, for the live features).</param>
/// <param name="LastEventTime">The user's latest event.</param>
/// <param name="Features">The model's inputs, by feature name, exactly as used.</param>
public sealed record PredictResponse(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("churn_probability")] double ChurnProbability,
    [property: JsonPropertyName("churned")] bool Churned,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonPropertyName("as_of")] DateTimeOffset AsOf,
    [property: JsonPropertyName("last_event_time")] DateTimeOffset? LastEventTime,
    [property: JsonPropertyName("features")] IReadOnlyDictionary<string, float> Features);

[JsonSerializable(typeof(PredictRequest))]
[JsonSerializable(typeof(PredictResponse))]
internal sealed partial class ChurnJson : JsonSerializerContext;
