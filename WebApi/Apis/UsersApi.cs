using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Users;
using Analytics.Storage;

namespace Analytics.WebApi.Apis;

/// <summary>One user (<c>GET /api/users/{id}</c>): the user grain's summary and live churn features, and the latest stored prediction.</summary>
public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/users/{id}", GetAsync)
            .WithName("GetUser")
            .WithSummary("One user: behaviour summary and live churn features from the user's grain, and the latest prediction of the periodic scoring (null if never scored).")
            .Produces<UserView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> GetAsync(string id, IClusterClient cluster, ChurnPredictionStore predictions, CancellationToken cancellationToken)
    {
        if (id.Length > ChurnApi.MaxUserIdLength)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["id"] = [$"A user id has at most {ChurnApi.MaxUserIdLength} characters (was {id.Length})."] },
                title: "Invalid user id");
        }

        var user = cluster.GetGrain<IUserGrain>(id);
        var summary = await user.GetSummaryAsync().WaitAsync(cancellationToken);
        if (summary.FirstEventTime is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Unknown user",
                detail: $"No event of user '{id}' has been processed.");
        }

        var features = user.GetFeaturesAsync();
        var prediction = predictions.ReadLatestAsync(id, cancellationToken);
        return TypedResults.Ok(new UserView(summary, await features.WaitAsync(cancellationToken), await prediction));
    }
}

/// <summary>What <c>GET /api/users/{id}</c> returns.</summary>
/// <param name="Summary">The user's behaviour over every event applied.</param>
/// <param name="Features">The churn model's inputs as of now, live from the user's grain.</param>
/// <param name="Prediction">The newest stored prediction (<c>churn_predictions</c>); null if the user was never scored.</param>
public sealed record UserView(UserSummary Summary, ChurnFeatures Features, ChurnPrediction? Prediction);
