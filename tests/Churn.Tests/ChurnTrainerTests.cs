using Analytics.Grains.Interfaces.Users;
using Xunit.Abstractions;

namespace Analytics.Churn.Tests;

/// <summary>
/// The trainer on synthetic users whose churn follows a known rule — activity over the last two weeks matters more
/// than recency — with label noise: the model must learn it and beat the recency-only baseline on held-out users.
/// </summary>
public sealed class ChurnTrainerTests(ITestOutputHelper output)
{
    [Fact]
    public void LearnsAKnownRule_BeatsTheRecencyBaseline_OnHeldOutUsers()
    {
        var examples = Synthetic(4_000, seed: 3);

        var result = new ChurnTrainer().Train(examples);
        output.WriteLine($"model {result.Metrics}");
        output.WriteLine($"baseline {result.Baseline}");

        Assert.InRange(result.TestUsers, 600, 1_000); // about 20 % of 4,000, split by user id
        Assert.Equal(examples.Count, result.TrainingUsers + result.TestUsers);
        Assert.True(result.Metrics.Auc > 0.85, $"AUC {result.Metrics.Auc:0.000}");
        Assert.True(result.Metrics.Auc > result.Baseline.Auc + 0.05, $"model AUC {result.Metrics.Auc:0.000} vs recency baseline {result.Baseline.Auc:0.000}");
        Assert.True(result.Metrics.LogLoss < result.Baseline.LogLoss, $"log-loss {result.Metrics.LogLoss:0.000} vs baseline {result.Baseline.LogLoss:0.000}");
    }

    [Fact]
    public void SameData_SameSplitAndMetrics()
    {
        var examples = Synthetic(1_000, seed: 5);
        Assert.Equal(new ChurnTrainer().Train(examples).Metrics, new ChurnTrainer().Train(examples).Metrics);
    }

    [Fact]
    public void IsHeldOut_IsTheTrainersSplit_StableAndNested()
    {
        var examples = Synthetic(2_000, seed: 11);

        var result = new ChurnTrainer().Train(examples, testFraction: 0.3);

        Assert.Equal(0.3, result.TestFraction);
        Assert.Equal(examples.Count(e => ChurnTrainer.IsHeldOut(e.Features.UserId, 0.3)), result.TestUsers);
        // A larger fraction holds out more users, and every user a smaller one did.
        Assert.All(examples, e => Assert.True(!ChurnTrainer.IsHeldOut(e.Features.UserId, 0.2) || ChurnTrainer.IsHeldOut(e.Features.UserId, 0.3), e.Features.UserId));
        Assert.InRange(examples.Count(e => ChurnTrainer.IsHeldOut(e.Features.UserId, 0.2)), 300, 500);
    }

    [Fact]
    public void OnlyOneClass_IsRefusedWithAClearMessage()
    {
        var examples = Synthetic(500, seed: 1).Select(e => e with { Churned = false }).ToList();
        var error = Assert.Throws<InvalidOperationException>(() => new ChurnTrainer().Train(examples));
        Assert.Contains("need churned and retained examples", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SavedModel_LoadsBack_WithItsMetadata_AndPredictsTheSame()
    {
        var examples = Synthetic(1_000, seed: 9);
        var result = new ChurnTrainer().Train(examples);
        var directory = Directory.CreateTempSubdirectory("churn-model-").FullName;
        try
        {
            var cutoff = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
            var saved = await ChurnModelFile.SaveAsync(result, cutoff, TimeSpan.FromDays(7), directory, TimeProvider.System);

            var ml = new Microsoft.ML.MLContext();
            var (model, metadata) = await ChurnModelFile.LoadAsync(ml, directory);

            Assert.Equal(saved.Version, metadata.Version);
            Assert.StartsWith("churn-", metadata.Version, StringComparison.Ordinal);
            Assert.Equal((cutoff, TimeSpan.FromDays(7), result.TrainingUsers, result.TestUsers), (metadata.Cutoff, metadata.Horizon, metadata.TrainingUsers, metadata.TestUsers));
            Assert.Equal(result.Metrics, metadata.Metrics);
            Assert.Equal(result.Baseline, metadata.Baseline);
            Assert.Equal(ChurnModelInput.FeatureNames, metadata.Features);
            Assert.Equal([ChurnModelFile.MetadataName, ChurnModelFile.ModelName], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));

            var original = new Microsoft.ML.MLContext().Model.CreatePredictionEngine<ChurnModelInput, ChurnModelOutput>(result.Model);
            var loaded = ml.Model.CreatePredictionEngine<ChurnModelInput, ChurnModelOutput>(model);
            foreach (var example in examples.Take(50))
            {
                var input = ChurnModelInput.From(example.Features);
                Assert.Equal(original.Predict(input).Probability, loaded.Predict(input).Probability);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Users with random activity; churn is likely when the last two weeks were quiet, whatever the recency.</summary>
    private static List<ChurnExample> Synthetic(int users, int seed)
    {
        var random = new Random(seed);
        var asOf = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var examples = new List<ChurnExample>();
        for (var i = 0; i < users; i++)
        {
            var last7 = random.Next(0, 15);
            var previous7 = random.Next(0, 15);
            var recencyDays = random.NextDouble() * 14;
            var risk = 2.5 - 0.35 * (last7 + previous7) + 0.05 * recencyDays;
            var churned = random.NextDouble() < 1 / (1 + Math.Exp(-risk));
            examples.Add(new ChurnExample(
                new ChurnFeatures
                {
                    UserId = $"user_{seed}_{i}",
                    AsOf = asOf,
                    TotalViews = last7 + previous7 + random.Next(0, 20),
                    EventsLast7Days = last7,
                    EventsPrevious7Days = previous7,
                    RecencyDays = recencyDays,
                    SecondsSinceLastEvent = recencyDays * 86_400,
                    ActivityTrend = last7 + previous7 == 0 ? 0 : (last7 - previous7) / (double)(last7 + previous7),
                },
                churned));
        }

        return examples;
    }
}
