using Analytics.Grains.Interfaces.Users;
using Analytics.Producer.Simulation;

namespace Analytics.Churn.Tests;

/// <summary>Reading the simulator's truth file, and scoring a trained model against it.</summary>
public sealed class ChurnTruthTests
{
    private static readonly DateTimeOffset Cutoff = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(3);

    [Fact]
    public async Task Read_TheSimulatorsOwnTruthFile_KnowsEveryUsersChurnTime()
    {
        var simulator = new ShopSimulator(new SimulationSettings
        {
            Users = 300,
            Start = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero),
            ChurnHorizon = TimeSpan.FromDays(6),
            EventTimeSpan = TimeSpan.FromDays(4),
        });
        while (simulator.TryNext(out _))
        {
        }

        var written = simulator.GetTruth();
        using var file = new MemoryStream();
        TruthFile.Write(written, file);
        file.Position = 0;

        var truth = await ChurnTruth.ReadAsync(new StreamReader(file));

        Assert.Equal(300, truth.Count);
        Assert.Contains(written, t => t.Churned);
        Assert.Contains(written, t => !t.Churned);
        foreach (var user in written)
        {
            Assert.True(truth.Contains(user.UserId));
            if (user.ChurnTime is { } churnTime)
            {
                Assert.True(truth.ChurnedBy(user.UserId, churnTime), $"{user.UserId} churned at {churnTime:O}");
                Assert.False(truth.ChurnedBy(user.UserId, churnTime.AddMilliseconds(-1)), $"{user.UserId} had not churned yet");
            }
            else
            {
                Assert.False(truth.ChurnedBy(user.UserId, DateTimeOffset.MaxValue), $"{user.UserId} never churned");
            }
        }

        Assert.False(truth.Contains("user_301"));
        Assert.Throws<KeyNotFoundException>(() => truth.ChurnedBy("user_301", Cutoff));
    }

    [Theory]
    [InlineData("{\"user_id\":\"a\",\"churn_time\":null}\nnot json", "line 2: not a JSON object")]
    [InlineData("{\"persona\":\"researcher\",\"churn_time\":null}", "line 1: no user_id")]
    [InlineData("{\"user_id\":\"a\",\"churned\":true,\"churn_time\":null}", "line 1: a churned but has no churn_time")]
    [InlineData("{\"user_id\":\"a\",\"churn_time\":null}\n\n{\"user_id\":\"a\",\"churn_time\":null}", "line 3: a appears a second time")]
    [InlineData("{\"user_id\":\"a\",\"churn_time\":\"yesterday\"}", "line 1: not a JSON object")]
    public async Task Read_BadLine_FailsNamingTheLine(string text, string expected)
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ChurnTruth.ReadAsync(new StringReader(text), "truth.jsonl"));

        Assert.StartsWith("truth.jsonl, " + expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_TruthThatAgreesWithTheData_GivesTheTrainersOwnHeldOutMetrics()
    {
        var examples = Examples(2_000);
        var result = new ChurnTrainer().Train(examples);
        // Churned by the truth exactly when the data label says so; churn exactly at T + H still counts.
        var truth = new ChurnTruth(examples.ToDictionary(e => e.Features.UserId, e => e.Churned ? Cutoff + Horizon : (DateTimeOffset?)null));

        var scored = truth.Evaluate(result, examples, Cutoff, Horizon);

        Assert.Equal((result.TestUsers, 0), (scored.Users, scored.Unknown));
        Assert.Equal(examples.Count(e => e.Churned && ChurnTrainer.IsHeldOut(e.Features.UserId, 0.2)), scored.Churned);
        Assert.Equal(result.Metrics, scored.Model);
        Assert.Equal(result.Baseline, scored.Baseline);
    }

    [Fact]
    public void Evaluate_ChurnAfterTheHorizon_IsRetained_UsersMissingFromTheTruth_AreCounted()
    {
        var examples = Examples(2_000);
        var result = new ChurnTrainer().Train(examples);
        var heldOut = examples.Where(e => ChurnTrainer.IsHeldOut(e.Features.UserId, 0.2)).ToList();
        var missing = heldOut.Take(10).Select(e => e.Features.UserId).ToHashSet();
        // The data's churners churn a millisecond after T + H: by the truth, nobody in the data set had churned by then
        // but the ones given an early churn time below.
        var churnTimes = examples
            .Where(e => !missing.Contains(e.Features.UserId))
            .ToDictionary(e => e.Features.UserId, e => e.Churned ? Cutoff + Horizon + TimeSpan.FromMilliseconds(1) : (DateTimeOffset?)null);
        var early = heldOut.Skip(10).Take(30).Select(e => e.Features.UserId).ToList();
        foreach (var user in early) churnTimes[user] = Cutoff - TimeSpan.FromDays(1);

        var scored = new ChurnTruth(churnTimes).Evaluate(result, examples, Cutoff, Horizon);

        Assert.Equal((heldOut.Count - 10, 30, 10), (scored.Users, scored.Churned, scored.Unknown));
    }

    [Fact]
    public void Evaluate_TruthOfOtherUsersOrOneClass_IsRefused()
    {
        var examples = Examples(1_000);
        var result = new ChurnTrainer().Train(examples);

        var strangers = Assert.Throws<InvalidOperationException>(
            () => new ChurnTruth(new Dictionary<string, DateTimeOffset?> { ["someone-else"] = null }).Evaluate(result, examples, Cutoff, Horizon));
        var oneClass = Assert.Throws<InvalidOperationException>(
            () => new ChurnTruth(examples.ToDictionary(e => e.Features.UserId, _ => (DateTimeOffset?)null)).Evaluate(result, examples, Cutoff, Horizon));

        Assert.Contains($"None of the {result.TestUsers:N0} held-out users is in the truth file", strangers.Message, StringComparison.Ordinal);
        Assert.Contains("metrics need both churned and retained users", oneClass.Message, StringComparison.Ordinal);
    }

    /// <summary>Users whose churn follows their recency and activity, with noise.</summary>
    private static List<ChurnExample> Examples(int users)
    {
        var random = new Random(7);
        var examples = new List<ChurnExample>();
        for (var i = 0; i < users; i++)
        {
            var recencyDays = random.NextDouble() * 10;
            var last7 = random.Next(0, 20);
            var churned = random.NextDouble() < 1 / (1 + Math.Exp(-(recencyDays - 4 - (0.1 * last7))));
            examples.Add(new ChurnExample(
                new ChurnFeatures { UserId = $"user_{i}", AsOf = Cutoff, RecencyDays = recencyDays, EventsLast7Days = last7, TotalViews = last7 },
                churned));
        }

        return examples;
    }
}
