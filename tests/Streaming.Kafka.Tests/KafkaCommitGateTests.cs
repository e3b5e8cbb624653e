using System.Collections.Concurrent;
using System.Globalization;
using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Analytics.Streaming.Kafka.Tests;

/// <summary>
/// The <see cref="IKafkaCommitGate"/> on a real silo: every commit is gated on exactly the streams delivered since the
/// last successful gate, a failing gate holds the commit back without forgetting anything, and a slow gate does not
/// hold delivery back. Each test runs its own silo on its own topic and group, with a recording gate registered keyed
/// by the provider name, and watches the group's committed offsets on the broker all along: each one it sees must
/// already have been the offset of a successful gate call.
/// </summary>
[Collection(KafkaSiloCollection.Name)]
public sealed class KafkaCommitGateTests(KafkaSiloFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CommitInterval = TimeSpan.FromMilliseconds(200);
    private const int Partitions = 4;
    private const int Users = 24;

    [Fact]
    public async Task KafkaCommitGate_EveryCommitIsGatedOnExactlyTheStreamsDeliveredBelowIt()
    {
        var gate = new RecordingCommitGate();
        await using var run = await GatedSilo.StartAsync(fixture, "gate", gate);

        // Three waves, each committed to the end before the next: several gate calls per partition.
        var produced = new List<ProducedEvent>();
        for (var wave = 0; wave < 3; wave++)
        {
            produced.AddRange(await run.ProduceAsync(eventsPerUser: 2));
            await run.WaitDeliveredAsync(produced);
            await run.WaitCommittedToEndAsync();
        }

        var ends = run.EndOffsets();
        Assert.All(ends, end => Assert.True(end > 0, "every partition should hold some events"));
        var committed = run.CommittedOffsets();
        Assert.Equal(ends, committed);

        var calls = gate.Calls();
        Assert.All(calls, call => Assert.Equal(GateOutcome.Succeeded, call.Outcome));
        for (var partition = 0; partition < Partitions; partition++)
        {
            var mine = calls.Where(c => c.Range.Partition == partition).ToList();
            Assert.True(mine.Count >= 3, $"partition {partition}: {mine.Count} gate calls for three committed waves");

            // The final commit of the partition is the last gate's offset.
            Assert.Equal(committed[partition], mine.Max(c => c.Range.CommitOffset));

            // Together the gate calls offered exactly the users whose events landed on the partition, each up to its
            // last event there.
            var offered = mine.SelectMany(c => UserIds(c.Range))
                .GroupBy(s => s.Key)
                .ToDictionary(g => g.Key, g => g.Max(s => s.Value.LastOffset));
            var users = produced.Where(e => e.Partition == partition)
                .GroupBy(e => e.UserId)
                .ToDictionary(g => g.Key, g => g.Max(e => e.Offset));
            Assert.Equal(users.OrderBy(u => u.Key, StringComparer.Ordinal), offered.OrderBy(u => u.Key, StringComparer.Ordinal));
        }

        run.AssertEachCallOfferedExactlyItsStreams(produced);
        run.AssertEveryObservedCommitWasGated();
    }

    [Fact]
    public async Task KafkaCommitGate_GateFails_NothingIsCommittedUntilItSucceeds_ThenTheSuccessfulCallOffersEveryStreamOfTheFailedOnes()
    {
        var gate = new RecordingCommitGate();
        await using var run = await GatedSilo.StartAsync(fixture, "gatefail", gate);

        var produced = new List<ProducedEvent>(await run.ProduceAsync(eventsPerUser: 2));
        await run.WaitDeliveredAsync(produced);
        await run.WaitCommittedToEndAsync();
        var before = run.CommittedOffsets();

        gate.StartFailing();
        var second = await run.ProduceAsync(eventsPerUser: 2);
        produced.AddRange(second);
        var ends = run.EndOffsets();
        await run.WaitDeliveredAsync(produced);

        // The receiver keeps trying on every commit interval, each time up to the end of the partition.
        await run.UntilAsync(
            () => Enumerable.Range(0, Partitions).All(p => gate.Calls().Count(c => c.Range.Partition == p && c.Outcome == GateOutcome.Failed && c.Range.CommitOffset == ends[p]) >= 2),
            $"at least two failed gate calls up to the end [{string.Join(", ", ends)}] of every partition");
        Assert.Equal(before, run.CommittedOffsets());
        var failedSoFar = gate.Calls().Count(c => c.Outcome == GateOutcome.Failed);
        await run.UntilAsync(() => gate.Calls().Count(c => c.Outcome == GateOutcome.Failed) >= failedSoFar + Partitions, "more failed gate calls");
        Assert.Equal(before, run.CommittedOffsets());
        Assert.DoesNotContain(gate.Calls(), c => c.Outcome == GateOutcome.Succeeded && c.Range.CommitOffset > before[c.Range.Partition]);

        gate.StopFailing();
        await run.WaitCommittedToEndAsync();
        Assert.Equal(ends, run.CommittedOffsets());

        var calls = gate.Calls();
        for (var partition = 0; partition < Partitions; partition++)
        {
            var mine = calls.Where(c => c.Range.Partition == partition).ToList();
            var failed = mine.Where(c => c.Outcome == GateOutcome.Failed).ToList();
            Assert.True(failed.Count >= 2, $"partition {partition}: {failed.Count} failed gate calls");
            var lastFailed = mine.LastIndexOf(failed[^1]);
            var success = mine.Skip(lastFailed + 1).FirstOrDefault(c => c.Outcome == GateOutcome.Succeeded)
                ?? throw new Xunit.Sdk.XunitException($"partition {partition}: no successful gate call after the failed ones");
            Assert.Equal(ends[partition], success.Range.CommitOffset);

            // Nothing forgotten: every stream offered by a failed call is offered again, with all its events.
            var offered = UserIds(success.Range);
            foreach (var (user, span) in failed.SelectMany(c => UserIds(c.Range)))
            {
                Assert.True(offered.TryGetValue(user, out var again), $"partition {partition}: user {user} offered by a failed gate call, but not by the successful one at {success.Range.CommitOffset}");
                Assert.True(
                    again.FirstOffset <= span.FirstOffset && again.LastOffset >= span.LastOffset,
                    $"partition {partition}: user {user} offered {span.FirstOffset}..{span.LastOffset} by a failed gate call, but {again.FirstOffset}..{again.LastOffset} by the successful one at {success.Range.CommitOffset}");
                var missing = span.Events.Select(e => e.Offset).Except(again.Events.Select(e => e.Offset)).ToList();
                Assert.True(missing.Count == 0, $"partition {partition}: user {user}'s events at [{string.Join(", ", missing)}], offered by a failed gate call, are missing from the successful one");
            }

            // And it offers every user of the second wave on this partition, and no other.
            var users = second.Where(e => e.Partition == partition).Select(e => e.UserId).ToHashSet();
            Assert.True(users.SetEquals(offered.Keys), $"partition {partition}: offered [{string.Join(", ", offered.Keys.Order())}] after the failures, second wave had [{string.Join(", ", users.Order())}]");
        }

        run.AssertEachCallOfferedExactlyItsStreams(produced);
        run.AssertEveryObservedCommitWasGated();
    }

    [Fact]
    public async Task KafkaCommitGate_GatePending_DeliveryGoesOnAndTheCommitFollowsOnceItReturns()
    {
        var gate = new RecordingCommitGate();
        gate.Hold();
        await using var run = await GatedSilo.StartAsync(fixture, "gateslow", gate);

        // A gate call pending on every partition.
        var produced = new List<ProducedEvent>(await run.ProduceAsync(eventsPerUser: 1));
        await run.UntilAsync(
            () => Enumerable.Range(0, Partitions).All(p => gate.Calls().Any(c => c.Range.Partition == p && c.Outcome == GateOutcome.Pending)),
            "a pending gate call on every partition");

        // Everything produced from now on is delivered while those calls are still pending.
        var second = await run.ProduceAsync(eventsPerUser: 3);
        produced.AddRange(second);
        await run.WaitDeliveredAsync(produced);
        var calls = gate.Calls();
        Assert.Equal(Partitions, calls.Count); // one call per partition, none retried or overtaken
        Assert.All(calls, call => Assert.Equal(GateOutcome.Pending, call.Outcome));
        Assert.All(run.CommittedOffsets(), committed => Assert.Equal(-1, committed));

        gate.Release();
        await run.WaitCommittedToEndAsync();
        calls = gate.Calls();
        Assert.All(calls, call => Assert.Equal(GateOutcome.Succeeded, call.Outcome));

        // The streams of the events delivered while the gate was pending are gated by a later call.
        for (var partition = 0; partition < Partitions; partition++)
        {
            var later = calls.Where(c => c.Range.Partition == partition).Skip(1).SelectMany(c => UserIds(c.Range)).Select(s => s.Key).ToHashSet();
            var users = second.Where(e => e.Partition == partition).Select(e => e.UserId).ToHashSet();
            Assert.True(users.IsSubsetOf(later), $"partition {partition}: the later gate calls offered [{string.Join(", ", later.Order())}], the events delivered meanwhile were of [{string.Join(", ", users.Order())}]");
        }

        run.AssertEachCallOfferedExactlyItsStreams(produced);
        run.AssertEveryObservedCommitWasGated();
    }

    [Fact]
    public async Task KafkaCommitGate_CommitHeldBackByAnEventStillInDelivery_GateOffersOnlyTheStreamsBelowIt()
    {
        // One partition: events of some users, then one that a subscriber refuses until it becomes a dead letter (after
        // MaxDeliveryTime), then more events. Meanwhile the events after it are delivered, but the commit cannot pass it.
        var gate = new RecordingCommitGate();
        await using var run = await GatedSilo.StartAsync(fixture, "gatehold", gate, partitions: 1, maxDeliveryTime: TimeSpan.FromSeconds(3));
        var produced = new List<ProducedEvent>(await run.ProduceAsync(Enumerable.Range(0, 5).Select(i => run.NewEvent(i))));
        await run.WaitDeliveredAsync(produced);
        await run.WaitCommittedToEndAsync();

        // Failing, the gate is asked again on every commit interval (the held offset is never committed), so it sees
        // the held offset with what came after it already delivered.
        gate.StartFailing();
        produced.AddRange(await run.ProduceAsync(Enumerable.Range(0, 3).Select(i => run.NewEvent(i))));
        var poison = await run.ProduceAsync([TestEvents.New(run.UserId(99), PoisonLog.PoisonProductId)]);
        var held = poison[0].Offset;
        produced.AddRange(poison);
        var after = await run.ProduceAsync(Enumerable.Range(2, 6).Select(i => run.NewEvent(i)));
        produced.AddRange(after);
        await run.WaitDeliveredAsync(after);
        var callsBefore = gate.Calls().Count;
        await run.UntilAsync(
            () => gate.Calls().Skip(callsBefore).Any(c => c.Range.CommitOffset == held && c.Outcome == GateOutcome.Failed),
            $"a gate call at the held offset {held} after the events behind it were delivered");
        Assert.Empty(run.Sink.DeadLetters()); // still held: the gate saw the situation this test is about

        gate.StopFailing();
        await run.UntilAsync(() => run.Sink.DeadLetters().Any(d => d.Offset == held), $"the event at {held} dead-lettered");
        await run.WaitCommittedToEndAsync();

        var calls = gate.Calls();
        Assert.Contains(calls, c => c.Range.CommitOffset == held);
        Assert.All(
            calls.Where(c => c.Range.CommitOffset <= held),
            c => Assert.True(c.Range.Streams.Values.All(s => s.LastOffset < held), $"a gate call at {c.Range.CommitOffset} offered offsets up to {c.Range.Streams.Values.Max(s => s.LastOffset)}"));
        // The dead-lettered event's stream is offered with a span over it, but not the event: a subscriber recovering
        // lost deliveries must not apply the very event it kept failing on.
        run.AssertEachCallOfferedExactlyItsStreams(produced, new HashSet<long> { held });
        run.AssertEveryObservedCommitWasGated();
    }

    /// <summary>The user id of each stream the range offers, with its span; every stream must be a user's.</summary>
    private static Dictionary<string, KafkaStreamSpan> UserIds(KafkaCommitRange range)
    {
        Assert.All(range.Streams.Keys, stream => Assert.Equal(KafkaStreamNamespaces.UserEvents, stream.GetNamespace()));
        return range.Streams.ToDictionary(s => s.Key.GetKeyAsString(), s => s.Value);
    }

    private static string Describe(string user, long first, long last, IEnumerable<(Guid EventId, string UserId, int Partition, long Offset)> events)
        => string.Create(CultureInfo.InvariantCulture, $"{user} {first}..{last} [{string.Join(" ", events.Select(e => $"{e.UserId}/{e.EventId}@{e.Partition}:{e.Offset}"))}]");

    /// <summary>A user event as produced: whose it is and where it landed.</summary>
    private sealed record ProducedEvent(Guid EventId, string UserId, int Partition, long Offset);

    /// <summary>
    /// A silo with the gate on its own topic and group, and a watcher that keeps reading the group's committed offsets
    /// from the broker: each one it sees must already have been the offset of a successful gate call. Every wait fails
    /// at once when the watcher has seen one that was not.
    /// </summary>
    private sealed class GatedSilo : IAsyncDisposable
    {
        private readonly KafkaSiloFixture _fixture;
        private readonly RecordingCommitGate _gate;
        private readonly IHost _silo;
        private readonly int _partitions;
        private readonly string _runId = Guid.NewGuid().ToString("N")[..8];
        private readonly ReceivedEvents _received = new();
        private readonly ConcurrentQueue<string> _ungatedCommits = new();
        private readonly CancellationTokenSource _stopWatching = new();
        private readonly IProducer<string, byte[]> _producer;
        private Task _watcher = Task.CompletedTask;
        private int _observations;

        private GatedSilo(KafkaSiloFixture fixture, string prefix, RecordingCommitGate gate, int partitions, TimeSpan? maxDeliveryTime)
        {
            _fixture = fixture;
            _gate = gate;
            _partitions = partitions;
            Topic = fixture.CreateTopic(prefix, partitions);
            Group = prefix + "-" + Guid.NewGuid().ToString("N");
            _producer = fixture.CreateProducer();
            _silo = fixture.BuildSilo(
                options =>
                {
                    options.Topic = Topic;
                    options.Partitions = partitions;
                    options.ConsumerGroup = Group;
                    options.CommitInterval = CommitInterval;
                    if (maxDeliveryTime is { } time) options.MaxDeliveryTime = time;
                },
                _received,
                Sink,
                configureSilo: silo => silo.Services.AddKeyedSingleton<IKafkaCommitGate>(KafkaSiloFixture.ProviderName, gate));
        }

        public string Topic { get; }

        public string Group { get; }

        public RecordingMessageSink Sink { get; } = new();

        public static async Task<GatedSilo> StartAsync(KafkaSiloFixture fixture, string prefix, RecordingCommitGate gate, int partitions = Partitions, TimeSpan? maxDeliveryTime = null)
        {
            var run = new GatedSilo(fixture, prefix, gate, partitions, maxDeliveryTime);
            try
            {
                await run._silo.StartAsync();
            }
            catch
            {
                run._silo.Dispose();
                run._producer.Dispose();
                run._stopWatching.Dispose();
                throw;
            }

            run._watcher = Task.Run(run.WatchCommitsAsync);
            return run;
        }

        public IReadOnlyList<long> CommittedOffsets() => _fixture.CommittedOffsets(Group, Topic, _partitions);

        public IReadOnlyList<long> EndOffsets() => _fixture.EndOffsets(Topic, _partitions);

        public string UserId(int user) => $"gate-{_runId}-{user}";

        public UserEvent NewEvent(int user) => TestEvents.New(UserId(user));

        /// <summary>Events for each of the run's users, keyed by user (so each user stays on one partition); every partition gets some.</summary>
        public async Task<IReadOnlyList<ProducedEvent>> ProduceAsync(int eventsPerUser)
        {
            var produced = await ProduceAsync(Enumerable.Range(0, eventsPerUser).SelectMany(_ => Enumerable.Range(0, Users).Select(NewEvent)));
            Assert.Equal(_partitions, produced.Select(e => e.Partition).Distinct().Count());
            return produced;
        }

        public async Task<IReadOnlyList<ProducedEvent>> ProduceAsync(IEnumerable<UserEvent> events)
        {
            var list = events.ToList();
            var at = await TestEvents.ProduceAsync(_producer, Topic, list);
            return [.. list.Select(e => new ProducedEvent(e.EventId, e.UserId, at[e.EventId].Partition.Value, at[e.EventId].Offset.Value))];
        }

        /// <summary>Waits for <paramref name="condition"/>, failing at once if a commit without its gate was seen.</summary>
        public Task UntilAsync(Func<bool> condition, string what) => Eventually.UntilAsync(
            () =>
            {
                AssertEveryObservedCommitWasGated(requireObservations: false);
                return condition();
            },
            Deadline,
            what);

        public Task WaitDeliveredAsync(IReadOnlyList<ProducedEvent> produced)
        {
            var ids = produced.Select(e => e.EventId).ToHashSet();
            return UntilAsync(
                () => _received.Snapshot().Select(r => r.Event.EventId).Where(ids.Contains).Distinct().Count() == ids.Count,
                $"the {ids.Count} events delivered");
        }

        public async Task WaitCommittedToEndAsync()
        {
            var ends = EndOffsets();
            await UntilAsync(
                () => CommittedOffsets().SequenceEqual(ends),
                $"group {Group} committed up to the ends [{string.Join(", ", ends)}] of {Topic} (committed [{string.Join(", ", CommittedOffsets())}])");
        }

        public void AssertEveryObservedCommitWasGated(bool requireObservations = true)
        {
            if (requireObservations) Assert.True(Volatile.Read(ref _observations) > 0, "the committed offsets were never read while the silo ran");
            Assert.True(_ungatedCommits.IsEmpty, "commits seen without a successful gate call at that offset: " + string.Join("; ", _ungatedCommits.Take(10)));
        }

        /// <summary>
        /// Each call, in the order of the calls per partition, offered exactly the users with events from the previous
        /// successful call's commit offset (0 at first) up to its own, each with its lowest and highest offset in that
        /// range and its events there, in offset order; on this topic, in the epoch of the events delivered from it.
        /// </summary>
        /// <param name="produced">What was produced.</param>
        /// <param name="deliveryFailed">Offsets of events dead-lettered because a subscriber kept failing on them: their
        /// streams' spans still cover them, but the events themselves are never offered for recovery.</param>
        public void AssertEachCallOfferedExactlyItsStreams(IReadOnlyList<ProducedEvent> produced, IReadOnlySet<long>? deliveryFailed = null)
        {
            var calls = _gate.Calls();
            var ids = produced.Select(e => e.EventId).ToHashSet();
            var epochs = _received.Snapshot().Where(r => ids.Contains(r.Event.EventId)).Select(r => Assert.IsType<KafkaSequenceToken>(r.Token).Epoch).Distinct().ToList();
            var epoch = Assert.Single(epochs);
            foreach (var partition in calls.Select(c => c.Range.Partition).Distinct())
            {
                long from = 0;
                foreach (var call in calls.Where(c => c.Range.Partition == partition))
                {
                    Assert.Equal(Topic, call.Range.Topic);
                    Assert.Equal(epoch, call.Range.Epoch);
                    var below = call.Range.CommitOffset;
                    var expected = produced
                        .Where(e => e.Partition == partition && e.Offset >= from && e.Offset < below)
                        .GroupBy(e => e.UserId)
                        .Select(g => Describe(g.Key, g.Min(e => e.Offset), g.Max(e => e.Offset), g.OrderBy(e => e.Offset).Where(e => deliveryFailed?.Contains(e.Offset) != true).Select(e => (e.EventId, e.UserId, e.Partition, e.Offset))))
                        .Order(StringComparer.Ordinal)
                        .ToList();
                    var actual = UserIds(call.Range)
                        .Select(s => Describe(s.Key, s.Value.FirstOffset, s.Value.LastOffset, s.Value.Events.Select(e => (e.Event.EventId, e.Event.UserId, e.Partition, e.Offset))))
                        .Order(StringComparer.Ordinal)
                        .ToList();
                    Assert.True(
                        expected.SequenceEqual(actual),
                        $"{Topic}[{partition}] gate call ({call.Outcome}) for [{from}, {below}): expected [{string.Join(", ", expected)}], offered [{string.Join(", ", actual)}]");
                    if (call.Outcome == GateOutcome.Succeeded)
                    {
                        Assert.True(below > from, $"{Topic}[{partition}]: a successful gate call at {below} after one at {from}");
                        from = below;
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Nothing the test did may keep the silo from stopping: the gate returns, and returns successfully.
            _gate.StopFailing();
            _gate.Release();
            try
            {
                await _silo.StopAsync();
            }
            finally
            {
                await _stopWatching.CancelAsync();
                await _watcher;
                _silo.Dispose();
                _producer.Dispose();
                _stopWatching.Dispose();
            }
        }

        private async Task WatchCommitsAsync()
        {
            while (!_stopWatching.IsCancellationRequested)
            {
                IReadOnlyList<long>? committed = null;
                try
                {
                    committed = CommittedOffsets();
                }
                catch (KafkaException)
                {
                    // Read again after the pause.
                }

                if (committed is not null)
                {
                    // A gate call succeeds before its offset is committed, so it is recorded by the time the commit is read.
                    var gated = _gate.Calls().Where(c => c.Outcome == GateOutcome.Succeeded).Select(c => (c.Range.Partition, c.Range.CommitOffset)).ToHashSet();
                    for (var partition = 0; partition < committed.Count; partition++)
                    {
                        if (committed[partition] >= 0 && !gated.Contains((partition, committed[partition])))
                        {
                            _ungatedCommits.Enqueue($"{Topic}[{partition}] committed at {committed[partition]}");
                        }
                    }

                    Interlocked.Increment(ref _observations);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _stopWatching.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}

/// <summary>What became of one call of a <see cref="RecordingCommitGate"/>.</summary>
public enum GateOutcome
{
    Pending,
    Succeeded,
    Failed,
}

/// <summary>One call of a <see cref="RecordingCommitGate"/>: a copy of its range, and what became of it.</summary>
public sealed class GateCall(KafkaCommitRange range)
{
    private int _outcome = (int)GateOutcome.Pending;

    public KafkaCommitRange Range { get; } = range;

    public GateOutcome Outcome => (GateOutcome)Volatile.Read(ref _outcome);

    internal void Complete(GateOutcome outcome) => Volatile.Write(ref _outcome, (int)outcome);
}

/// <summary>
/// A commit gate that records every call in call order. It can be told to fail (every call that starts while failing
/// throws), or to hold (calls that start while holding return only once released, or throw when cancelled).
/// </summary>
public sealed class RecordingCommitGate : IKafkaCommitGate
{
    private readonly ConcurrentQueue<GateCall> _calls = new();
    private volatile bool _failing;
    private volatile TaskCompletionSource _released = Released();

    /// <summary>Every call so far, in the order they started.</summary>
    public IReadOnlyList<GateCall> Calls() => [.. _calls];

    public void StartFailing() => _failing = true;

    public void StopFailing() => _failing = false;

    /// <summary>Calls from now on wait for <see cref="Release"/>.</summary>
    public void Hold() => _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the held calls return, and later ones return at once.</summary>
    public void Release() => _released.TrySetResult();

    public async Task PrepareCommitAsync(KafkaCommitRange range, CancellationToken cancellationToken)
    {
        var call = new GateCall(range with { Streams = new Dictionary<StreamId, KafkaStreamSpan>(range.Streams) });
        var failing = _failing;
        var released = _released.Task;
        _calls.Enqueue(call);
        try
        {
            await released.WaitAsync(cancellationToken);
            if (failing)
            {
                throw new IOException($"The recording gate was told to fail ({range.Topic}[{range.Partition}] below {range.CommitOffset}).");
            }
        }
        catch
        {
            call.Complete(GateOutcome.Failed);
            throw;
        }

        call.Complete(GateOutcome.Succeeded);
    }

    private static TaskCompletionSource Released()
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.SetResult();
        return source;
    }
}
