namespace Analytics.Producer.Tests;

public sealed class CliTests
{
    [Theory]
    [InlineData("--users", "0")]
    [InlineData("--users", "many")]
    [InlineData("--products", "3")]
    [InlineData("--rate", "-5")]
    [InlineData("--events", "0")]
    [InlineData("--events", "1e3")]
    [InlineData("--duration", "10")]
    [InlineData("--duration", "-1m")]
    [InlineData("--start", "yesterday")]
    [InlineData("--start", "1999-12-31")]
    [InlineData("--speed", "fast")]
    [InlineData("--speed", "-1")]
    [InlineData("--seed", "1.5")]
    [InlineData("--sessions-per-day", "0")]
    [InlineData("--churn-horizon", "forever")]
    [InlineData("--late-fraction", "1.5")]
    [InlineData("--duplicate-fraction", "-0.1")]
    [InlineData("--malformed-fraction", "NaN")]
    [InlineData("--compression", "brotli")]
    [InlineData("--connect-timeout", "0s")]
    public async Task BadOptionValue_ExitCode2_NamesTheOption(string option, string value)
    {
        var (code, error) = await TestStreams.RunCliAsync(option, value, "--output", TestStreams.TempFile("x.ndjson"));
        Assert.Equal(2, code);
        Assert.Contains(option, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConflictingOptions_ExitCode2_NamesThem()
    {
        var file = TestStreams.TempFile("in.ndjson");
        await File.WriteAllTextAsync(file, "{}\n");
        var (code, error) = await TestStreams.RunCliAsync("--from-file", file, "--output", TestStreams.TempFile("out.ndjson"));
        Assert.Equal(2, code);
        Assert.Contains("--from-file and --output", error, StringComparison.Ordinal);

        (code, error) = await TestStreams.RunCliAsync("--from-file", TestStreams.TempFile("missing.ndjson"), "--bootstrap-servers", "127.0.0.1:1");
        Assert.Equal(2, code);
        Assert.Contains("--from-file", error, StringComparison.Ordinal);

        (code, error) = await TestStreams.RunCliAsync("--events", "10", "--output", TestStreams.TempFile("out.ndjson"), "--truth", "/no/such/dir/truth.jsonl");
        Assert.Equal(2, code);
        Assert.Contains("--truth", error, StringComparison.Ordinal);

        (code, error) = await TestStreams.RunCliAsync("--events", "10", "--output", "/no/such/dir/out.ndjson");
        Assert.Equal(2, code);
        Assert.Contains("--output", error, StringComparison.Ordinal);

        (code, error) = await TestStreams.RunCliAsync("--no-such-option", "1");
        Assert.Equal(2, code);
        Assert.Contains("--no-such-option", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExitCode0_DocumentsDensityAndPacing()
    {
        var output = new StringWriter();
        var code = await Cli.ProducerCli.RunAsync(["--help"], output, new StringWriter(), CancellationToken.None);
        Assert.Equal(0, code);
        var help = output.ToString();
        foreach (var expected in new[] { "Poisson", "--speed", "never past", "--rate", "--output", "--truth", "--from-file", "Exit codes" })
            Assert.Contains(expected, help, StringComparison.Ordinal);
    }

    [Fact]
    public void ValueParsers_DurationsAndTimes()
    {
        Assert.True(Cli.ValueParsers.TryParseDuration("1h30m", out var d));
        Assert.Equal(TimeSpan.FromMinutes(90), d);
        Assert.True(Cli.ValueParsers.TryParseDuration("500ms", out d));
        Assert.Equal(TimeSpan.FromMilliseconds(500), d);
        Assert.True(Cli.ValueParsers.TryParseDuration("00:10:00", out d));
        Assert.Equal(TimeSpan.FromMinutes(10), d);
        Assert.False(Cli.ValueParsers.TryParseDuration("10", out _));
        Assert.False(Cli.ValueParsers.TryParseDuration("10 parsecs", out _));

        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, 123, TimeSpan.Zero).AddTicks(4567);
        Assert.True(Cli.ValueParsers.TryParseTime("-30d", now, out var t));
        Assert.Equal(new DateTimeOffset(2025, 5, 2, 12, 0, 0, 123, TimeSpan.Zero), t);
        Assert.True(Cli.ValueParsers.TryParseTime("2025-01-01T09:00:00+01:00", now, out t));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 8, 0, 0, TimeSpan.Zero), t);
        Assert.Equal(TimeSpan.Zero, t.Offset);
        Assert.True(Cli.ValueParsers.TryParseTime("2025-01-01", now, out t));
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), t);
        Assert.True(Cli.ValueParsers.TryParseTime("now", now, out t));
        Assert.Equal(now.ToUnixTimeMilliseconds(), t.ToUnixTimeMilliseconds());
        Assert.Equal(0, t.Ticks % TimeSpan.TicksPerMillisecond);
    }
}
