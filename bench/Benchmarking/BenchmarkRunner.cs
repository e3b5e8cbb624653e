namespace Analytics.Benchmarking;

/// <summary>A report that prints a table and writes JSON.</summary>
public interface IBenchmarkReport
{
    void WriteTable(TextWriter output);

    Task WriteJsonAsync(string path, CancellationToken cancellationToken);

    /// <summary>Why the run counts as failed although it measured (e.g. too few answers with status 200); null when it did not fail.</summary>
    string? Failure => null;
}

/// <summary>What every benchmark run does around its phases: the machine line, the report, the JSON, and the errors.</summary>
public static class BenchmarkRunner
{
    /// <summary>Prints the machine (<paramref name="machine"/>, else <see cref="Machine.Current"/>), runs <paramref name="run"/>, prints its report (and writes it to <paramref name="jsonPath"/>); returns the exit code.</summary>
    public static async Task<int> RunAsync(
        TextWriter output, TextWriter progress, string? jsonPath, Func<Machine, Task<IBenchmarkReport>> run, CancellationToken cancellationToken, Machine? machine = null)
    {
        machine ??= Machine.Current();
        output.WriteLine($"machine: {machine}");
        try
        {
            var report = await run(machine).ConfigureAwait(false);
            report.WriteTable(output);
            if (jsonPath is not null)
            {
                var directory = Path.GetDirectoryName(Path.GetFullPath(jsonPath));
                if (directory is not null) Directory.CreateDirectory(directory);
                await report.WriteJsonAsync(jsonPath, cancellationToken).ConfigureAwait(false);
                output.WriteLine($"JSON: {jsonPath}");
            }

            if (report.Failure is { } failure)
            {
                await progress.WriteLineAsync($"error: {failure}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        }
        catch (BenchmarkException ex)
        {
            await progress.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await progress.WriteLineAsync("error: stopped (Ctrl+C) before the end; no figures").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (Exception ex)
        {
            // Anything else (PostgreSQL refused, the trainer failed): the whole exception, to diagnose it.
            await progress.WriteLineAsync($"error: {ex}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }
}
