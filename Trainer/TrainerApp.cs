using System.Diagnostics;
using System.Globalization;
using Analytics.Churn;
using Analytics.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Analytics.Trainer;

/// <summary>
/// One training run: settings from appsettings.json, environment variables (<c>Training__Horizon</c>) and the command
/// line (<c>--Training:Horizon 3.00:00:00</c>); the point-in-time data set from PostgreSQL; training; the model files;
/// the metrics table. Exit codes: 0 trained; 1 failed (the message says why); 2 invalid setting.
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
            return await TrainAsync(options, services.GetRequiredService<ChurnHistoryReader>(), output, progress, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Npgsql.NpgsqlException)
        {
            await progress.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> TrainAsync(
        TrainingOptions options, ChurnHistoryReader history, TextWriter output, TextWriter progress, TimeProvider time, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var cutoff = options.Cutoff ?? (await history.ReadLatestEventTimeAsync(cancellationToken).ConfigureAwait(false) is { } latest
            ? latest - options.Horizon
            : throw new InvalidOperationException("raw_events is empty: there is nothing to train on."));
        await progress.WriteLineAsync(Invariant($"building the data set: features as of {cutoff:O}, churned = no event in the following {options.Horizon}")).ConfigureAwait(false);
        var examples = await new ChurnDatasetBuilder(history)
            .BuildAsync(cutoff, options.Horizon, new Progress<int>(users => progress.WriteLine(Invariant($"  {users:N0} users"))), cancellationToken)
            .ConfigureAwait(false);
        var churned = examples.Count(e => e.Churned);
        await progress.WriteLineAsync(Invariant($"data set: {examples.Count:N0} users, {churned:N0} churned ({(examples.Count == 0 ? 0 : churned / (double)examples.Count):P1}), built in {clock.Elapsed.TotalSeconds:0.0} s")).ConfigureAwait(false);

        var training = Stopwatch.StartNew();
        await progress.WriteLineAsync("training: min-max normalisation, L-BFGS logistic regression; baseline: the same on recency alone").ConfigureAwait(false);
        var result = new ChurnTrainer(options.Seed).Train(examples, options.TestFraction);
        var metadata = await ChurnModelFile.SaveAsync(result, cutoff, options.Horizon, options.ModelDirectory, time, cancellationToken).ConfigureAwait(false);

        await output.WriteLineAsync(Invariant($"churn model {metadata.Version}: cutoff {cutoff:O}, horizon {options.Horizon}, {result.TrainingUsers:N0} training users, {result.TestUsers:N0} held-out users; trained in {training.Elapsed.TotalSeconds:0.0} s")).ConfigureAwait(false);
        await output.WriteLineAsync("metric      model   recency baseline").ConfigureAwait(false);
        foreach (var (name, model, baseline) in new[]
        {
            ("AUC", result.Metrics.Auc, result.Baseline.Auc),
            ("accuracy", result.Metrics.Accuracy, result.Baseline.Accuracy),
            ("precision", result.Metrics.Precision, result.Baseline.Precision),
            ("recall", result.Metrics.Recall, result.Baseline.Recall),
            ("F1", result.Metrics.F1, result.Baseline.F1),
            ("log-loss", result.Metrics.LogLoss, result.Baseline.LogLoss),
        })
        {
            await output.WriteLineAsync(Invariant($"{name,-10} {model,6:0.000}   {baseline,6:0.000}")).ConfigureAwait(false);
        }

        await output.WriteLineAsync($"written: {Path.Combine(options.ModelDirectory, ChurnModelFile.ModelName)}, {Path.Combine(options.ModelDirectory, ChurnModelFile.MetadataName)}").ConfigureAwait(false);
        return 0;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
