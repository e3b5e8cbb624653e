using Analytics.Grains.Interfaces.Events;
using Analytics.Streaming.Kafka.Providers;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Streams;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>
/// The cache wrapper's delivery progress, with cursors driven the way Orleans' pulling agent drives them: one cursor per
/// subscription, moved on only after the batch it holds was delivered.
/// </summary>
public sealed class KafkaQueueCacheTests
{
    private static readonly StreamId Alice = StreamId.Create(KafkaStreamNamespaces.UserEvents, "alice");
    private static readonly StreamId Bob = StreamId.Create(KafkaStreamNamespaces.UserEvents, "bob");

    [Fact]
    public void DeliveredBelow_NothingAdded_IsNull()
    {
        var cache = NewCache();
        Assert.Null(cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_StreamsWithoutACursorYet_AreHeldAndNotPurged_UntilOneOpensOrTheClaimTimeout()
    {
        var time = new FakeTimeProvider();
        var cache = NewCache(time);
        cache.AddToCache([Batch(Alice, 10), Batch(Bob, 11), Batch(Alice, 12)]);
        Assert.Equal(10, cache.DeliveredBelow()); // the agent is still registering both streams
        Assert.Equal(2, cache.UnclaimedStreams);
        Assert.False(cache.TryPurgeFromCache(out _)); // nothing may go before their cursors exist

        var alice = Cursor(cache, Alice, 10); // Alice's registration is done: her cursor holds from 10
        Assert.Equal(1, cache.UnclaimedStreams);
        Assert.Equal(10, MoveNext(alice));
        Assert.Equal(12, MoveNext(alice));
        Assert.Null(MoveNext(alice));
        Assert.Equal(11, cache.DeliveredBelow()); // Bob's 11 still waits for a cursor

        time.Advance(KafkaQueueCache.ClaimTimeout); // Bob's stream has no subscriber after all
        cache.TryPurgeFromCache(out _);
        Assert.Equal(0, cache.UnclaimedStreams);
        Assert.Equal(13, cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_CursorHoldingAnOlderMessage_HoldsProgressBackUntilItMovesOn()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 10), Batch(Bob, 11), Batch(Alice, 12), Batch(Bob, 13), Batch(Alice, 14)]);
        var alice = Cursor(cache, Alice, 10);
        var bob = Cursor(cache, Bob, 11);
        Assert.Equal(10, cache.DeliveredBelow()); // nothing delivered yet

        Assert.Equal(10, MoveNext(alice)); // delivering 10
        Assert.Equal(10, cache.DeliveredBelow());
        Assert.Equal(12, MoveNext(alice)); // 10 delivered; Bob still holds 11
        Assert.Equal(11, cache.DeliveredBelow());
        Assert.Equal(14, MoveNext(alice));
        Assert.Null(MoveNext(alice)); // Alice has caught up
        Assert.Equal(11, cache.DeliveredBelow());

        Assert.Equal(11, MoveNext(bob));
        Assert.Equal(11, cache.DeliveredBelow());
        Assert.Equal(13, MoveNext(bob));
        Assert.Equal(13, cache.DeliveredBelow());
        Assert.Null(MoveNext(bob));
        Assert.Equal(15, cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_CaughtUpCursorDisposed_HoldsNothing()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 0), Batch(Bob, 1)]);
        var alice = Cursor(cache, Alice, 0);
        var bob = Cursor(cache, Bob, 1);
        Assert.Equal(0, MoveNext(alice));
        Assert.Null(MoveNext(alice)); // caught up
        Assert.Equal(1, cache.DeliveredBelow());

        alice.Dispose(); // e.g. the stream went inactive
        Assert.Equal(1, cache.DeliveredBelow());
        Assert.Equal(1, MoveNext(bob));
        Assert.Null(MoveNext(bob));
        bob.Dispose();
        Assert.Equal(2, cache.DeliveredBelow());
        Assert.Equal(0, cache.OrphanedHolds);
    }

    [Fact]
    public void DeliveredBelow_CursorDisposedMidDelivery_KeepsHoldingUntilANewCursorOfItsStreamTakesOver()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 0), Batch(Bob, 1), Batch(Alice, 2), Batch(Bob, 3)]);
        var alice = Cursor(cache, Alice, 0);
        var bob = Cursor(cache, Bob, 1);
        Assert.Equal(0, MoveNext(alice));
        Assert.Equal(2, MoveNext(alice));
        Assert.Null(MoveNext(alice));
        Assert.Equal(1, MoveNext(bob)); // being delivered when the agent drops Bob's consumer (a silo going down)

        bob.Dispose();
        Assert.Equal(1, cache.DeliveredBelow()); // nobody delivered 1: it must not be committed
        Assert.Equal(1, cache.OrphanedHolds);
        Assert.Null(cache.FinalDeliveredBelow);
        cache.UpdateDeliveryProgress(null, DateTime.UtcNow);
        Assert.Equal(1, cache.FinalDeliveredBelow); // nor reported as delivered on release

        var recovered = Cursor(cache, Bob, 1); // the agent recovers the consumer from where it was
        Assert.Equal(0, cache.OrphanedHolds);
        Assert.Equal(1, cache.DeliveredBelow());
        Assert.Equal(1, MoveNext(recovered));
        Assert.Equal(3, MoveNext(recovered));
        Assert.Null(MoveNext(recovered));
        Assert.Equal(4, cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_CursorReplacedAfterADelivery_LeavesNoOrphan()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Bob, 1), Batch(Bob, 3)]);
        var first = Cursor(cache, Bob, 1);
        Assert.Equal(1, MoveNext(first)); // delivered; the consumer answered with a handshake token
        var next = Cursor(cache, Bob, 1); // so the agent opens a cursor from that token, then disposes the old one
        first.Dispose();
        Assert.Equal(0, cache.OrphanedHolds);

        Assert.Equal(1, MoveNext(next));
        Assert.Equal(3, MoveNext(next));
        Assert.Null(MoveNext(next));
        Assert.Equal(4, cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_NewCursorStartingAfterAnOrphanedHold_DoesNotReleaseIt()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Bob, 1), Batch(Bob, 3)]);
        var bob = Cursor(cache, Bob, 1);
        Assert.Equal(1, MoveNext(bob));
        bob.Dispose();

        var later = Cursor(cache, Bob, 3); // starts past 1: 1 is still undelivered
        Assert.Equal(3, MoveNext(later));
        Assert.Null(MoveNext(later));
        Assert.Equal(1, cache.DeliveredBelow());
        Assert.Equal(1, cache.OrphanedHolds);
    }

    [Fact]
    public void DeliveredBelow_NewDataForACaughtUpCursor_IsHeldFromTheRefreshToken()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 0)]);
        var alice = Cursor(cache, Alice, 0);
        Assert.Equal(0, MoveNext(alice));
        Assert.Null(MoveNext(alice));
        Assert.Equal(1, cache.DeliveredBelow());

        // As the agent does after a pull: add the new messages, then refresh the cursors of their streams.
        cache.AddToCache([Batch(Alice, 2), Batch(Alice, 3)]);
        alice.Refresh(new KafkaSequenceToken(0, 2));
        Assert.Equal(2, cache.DeliveredBelow());
        Assert.Equal(2, MoveNext(alice));
        Assert.Equal(2, cache.DeliveredBelow());
        Assert.Equal(3, MoveNext(alice));
        Assert.Equal(3, cache.DeliveredBelow());
        Assert.Null(MoveNext(alice));
        Assert.Equal(4, cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_CursorWithoutToken_HoldsTheNewestMessage()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 5), Batch(Alice, 6)]);
        var alice = Cursor(cache, Alice, token: null);
        Assert.Equal(6, cache.DeliveredBelow());
        Assert.Equal(6, MoveNext(alice));
        Assert.Null(MoveNext(alice));
        Assert.Equal(7, cache.DeliveredBelow());
    }

    [Fact]
    public void DeliveredBelow_CursorAtStartPosition_HoldsEverythingUntilItMoves()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 5), Batch(Alice, 6)]);
        var result = cache.TryGetCacheCursorAtPosition(Alice, StreamSubscriptionStartPosition.EarliestAvailable);
        Assert.Equal(QueueCacheCursorResultKind.Success, result.Kind);
        Assert.True(cache.DeliveredBelow() <= 5, $"progress {cache.DeliveredBelow()} passes what a cursor at the start may still deliver");
        var alice = result.Cursor!;
        Assert.Equal(5, MoveNext(alice));
        Assert.Equal(5, cache.DeliveredBelow());
        Assert.Equal(6, MoveNext(alice));
        Assert.Null(MoveNext(alice));
        Assert.Equal(7, cache.DeliveredBelow());
    }

    [Fact]
    public void HeldFor_IsHowLongACursorOfTheStreamHasBeenOnTheOffset()
    {
        var time = new FakeTimeProvider();
        var cache = NewCache(time);
        cache.AddToCache([Batch(Alice, 0), Batch(Alice, 1), Batch(Bob, 2)]);
        var alice = Cursor(cache, Alice, 0);
        Assert.Equal(0, MoveNext(alice));
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TimeSpan.FromSeconds(3), cache.HeldFor(Alice, 0));
        Assert.Null(cache.HeldFor(Alice, 1)); // not reached yet
        Assert.Null(cache.HeldFor(Bob, 0)); // another stream

        Assert.Equal(1, MoveNext(alice));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(1), cache.HeldFor(Alice, 1)); // the clock starts again with each message
        Assert.Null(cache.HeldFor(Alice, 0));
        alice.Dispose();
        Assert.Null(cache.HeldFor(Alice, 1));
    }

    [Fact]
    public void UpdateDeliveryProgress_ReportedBeforeTheCursorsAreDisposed_KeepsWhatTheyStillHeld()
    {
        var cache = NewCache();
        cache.AddToCache([Batch(Alice, 0), Batch(Bob, 1), Batch(Alice, 2)]);
        var alice = Cursor(cache, Alice, 0);
        var bob = Cursor(cache, Bob, 1);
        Assert.Equal(0, MoveNext(alice));
        Assert.Equal(2, MoveNext(alice));
        Assert.Null(MoveNext(alice));
        Assert.Equal(1, MoveNext(bob)); // being delivered when the agent stops
        Assert.Null(cache.FinalDeliveredBelow);

        cache.UpdateDeliveryProgress(null, DateTime.UtcNow);
        alice.Dispose();
        bob.Dispose();

        Assert.Equal(1, cache.FinalDeliveredBelow);
        Assert.Equal(1, cache.DeliveredBelow()); // Bob's disposed cursor was delivering 1: its hold stays
    }

    private static KafkaQueueCache NewCache(TimeProvider? time = null)
    {
        var caches = new KafkaQueueAdapterCache(new SimpleQueueCacheOptions { CacheSize = 100 }, "kafka", NullLoggerFactory.Instance, time);
        return Assert.IsType<KafkaQueueCache>(caches.CreateQueueCache(new KafkaQueueMapper("kafka", 1).GetQueue(0)));
    }

    private static IQueueCacheCursor Cursor(KafkaQueueCache cache, StreamId streamId, long? token)
    {
        var result = cache.TryGetCacheCursor(streamId, token is { } offset ? new KafkaSequenceToken(0, offset) : null);
        Assert.Equal(QueueCacheCursorResultKind.Success, result.Kind);
        return result.Cursor!;
    }

    /// <summary>Moves the cursor on; returns the offset it now holds, or null when it has no more data.</summary>
    private static long? MoveNext(IQueueCacheCursor cursor)
    {
        var result = cursor.MoveNextWithResult();
        if (result.Kind == QueueCacheCursorMoveResultKind.NoData) return null;
        Assert.Equal(QueueCacheCursorMoveResultKind.Success, result.Kind);
        return ((KafkaBatchContainer)cursor.GetCurrent(out _)!).Offset;
    }

    private static KafkaBatchContainer Batch(StreamId streamId, long offset)
    {
        var userEvent = new UserEvent
        {
            EventId = Guid.CreateVersion7(),
            UserId = streamId.GetKeyAsString(),
            SessionId = "s",
            EventType = UserEventType.View,
            ProductId = "p",
            Category = "c",
            Price = 1m,
            EventTime = DateTimeOffset.UnixEpoch,
        };
        return new KafkaBatchContainer(streamId, userEvent, new KafkaSequenceToken(0, offset));
    }
}
