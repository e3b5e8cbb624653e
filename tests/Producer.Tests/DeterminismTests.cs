using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace Analytics.Producer.Tests;

public sealed class DeterminismTests
{
    private static readonly string[] Common =
    [
        "--events", "20000", "--users", "300", "--start", "2025-03-01T00:00:00Z",
        "--late-fraction", "0.02", "--duplicate-fraction", "0.02", "--malformed-fraction", "0.02", "--quiet",
    ];

    [Fact]
    public async Task Output_SameSeedAndStart_ByteIdentical_DifferentSeed_Differs()
    {
        var first = TestStreams.TempFile("a.ndjson");
        var second = TestStreams.TempFile("b.ndjson");
        var other = TestStreams.TempFile("c.ndjson");

        Assert.Equal(0, (await TestStreams.RunCliAsync([.. Common, "--seed", "7", "--output", first])).ExitCode);
        Assert.Equal(0, (await TestStreams.RunCliAsync([.. Common, "--seed", "7", "--output", second])).ExitCode);
        Assert.Equal(0, (await TestStreams.RunCliAsync([.. Common, "--seed", "8", "--output", other])).ExitCode);

        var a = await File.ReadAllBytesAsync(first);
        Assert.True(a.Length > 1_000_000, $"expected a few MB of NDJSON, got {a.Length} bytes");
        Assert.Equal(a, await File.ReadAllBytesAsync(second));
        Assert.NotEqual(a, await File.ReadAllBytesAsync(other));
    }

    [Fact]
    public async Task Output_RelativeStartResolvedOnce_DefaultSeedIsFixed()
    {
        // No --seed: the default (42) is fixed, so two runs with the same explicit start agree.
        var first = TestStreams.TempFile("a.ndjson");
        var second = TestStreams.TempFile("b.ndjson");
        string[] args = ["--events", "2000", "--start", "2025-03-01", "--quiet", "--output"];
        Assert.Equal(0, (await TestStreams.RunCliAsync([.. args, first])).ExitCode);
        Assert.Equal(0, (await TestStreams.RunCliAsync([.. args, second])).ExitCode);
        Assert.Equal(await File.ReadAllBytesAsync(first), await File.ReadAllBytesAsync(second));
    }

    [Fact]
    public async Task Output_WithoutLimits_WritesTheHistoryUpToNow()
    {
        var now = new DateTimeOffset(2025, 3, 2, 6, 0, 0, TimeSpan.Zero);
        var file = TestStreams.TempFile("history.ndjson");
        var (code, error) = await TestStreams.RunCliAsync(
            ["--users", "200", "--start", "-30h", "--output", file, "--quiet"], CancellationToken.None, new FakeTimeProvider(now));
        Assert.True(code == 0, error);

        var times = (await File.ReadAllLinesAsync(file)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event_time").GetDateTimeOffset()).ToList();
        Assert.True(times.Count > 1000, $"only {times.Count} events in 30 h");
        Assert.True(times.Min() >= now.AddHours(-30));
        Assert.True(times.Max() < now && times.Max() > now.AddHours(-1), $"last event at {times.Max():O}");

        (code, error) = await TestStreams.RunCliAsync(["--output", file], CancellationToken.None, new FakeTimeProvider(now));
        Assert.Equal(2, code);
        Assert.Contains("--start is not in the past", error, StringComparison.Ordinal);
    }
}
