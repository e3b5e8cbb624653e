using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Analytics.TestInfrastructure;

namespace Analytics.LocalBroker.Tests;

/// <summary>
/// The LocalBroker program running as a child process with its own bootstrap file and control port.
/// Disposing kills it if it still runs; a safety net kills any left over when the test process exits.
/// </summary>
internal sealed class LocalBrokerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(15);
    private static readonly ConcurrentDictionary<Process, byte> Live = new();

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;
    private readonly string _directory;

    static LocalBrokerProcess() =>
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Live.Keys)
            {
                KillQuietly(process);
            }
        };

    private LocalBrokerProcess(Process process, ConcurrentQueue<string> output, string directory, string bootstrapFile, Uri controlUrl)
    {
        _process = process;
        _output = output;
        _directory = directory;
        BootstrapFile = bootstrapFile;
        ControlUrl = controlUrl;
        Http = new HttpClient { BaseAddress = controlUrl, Timeout = TimeSpan.FromSeconds(10) };
    }

    public string BootstrapFile { get; }

    public Uri ControlUrl { get; }

    public HttpClient Http { get; }

    /// <summary>The bootstrap address read from the bootstrap file.</summary>
    public string BootstrapServers { get; private set; } = string.Empty;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>Starts the program and waits until it has written the bootstrap file.</summary>
    public static async Task<LocalBrokerProcess> StartAsync(params string[] extraArguments)
    {
        var broker = Launch(extraArguments);
        try
        {
            await Eventually.UntilAsync(
                () => File.Exists(broker.BootstrapFile) || broker.HasExited,
                StartTimeout,
                $"LocalBroker to write {broker.BootstrapFile}");
            if (broker.HasExited)
            {
                throw new InvalidOperationException(
                    $"LocalBroker exited with code {broker.ExitCode} before writing its bootstrap file:{Environment.NewLine}{broker.Output}");
            }

            broker.BootstrapServers = (await File.ReadAllTextAsync(broker.BootstrapFile)).Trim();
            return broker;
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the program without waiting for anything, e.g. to watch it refuse a bad setting.</summary>
    public static LocalBrokerProcess Launch(params string[] extraArguments)
    {
        var directory = Directory.CreateTempSubdirectory("localbroker-tests-").FullName;
        var bootstrapFile = Path.Combine(directory, "bootstrap.txt");
        var controlUrl = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var dll = Path.Combine(RepositoryPaths.BuildOutput("LocalBroker"), "Analytics.LocalBroker.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build LocalBroker first (the test project's build does so).", dll);
        }

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in (string[])
            [dll, "--bootstrap-file", bootstrapFile, "--control-url", controlUrl.ToString().TrimEnd('/'), .. extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        var output = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Collect(output, e.Data);
        process.ErrorDataReceived += (_, e) => Collect(output, e.Data);
        process.Start();
        Live.TryAdd(process, 0);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new LocalBrokerProcess(process, output, directory, bootstrapFile, controlUrl);
    }

    /// <summary>Sends SIGTERM, as a service manager would, and waits for the process to exit.</summary>
    public async Task TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        await WaitForExitAsync();
    }

    /// <summary>Waits (bounded) for the process to exit on its own.</summary>
    public async Task WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"LocalBroker did not exit within {ExitTimeout.TotalSeconds}s:{Environment.NewLine}{Output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        KillQuietly(_process);
        using (var timeout = new CancellationTokenSource(ExitTimeout))
        {
            await _process.WaitForExitAsync(timeout.Token);
        }

        Live.TryRemove(_process, out _);
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static void Collect(ConcurrentQueue<string> output, string? line)
    {
        if (line is not null)
        {
            output.Enqueue(line);
        }
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }
}
