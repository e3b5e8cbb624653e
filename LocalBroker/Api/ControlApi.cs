using Analytics.LocalBroker.Hosting;
using Confluent.Kafka;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Analytics.LocalBroker.Api;

/// <summary>
/// The HTTP control API: health, bootstrap address, broker faults, topic creation and error injection.
/// Failures are <c>application/problem+json</c>.
/// </summary>
public static class ControlApi
{
    /// <summary>Maps the control endpoints, plus problem-details responses for errors and unmatched routes.</summary>
    public static WebApplication MapLocalBrokerControlApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapGet("/health", GetHealth)
            .WithName("GetHealth").WithSummary("Bootstrap address and the state of every broker.").WithTags("Cluster");
        app.MapGet("/bootstrap", GetBootstrap)
            .WithName("GetBootstrap").WithSummary("The bootstrap.servers value, as plain text.").WithTags("Cluster");

        var brokers = app.MapGroup("/brokers").WithTags("Brokers");
        brokers.MapPost("/{id:int}/down", SetBrokerDown)
            .WithName("SetBrokerDown").WithSummary("Closes the broker's connections and refuses new ones.");
        brokers.MapPost("/{id:int}/up", SetBrokerUp)
            .WithName("SetBrokerUp").WithSummary("Lets the broker accept connections again, on the same port.");

        var topics = app.MapGroup("/topics").WithTags("Topics");
        topics.MapGet("/", ListTopics)
            .WithName("ListTopics").WithSummary("Topics created at start-up or through this API.");
        topics.MapPost("/", CreateTopic)
            .WithName("CreateTopic").WithSummary("Creates a topic (the mock has no admin CreateTopics API).");

        var errors = app.MapGroup("/request-errors").WithTags("Faults");
        errors.MapPost("/", PushRequestErrors)
            .WithName("PushRequestErrors").WithSummary("Fails the next requests of one type with the given error codes.");
        errors.MapDelete("/{apiKey}", ClearRequestErrors)
            .WithName("ClearRequestErrors").WithSummary("Drops pending injected errors of one request type.");
        return app;
    }

    internal static Ok<HealthResponse> GetHealth(MockKafkaClusterService service)
    {
        var cluster = service.Cluster;
        var states = cluster.GetBrokerStates();
        return TypedResults.Ok(new HealthResponse(
            states.All(b => b.IsUp) ? "Healthy" : "Degraded",
            cluster.BootstrapServers,
            MockKafkaCluster.LibrdkafkaVersion,
            [.. states.Select(BrokerResponse.From)],
            cluster.CreatedTopics));
    }

    internal static ContentHttpResult GetBootstrap(MockKafkaClusterService service) =>
        TypedResults.Text(service.Cluster.BootstrapServers, "text/plain; charset=utf-8");

    internal static Results<Ok<BrokerResponse>, ProblemHttpResult> SetBrokerDown(
        int id, MockKafkaClusterService service, ILoggerFactory loggers) => SetBrokerState(id, up: false, service, loggers);

    internal static Results<Ok<BrokerResponse>, ProblemHttpResult> SetBrokerUp(
        int id, MockKafkaClusterService service, ILoggerFactory loggers) => SetBrokerState(id, up: true, service, loggers);

    internal static Ok<IReadOnlyList<string>> ListTopics(MockKafkaClusterService service) =>
        TypedResults.Ok(service.Cluster.CreatedTopics);

    internal static Results<Created<TopicResponse>, ValidationProblem, ProblemHttpResult> CreateTopic(
        CreateTopicRequest request, MockKafkaClusterService service, ILoggerFactory loggers)
    {
        var problems = new Dictionary<string, string[]>();
        if (!KafkaTopicName.IsValid(request.Name, out var nameProblem))
        {
            problems["name"] = [nameProblem];
        }

        if (request.Partitions is not (>= 1 and <= MockKafkaCluster.MaxPartitions))
        {
            problems["partitions"] = [$"partitions must be between 1 and {MockKafkaCluster.MaxPartitions}."];
        }

        if (problems.Count > 0 || request.Name is null || request.Partitions is not { } partitions)
        {
            return TypedResults.ValidationProblem(problems, title: "The topic request is not valid.");
        }

        try
        {
            service.Cluster.CreateTopic(request.Name, partitions);
        }
        catch (MockKafkaException ex) when (ex.Error == ErrorCode.TopicAlreadyExists)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "The topic already exists.",
                detail: $"Topic '{request.Name}' exists (created earlier, or auto-created when a client first used it).");
        }

        Log.TopicCreated(loggers.CreateLogger(typeof(ControlApi)), request.Name, partitions);
        return TypedResults.Created("/topics", new TopicResponse(request.Name, partitions));
    }

    internal static Results<Ok<RequestErrorsResponse>, ValidationProblem> PushRequestErrors(
        RequestErrorsRequest request, MockKafkaClusterService service, ILoggerFactory loggers)
    {
        var problems = new Dictionary<string, string[]>();
        if (request.ApiKey is not { } apiKey || !Enum.IsDefined(apiKey))
        {
            problems["apiKey"] = [$"apiKey must be one of: {string.Join(", ", Enum.GetNames<KafkaApiKey>())}."];
        }

        if (request.Errors is not { Count: > 0 } errors || errors.Any(e => (int)e < 0))
        {
            problems["errors"] = ["errors must list one or more broker error codes (names such as \"NotLeaderForPartition\", or numbers of 0 and above)."];
        }

        if (problems.Count > 0 || request.ApiKey is not { } key || request.Errors is not { } codes)
        {
            return TypedResults.ValidationProblem(problems, title: "The request-errors request is not valid.");
        }

        service.Cluster.PushRequestErrors(key, [.. codes]);
        Log.RequestErrorsPushed(loggers.CreateLogger(typeof(ControlApi)), codes.Count, key);
        return TypedResults.Ok(new RequestErrorsResponse(key, codes.Count));
    }

    internal static Results<NoContent, ValidationProblem> ClearRequestErrors(string apiKey, MockKafkaClusterService service)
    {
        if (!Enum.TryParse<KafkaApiKey>(apiKey, ignoreCase: true, out var key) || !Enum.IsDefined(key))
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["apiKey"] = [$"Unknown apiKey '{apiKey}'."] });
        }

        service.Cluster.ClearRequestErrors(key);
        return TypedResults.NoContent();
    }

    private static Results<Ok<BrokerResponse>, ProblemHttpResult> SetBrokerState(
        int id, bool up, MockKafkaClusterService service, ILoggerFactory loggers)
    {
        var cluster = service.Cluster;
        if (!cluster.HasBroker(id))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "No such broker.",
                detail: $"Broker {id} does not exist; this cluster's brokers are numbered 1 to {cluster.BrokerCount}.");
        }

        if (up)
        {
            cluster.SetBrokerUp(id);
        }
        else
        {
            cluster.SetBrokerDown(id);
        }

        var state = new MockBrokerState(id, up);
        Log.BrokerStateChanged(loggers.CreateLogger(typeof(ControlApi)), id, BrokerResponse.From(state).State);
        return TypedResults.Ok(BrokerResponse.From(state));
    }
}
