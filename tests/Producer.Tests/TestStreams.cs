using System.Text;
using Analytics.Grains.Interfaces.Events;
using Analytics.Producer.Cli;
using Analytics.Producer.Sending;
using Analytics.Producer.Simulation;

namespace Analytics.Producer.Tests;

/// <summary>One message as the tests see it: copied out of the source's reusable buffer.</summary>
internal sealed record CapturedMessage(MessageKind Kind, string? Key, byte[] Value, long EventTimeMs)
{
    public string Line => Encoding.UTF8.GetString(Value);
}

internal static class TestStreams
{
    public static readonly DateTimeOffset Start = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Runs the simulation in process and captures every message in send order.</summary>
    public static (List<CapturedMessage> Messages, ShopSimulator Simulator) Generate(SimulationSettings settings, ImperfectionSettings? imperfections = null)
    {
        var simulator = new ShopSimulator(settings);
        var stream = new SimulatedStream(simulator, imperfections ?? ImperfectionSettings.None);
        var messages = new List<CapturedMessage>();
        while (stream.TryNext(out var m))
            messages.Add(new CapturedMessage(m.Kind, m.Key is null ? null : Encoding.UTF8.GetString(m.Key), m.Value.ToArray(), m.EventTimeMs));
        Assert.Null(stream.SerializerWarning);
        return (messages, simulator);
    }

    /// <summary>A "now" late enough that no generated event counts as in the future.</summary>
    public static DateTimeOffset NowAfter(IEnumerable<CapturedMessage> messages)
        => DateTimeOffset.FromUnixTimeMilliseconds(messages.Max(m => m.EventTimeMs)) + TimeSpan.FromHours(1);

    public static UserEvent Parse(CapturedMessage message, DateTimeOffset now)
    {
        Assert.True(UserEventJson.TryParse(message.Value, now, out var e, out var rejection), $"{message.Kind} line rejected ({rejection}): {message.Line}");
        return e;
    }

    /// <summary>Runs the command line in process; returns the exit code and what it wrote to stderr.</summary>
    public static Task<(int ExitCode, string Error)> RunCliAsync(params string[] args) => RunCliAsync(args, CancellationToken.None);

    /// <inheritdoc cref="RunCliAsync(string[])"/>
    public static async Task<(int ExitCode, string Error)> RunCliAsync(string[] args, CancellationToken stop, TimeProvider? time = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ProducerCli.RunAsync(args, output, error, stop, time);
        return (code, error.ToString());
    }

    private static readonly Lazy<string> TempRoot = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), "producer-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a file still open elsewhere only leaves litter in the temp folder.
            }
        };
        return root;
    });

    /// <summary>A path in a fresh folder under this test run's temp folder (deleted when the run ends).</summary>
    public static string TempFile(string name)
    {
        var dir = Path.Combine(TempRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
