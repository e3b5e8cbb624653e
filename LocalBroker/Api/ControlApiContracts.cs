using Confluent.Kafka;

namespace Analytics.LocalBroker.Api;

/// <summary>Body of <c>POST /topics</c>.</summary>
/// <param name="Name">A valid Kafka topic name.</param>
/// <param name="Partitions">1 to 1000.</param>
public sealed record CreateTopicRequest(string? Name, int? Partitions);

/// <summary>A topic that was created.</summary>
public sealed record TopicResponse(string Name, int Partitions);

/// <summary>One broker in control-API responses; <paramref name="State"/> is <c>up</c> or <c>down</c>.</summary>
public sealed record BrokerResponse(int Id, string State)
{
    internal static BrokerResponse From(MockBrokerState broker) => new(broker.Id, broker.IsUp ? "up" : "down");
}

/// <summary>Body of <c>GET /health</c>; <paramref name="Status"/> is <c>Healthy</c>, or <c>Degraded</c> while a broker is down.</summary>
public sealed record HealthResponse(
    string Status,
    string BootstrapServers,
    string LibrdkafkaVersion,
    IReadOnlyList<BrokerResponse> Brokers,
    IReadOnlyList<string> Topics);

/// <summary>Body of <c>POST /request-errors</c>: enum names or numbers.</summary>
public sealed record RequestErrorsRequest(KafkaApiKey? ApiKey, IReadOnlyList<ErrorCode>? Errors);

/// <summary>How many injected errors were queued for which request type.</summary>
public sealed record RequestErrorsResponse(KafkaApiKey ApiKey, int Count);
