using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>Orleans producers publishing through the provider: to Kafka first, then back to the subscribers through the receivers.</summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaStreamPublishingTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ClusterClient_PublishesUserEvent_WrittenAsProducerJsonAndDeliveredToTheUsersGrainAtItsTopicPosition()
    {
        using var client = await StartClientAsync();
        try
        {
            var userId = "publisher-" + Guid.NewGuid().ToString("N");
            var userEvent = TestEvents.New(userId);
            var before = fixture.EndOffsets();

            await UserStream(client, userId).OnNextAsync(userEvent);

            // Acknowledged means in the log: the same JSON an external producer writes, keyed by the user.
            var written = fixture.ReadTopic(KafkaSiloFixture.Topic, before, Deadline)
                .Where(r => UserEventJson.TryParse(r.Message.Value, DateTimeOffset.UtcNow, out var e, out _) && e.EventId == userEvent.EventId)
                .ToList();
            var message = Assert.Single(written);
            Assert.Equal(userId, message.Message.Key);
            Assert.Equal(UserEventJson.ToUtf8Bytes(userEvent), message.Message.Value);
            Assert.False(message.Message.Headers?.TryGetLastBytes("orleans-stream-message", out _) ?? false);

            await Eventually.UntilAsync(
                () => fixture.Received.Snapshot().Any(r => r.Event.EventId == userEvent.EventId),
                Deadline,
                $"the published event delivered to user {userId}'s grain");
            var received = Assert.Single(fixture.Received.Snapshot(), r => r.Event.EventId == userEvent.EventId);
            Assert.Equal(userId, received.GrainKey);
            Assert.Equal(userEvent, received.Event);
            Assert.Equal(new KafkaSequenceToken(message.Partition.Value, message.Offset.Value), received.Token);
            Assert.Contains(fixture.Sink.Events(), e => e.Event.EventId == userEvent.EventId && e.Offset == message.Offset.Value);
        }
        finally
        {
            await client.StopAsync();
        }
    }

    [Fact]
    public async Task ClusterClient_PublishesCustomItemOnAnotherNamespace_DeliveredToThatNamespacesSubscriberAtItsTopicPosition()
    {
        using var client = await StartClientAsync();
        try
        {
            var key = "notes-" + Guid.NewGuid().ToString("N");
            var note = new TestNote { NoteId = Guid.NewGuid(), Text = "not a user event" };
            var before = fixture.EndOffsets();

            await client.Services.GetRequiredService<IClusterClient>()
                .GetStreamProvider(KafkaSiloFixture.ProviderName)
                .GetStream<TestNote>(StreamId.Create(ReceivedNotes.Namespace, key))
                .OnNextAsync(note);

            var message = Assert.Single(fixture.ReadTopic(KafkaSiloFixture.Topic, before, Deadline), r => r.Message.Key == key);
            Assert.True(message.Message.Headers.TryGetLastBytes("orleans-stream-message", out _), "the Orleans message header is missing");

            await Eventually.UntilAsync(
                () => fixture.Notes.Snapshot().Any(n => n.Note.NoteId == note.NoteId),
                Deadline,
                $"the note delivered to grain {key}");
            var received = Assert.Single(fixture.Notes.Snapshot(), n => n.Note.NoteId == note.NoteId);
            Assert.Equal(key, received.GrainKey);
            Assert.Equal(note, received.Note);
            Assert.Equal(new KafkaSequenceToken(message.Partition.Value, message.Offset.Value), received.Token);
            Assert.DoesNotContain(fixture.Sink.DeadLetters(), d => d.Partition == message.Partition.Value && d.Offset == message.Offset.Value);
        }
        finally
        {
            await client.StopAsync();
        }
    }

    [Fact]
    public async Task ClusterClient_PublishesUserEventOnAnotherUsersStream_IsRefusedAndNothingIsWritten()
    {
        using var client = await StartClientAsync();
        try
        {
            var before = fixture.EndOffsets();
            var userEvent = TestEvents.New("someone-" + Guid.NewGuid().ToString("N"));

            var error = await Assert.ThrowsAnyAsync<Exception>(() => UserStream(client, "someone-else").OnNextAsync(userEvent));

            Assert.Contains(TestEvents.Flatten(error), e => e is ArgumentException);
            Assert.Equal(before, fixture.EndOffsets());
        }
        finally
        {
            await client.StopAsync();
        }
    }

    private async Task<IHost> StartClientAsync()
    {
        var client = fixture.BuildClient(fixture.Host);
        await client.StartAsync();
        return client;
    }

    private static IAsyncStream<UserEvent> UserStream(IHost client, string userId)
        => client.Services.GetRequiredService<IClusterClient>()
            .GetStreamProvider(KafkaSiloFixture.ProviderName)
            .GetStream<UserEvent>(StreamId.Create(KafkaStreamNamespaces.UserEvents, userId));
}
