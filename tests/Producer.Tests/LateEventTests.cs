using Analytics.Producer.Sending;
using Analytics.Producer.Simulation;

namespace Analytics.Producer.Tests;

public sealed class LateEventTests
{
    [Fact]
    public void LateEvents_ComeAfterLaterEvents_AndNoneIsLost()
    {
        var settings = new SimulationSettings { Start = TestStreams.Start, Users = 500, MaxEvents = 30_000, Seed = 11 };
        var (plain, _) = TestStreams.Generate(settings);
        var (shaped, _) = TestStreams.Generate(settings, new ImperfectionSettings(LateFraction: 0.05, DuplicateFraction: 0.02, MalformedFraction: 0.02));

        // Imperfections only add and reorder: the events themselves are the same, each sent exactly once.
        var originals = shaped.Where(m => m.Kind is MessageKind.Valid or MessageKind.Late).Select(m => m.Line).ToList();
        Assert.Equal(plain.Count, originals.Count);
        Assert.Equal(plain.Select(m => m.Line).Order(StringComparer.Ordinal), originals.Order(StringComparer.Ordinal));

        var late = shaped.Count(m => m.Kind == MessageKind.Late);
        Assert.InRange(late, 1_100, 1_900);

        // Each late event is sent when the simulated clock has passed its event time by 3–60 minutes: after events
        // with later event times, and just before the first on-time event at or past its release. Events drained at
        // the very end (after the last on-time event) are only checked for coming after a later event.
        var lastOnTime = shaped.FindLastIndex(m => m.Kind == MessageKind.Valid);
        long maxSeen = long.MinValue;
        var checkedLate = 0;
        for (var i = 0; i < shaped.Count; i++)
        {
            var m = shaped[i];
            if (m.Kind == MessageKind.Late)
            {
                Assert.True(maxSeen > m.EventTimeMs, $"late event #{i} at {m.EventTimeMs} did not come after a later event (max {maxSeen})");
                if (i < lastOnTime)
                {
                    var nextOnTime = shaped.Skip(i + 1).First(n => n.Kind == MessageKind.Valid);
                    Assert.True(nextOnTime.EventTimeMs >= m.EventTimeMs + (3 * 60_000), $"late event #{i} released less than 3 min after its time");
                    Assert.True(maxSeen <= m.EventTimeMs + (60 * 60_000), $"late event #{i} held back more than an hour");
                    checkedLate++;
                }
            }

            if (m.Kind != MessageKind.Malformed) maxSeen = Math.Max(maxSeen, m.EventTimeMs);
        }

        Assert.True(checkedLate > late * 0.9, $"only {checkedLate} of {late} late events checked");
    }
}
