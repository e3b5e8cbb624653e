using Analytics.Grains.Interfaces.Events;
using Confluent.Kafka;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>Events and helpers shared by the silo tests.</summary>
internal static class TestEvents
{
    /// <summary>A valid event; its time has whole milliseconds, as the JSON form keeps it, so it survives a round trip unchanged.</summary>
    public static UserEvent New(string userId, string productId = "p-1") => new()
    {
        EventId = Guid.CreateVersion7(),
        UserId = userId,
        SessionId = "session-" + userId,
        EventType = UserEventType.View,
        ProductId = productId,
        Category = "books",
        Price = 12.5m,
        EventTime = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        Device = "mobile",
        Channel = "web",
    };

    /// <summary>The event as an external producer writes it: JSON, keyed by user.</summary>
    public static Message<string, byte[]> ToMessage(UserEvent userEvent)
        => new() { Key = userEvent.UserId, Value = UserEventJson.ToUtf8Bytes(userEvent) };

    /// <summary>Produces the events; where each landed, by event id.</summary>
    public static async Task<Dictionary<Guid, TopicPartitionOffset>> ProduceAsync(
        IProducer<string, byte[]> producer, string topic, IEnumerable<UserEvent> events, int? partition = null)
    {
        var list = events.ToList();
        var results = await Task.WhenAll(list.Select(e => partition is { } p
            ? producer.ProduceAsync(new TopicPartition(topic, p), ToMessage(e))
            : producer.ProduceAsync(topic, ToMessage(e))));
        return list.Zip(results).ToDictionary(pair => pair.First.EventId, pair => pair.Second.TopicPartitionOffset);
    }

    /// <summary>An exception and all its inner exceptions.</summary>
    public static IEnumerable<Exception> Flatten(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten)) yield return inner;
            }
        }
    }
}
