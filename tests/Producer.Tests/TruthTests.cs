using System.Text.Json;
using Analytics.Grains.Interfaces.Events;
using Analytics.Producer.Simulation;

namespace Analytics.Producer.Tests;

public sealed class TruthTests
{
    [Fact]
    public async Task TruthFile_CoversEveryUser_AndAgreesWithTheStream()
    {
        const int users = 400;
        var output = TestStreams.TempFile("events.ndjson");
        var truthPath = TestStreams.TempFile("truth.jsonl");
        // A churn horizon of 5 days inside a 6-day run: every churner's churn time is inside the stream.
        var (code, error) = await TestStreams.RunCliAsync(
            "--users", $"{users}", "--start", "2025-03-01T00:00:00Z", "--duration", "6d", "--churn-horizon", "5d",
            "--late-fraction", "0.02", "--duplicate-fraction", "0.02", "--malformed-fraction", "0.02",
            "--output", output, "--truth", truthPath, "--quiet");
        Assert.True(code == 0, error);

        var now = new DateTimeOffset(2025, 3, 8, 0, 0, 0, TimeSpan.Zero);
        var byUser = new Dictionary<string, List<UserEvent>>();
        var ids = new HashSet<Guid>();
        var lines = await File.ReadAllLinesAsync(output);
        foreach (var line in lines)
        {
            // Malformed payloads are not events; duplicates count once.
            if (!UserEventJson.TryParse(line, now, out var e, out _) || !ids.Add(e.EventId)) continue;
            if (!byUser.TryGetValue(e.UserId, out var list)) byUser[e.UserId] = list = [];
            list.Add(e);
        }

        Assert.True(lines.Length > ids.Count, "expected duplicates and malformed lines on top of the events");
        var truth = (await File.ReadAllLinesAsync(truthPath)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Enumerable.Range(1, users).Select(i => $"user_{i}"), truth.Select(t => t.GetProperty("user_id").GetString()));

        var churned = 0;
        foreach (var t in truth)
        {
            var userId = t.GetProperty("user_id").GetString()!;
            var events = byUser.GetValueOrDefault(userId) ?? [];
            Assert.Contains(t.GetProperty("persona").GetString(), Persona.All.Select(p => p.Name));
            Assert.Equal(events.Count(e => e.EventType == UserEventType.View), t.GetProperty("views").GetInt32());
            Assert.Equal(events.Count(e => e.EventType == UserEventType.AddToCart), t.GetProperty("add_to_carts").GetInt32());
            Assert.Equal(events.Count(e => e.EventType == UserEventType.Purchase), t.GetProperty("purchases").GetInt32());
            Assert.Equal(events.Where(e => e.EventType == UserEventType.Purchase).Sum(e => e.Price), t.GetProperty("revenue").GetDecimal());
            Assert.Equal(events.Select(e => e.SessionId).Distinct().Count(), t.GetProperty("sessions").GetInt32());
            if (events.Count > 0)
            {
                Assert.Equal(events.Min(e => e.EventTime), t.GetProperty("first_event_time").GetDateTimeOffset());
                Assert.Equal(events.Max(e => e.EventTime), t.GetProperty("last_event_time").GetDateTimeOffset());
            }
            else
            {
                Assert.Equal(JsonValueKind.Null, t.GetProperty("first_event_time").ValueKind);
            }

            if (t.GetProperty("churned").GetBoolean())
            {
                churned++;
                var churnTime = t.GetProperty("churn_time").GetDateTimeOffset();
                Assert.True(t.GetProperty("churn_onset_time").GetDateTimeOffset() <= churnTime);
                Assert.All(events, e => Assert.True(e.EventTime < churnTime, $"{userId} has an event at {e.EventTime:O}, after churning at {churnTime:O}"));
            }
            else
            {
                Assert.Equal(JsonValueKind.Null, t.GetProperty("churn_time").ValueKind);
                Assert.Equal(JsonValueKind.Null, t.GetProperty("churn_onset_time").ValueKind);
            }
        }

        // Documented: over a run covering the whole horizon, 27 % expected; 18–36 % accepted for 400 users.
        Assert.InRange(churned / (double)users, 0.18, 0.36);
        Assert.InRange(Persona.ExpectedChurnFraction, 0.25, 0.29);
    }

    [Fact]
    public void ChurnedUsers_ActivityDecaysBeforeChurnTime()
    {
        var simulator = new ShopSimulator(new SimulationSettings
        {
            Start = TestStreams.Start, Users = 600, EventTimeSpan = TimeSpan.FromDays(20), ChurnHorizon = TimeSpan.FromDays(20),
        });
        var times = new Dictionary<string, List<long>>();
        while (simulator.TryNext(out var e))
        {
            var userId = simulator.UserId(e.UserIndex);
            if (!times.TryGetValue(userId, out var list)) times[userId] = list = [];
            list.Add(e.TimeMs);
        }

        // Compare, over all churners whose decay starts late enough, the events of a decay-long window before the onset
        // with those of the second half of the decay.
        double before = 0, lastHalf = 0;
        var startMs = TestStreams.Start.ToUnixTimeMilliseconds();
        foreach (var t in simulator.GetTruth().Where(t => t.Churned))
        {
            var onset = t.ChurnOnsetTime!.Value.ToUnixTimeMilliseconds();
            var churn = t.ChurnTime!.Value.ToUnixTimeMilliseconds();
            var span = churn - onset;
            if (onset - span < startMs) continue;
            var userTimes = times.GetValueOrDefault(t.UserId) ?? [];
            before += userTimes.Count(x => x >= onset - span && x < onset);
            lastHalf += userTimes.Count(x => x >= onset + (span / 2) && x < churn);
        }

        // A linear decay leaves 1/8 of the full rate's events in its second half.
        Assert.True(before > 2000, $"too few events to judge ({before})");
        Assert.InRange(lastHalf / before, 0.04, 0.3);
    }
}
