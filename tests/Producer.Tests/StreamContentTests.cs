using System.Buffers;
using Analytics.Grains.Interfaces.Events;
using Analytics.Producer.Sending;
using Analytics.Producer.Simulation;

namespace Analytics.Producer.Tests;

public sealed class StreamContentTests
{
    private static readonly SimulationSettings Settings = new() { Start = TestStreams.Start, Users = 500, MaxEvents = 30_000, Seed = 3 };

    [Fact]
    public void ValidLinesParse_MalformedLinesAreRejected_DuplicatesRepeatAnEarlierLine()
    {
        var (messages, _) = TestStreams.Generate(Settings, new ImperfectionSettings(0.02, 0.03, 0.05));
        var now = TestStreams.NowAfter(messages);
        var seen = new HashSet<string>();
        var rejections = new HashSet<EventRejectionCode>();
        foreach (var m in messages)
        {
            var line = m.Line;
            Assert.DoesNotContain('\n', line);
            switch (m.Kind)
            {
                case MessageKind.Malformed:
                    Assert.False(UserEventJson.TryParse(m.Value, now, out _, out var rejection), $"malformed line accepted: {line}");
                    rejections.Add(rejection.Code);
                    Assert.Equal(MessageKeys.FromPayload(m.Value) is { } k ? System.Text.Encoding.UTF8.GetString(k) : null, m.Key);
                    break;
                case MessageKind.Duplicate:
                    Assert.True(seen.Contains(line), $"duplicate of a line not sent before: {line}");
                    TestStreams.Parse(m, now);
                    break;
                default:
                    var e = TestStreams.Parse(m, now);
                    Assert.Equal(e.UserId, m.Key);
                    Assert.Equal(m.EventTimeMs, e.EventTime.ToUnixTimeMilliseconds());
                    Assert.True(seen.Add(line), $"a non-duplicate line was sent twice: {line}");
                    break;
            }
        }

        Assert.InRange(messages.Count(m => m.Kind == MessageKind.Malformed), 1_000, 2_000);
        Assert.InRange(messages.Count(m => m.Kind == MessageKind.Duplicate), 600, 1_200);
        // Varied kinds of breakage, not one kind repeated.
        Assert.True(rejections.Count >= 8, $"only {rejections.Count} rejection codes: {string.Join(", ", rejections)}");
    }

    [Fact]
    public void EveryMalformedKind_IsRejectedByTheContract()
    {
        var simulator = new ShopSimulator(Settings with { MaxEvents = 200 });
        var random = new RandomSource(99);
        var buffer = new ArrayBufferWriter<byte>();
        var now = TestStreams.Start + TimeSpan.FromDays(30);
        while (simulator.TryNext(out var e))
        {
            var source = simulator.ToUserEvent(e);
            foreach (var kind in Enum.GetValues<MalformedKind>())
            {
                buffer.ResetWrittenCount();
                MalformedPayloads.Write(kind, source, random, buffer);
                Assert.False(UserEventJson.TryParse(buffer.WrittenSpan, now, out _, out _),
                    $"{kind} accepted: {System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan)}");
                Assert.DoesNotContain((byte)'\n', buffer.WrittenSpan.ToArray());
            }
        }
    }

    [Fact]
    public void FastEventWriter_MatchesTheContractSerializer_ByteForByte()
    {
        var simulator = new ShopSimulator(Settings with { MaxEvents = 50_000, Products = 3_000 });
        var writer = new EventWriter(simulator);
        var reference = new ArrayBufferWriter<byte>();
        while (simulator.TryNext(out var e))
        {
            var fast = writer.Serialize(e);
            reference.ResetWrittenCount();
            UserEventJson.Write(simulator.ToUserEvent(e), reference);
            Assert.True(reference.WrittenSpan.SequenceEqual(fast.Span), System.Text.Encoding.UTF8.GetString(fast.Span));
        }

        Assert.Null(writer.FallbackReason);
    }

    [Fact]
    public void EventIds_AreVersion7_CarryTheEventTime_AndAreUnique()
    {
        var (messages, _) = TestStreams.Generate(Settings with { MaxEvents = 20_000 });
        var now = TestStreams.NowAfter(messages);
        var ids = new HashSet<Guid>();
        foreach (var m in messages)
        {
            var e = TestStreams.Parse(m, now);
            Assert.Equal(7, e.EventId.Version);
            Assert.Equal(e.EventTime.ToUnixTimeMilliseconds(), UuidV7.GetUnixTimeMilliseconds(e.EventId));
            Assert.True(ids.Add(e.EventId));
        }
    }

    [Fact]
    public void SessionIds_NewForEveryOtherStartOrSeed_SameForTheSameSeedAndStart()
    {
        // A restarted producer (another --start) or another seed must not reuse a stored session id for a new session;
        // the same seed and start reproduce the same ones.
        static HashSet<string> SessionIds(SimulationSettings settings)
        {
            var (messages, _) = TestStreams.Generate(settings with { MaxEvents = 5_000 });
            var now = TestStreams.NowAfter(messages);
            return messages.Select(m => TestStreams.Parse(m, now).SessionId).ToHashSet();
        }

        var first = SessionIds(Settings);
        Assert.True(first.Count > 400, $"only {first.Count} sessions");
        Assert.Equal(first, SessionIds(Settings));
        Assert.Empty(first.Intersect(SessionIds(Settings with { Start = Settings.Start.AddMilliseconds(1) })));
        Assert.Empty(first.Intersect(SessionIds(Settings with { Start = Settings.Start.AddDays(-1) })));
        Assert.Empty(first.Intersect(SessionIds(Settings with { Seed = Settings.Seed + 1 })));
    }

    [Fact]
    public void MessageKeys_FromPayload_OnlyUsableUserIds()
    {
        Assert.Equal("user_1"u8.ToArray(), MessageKeys.FromPayload("""{"a":[1,{"user_id":"x"}],"user_id":"user_1"}"""u8));
        Assert.Equal("us\"er"u8.ToArray(), MessageKeys.FromPayload("""{"user_id":"us\"er"}"""u8));
        Assert.Null(MessageKeys.FromPayload("""{"user_id":"user_1","""u8));
        Assert.Null(MessageKeys.FromPayload("""{"user_id":17}"""u8));
        Assert.Null(MessageKeys.FromPayload("""{"user_id":"  "}"""u8));
        Assert.Null(MessageKeys.FromPayload("""["user_id","user_1"]"""u8));
        Assert.Null(MessageKeys.FromPayload("""{"user_id":"user_1"} {}"""u8));
        Assert.Null(MessageKeys.FromPayload("not json"u8));
        Assert.Null(MessageKeys.FromPayload(System.Text.Encoding.UTF8.GetBytes($$"""{"user_id":"{{new string('u', 129)}}"}""")));
    }
}
