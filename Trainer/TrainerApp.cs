using System.Globalization;
using Analytics.Churn;
using Analytics.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Analytics.Trainer;

/// <summary>
/// One training run: settings from appsettings.json, environment variables (<c>Training__Horizon</c>) and the command
/// line (<c>--Training:Horizon 3.00:00:00</c>); the database migrated if it is behind; then <see cref="ChurnTrainingRun"/>
/// (point-in-time data set from PostgreSQL, training, model files, a <c>churn_models</c> row) and the metrics table,
/// with two more columns against the simulator's hidden truth when <c>Training:TruthFile</c> is set.
/// Exit codes: 0 trained; 1 failed (the message says why); 2 invalid setting.
/// </summary>
public static class TrainerApp
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter progress, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(progress);
        time ??= TimeProvider.System;
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build();
        var options = configuration.GetSection(TrainingOptions.SectionName).Get<TrainingOptions>() ?? new TrainingOptions();
        if (options.Problems() is { Count: > 0 } problems)
        {
            foreach (var problem in problems) await progress.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
            return 2;
        }

        await using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddFilter(_ => false))
            .AddAnalyticsStorage(configuration)
            .BuildServiceProvider();
        try
        {
            // The migrations are idempotent and serialised by the migrator itself; they make sure churn_models exists.
            await services.MigrateAnalyticsDatabaseAsync(cancellationToken).ConfigureAwait(false);
            var run = new ChurnTrainingRun(services.GetRequiredService<ChurnHistoryReader>(), services.GetRequiredService<ChurnModelRegistry>(), time);
            var outcome = await run.RunAsync(options.ToRunOptions(), new WriterProgress(progress), cancellationToken).ConfigureAwait(false);
            await WriteTableAsync(outcome, options, output).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Npgsql.NpgsqlException or TimeoutException)
        {
            await progress.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task WriteTableAsync(ChurnTrainingOutcome outcome, TrainingOptions options, TextWriter output)
    {
        var metadata = outcome.Metadata;
        var truth = metadata.TruthMetrics;
        await output.WriteLineAsync(Invariant($"churn model {metadata.Version}: cutoff {metadata.Cutoff:O}, horizon {metadata.Horizon}, {metadata.TrainingUsers:N0} training users, {metadata.TestUsers:N0} held-out users; trained in {outcome.TrainingTime.TotalSeconds:0.0} s")).ConfigureAwait(false);
        await output.WriteLineAsync("metric      model   recency baseline" + (truth is null ? "" : "   model vs truth   baseline vs truth")).ConfigureAwait(false);
        foreach (var (name, select) in new (string, Func<ChurnMetrics, double>)[]
        {
            ("AUC", m => m.Auc),
            ("accuracy", m => m.Accuracy),
            ("precision", m => m.Precision),
            ("recall", m => m.Recall),
            ("F1", m => m.F1),
            ("log-loss", m => m.LogLoss),
        })
        {
            var row = Invariant($"{name,-10} {select(metadata.Metrics),6:0.000}   {select(metadata.Baseline),6:0.000}");
            if (truth is not null) row += Invariant($"{"",13}{select(truth.Model),6:0.000}{"",11}{select(truth.Baseline),6:0.000}");
            await output.WriteLineAsync(row).ConfigureAwait(false);
        }

        if (truth is not null)
        {
            await output.WriteLineAsync(Invariant($"truth: {truth.Users:N0} held-out users in the truth file, {truth.Churned:N0} of them churned by {metadata.Cutoff + metadata.Horizon:O}{(truth.Unknown > 0 ? $"; {truth.Unknown:N0} not in it" : "")}")).ConfigureAwait(false);
        }

        await output.WriteLineAsync($"written: {Path.Combine(options.ModelDirectory, ChurnModelFile.ModelName)}, {Path.Combine(options.ModelDirectory, ChurnModelFile.MetadataName)}").ConfigureAwait(false);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Progress lines written at once, in order (<see cref="Progress{T}"/> would post them to the thread pool).</summary>
    private sealed class WriterProgress(TextWriter writer) : IProgress<string>
    {
        public void Report(string value) => writer.WriteLine(value);
    }
}
