using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML;

namespace Analytics.Churn;

/// <summary>The model and the recency baseline scored against the simulator's hidden truth, on the held-out users.</summary>
/// <param name="Users">Held-out users found in the truth file (the ones scored).</param>
/// <param name="Churned">Of those, the users the simulator had churned by cutoff + horizon.</param>
/// <param name="Unknown">Held-out users the truth file does not list (not scored).</param>
/// <param name="Model">The model against the truth.</param>
/// <param name="Baseline">The recency-only baseline against the truth.</param>
public sealed record ChurnTruthMetrics(int Users, int Churned, int Unknown, ChurnMetrics Model, ChurnMetrics Baseline);

/// <summary>
/// The hidden truth of a shop simulator run (the producer's <c>--truth</c> file: JSON lines with <c>user_id</c> and
/// <c>churn_time</c>, null for a user who had not churned when the run ended). It answers the question the data set's
/// label only approximates: did the simulator churn this user by <c>T + H</c>? The data label (no event in
/// (<c>T</c>, <c>T + H</c>]) calls a churner whose last sessions fall just after <c>T</c> retained, and a quiet but
/// loyal user churned; the truth does neither.
/// </summary>
public sealed class ChurnTruth
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Dictionary<string, DateTimeOffset?> _churnTimes;

    /// <summary>The truth from a map of user id to churn time (null: not churned when the run ended).</summary>
    public ChurnTruth(IReadOnlyDictionary<string, DateTimeOffset?> churnTimes)
    {
        ArgumentNullException.ThrowIfNull(churnTimes);
        _churnTimes = new Dictionary<string, DateTimeOffset?>(churnTimes, StringComparer.Ordinal);
    }

    /// <summary>Users the truth describes.</summary>
    public int Count => _churnTimes.Count;

    /// <summary>Reads a truth file (JSON lines; empty lines are skipped).</summary>
    /// <exception cref="InvalidDataException">A line is not a user's truth, or a user appears twice.</exception>
    public static async Task<ChurnTruth> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(path);
        return await ReadAsync(reader, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads truth lines from <paramref name="reader"/>; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">A line is not a user's truth, or a user appears twice.</exception>
    public static async Task<ChurnTruth> ReadAsync(TextReader reader, string source = "the truth file", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var churnTimes = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            TruthLine? truth;
            try
            {
                truth = JsonSerializer.Deserialize<TruthLine>(line, Json);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException(Invariant($"{source}, line {number}: not a JSON object of a user's truth ({ex.Message})."), ex);
            }

            if (truth?.UserId is not { Length: > 0 } userId)
            {
                throw new InvalidDataException(Invariant($"{source}, line {number}: no user_id."));
            }

            if (truth.Churned == true && truth.ChurnTime is null)
            {
                throw new InvalidDataException(Invariant($"{source}, line {number}: {userId} churned but has no churn_time."));
            }

            if (!churnTimes.TryAdd(userId, truth.ChurnTime))
            {
                throw new InvalidDataException(Invariant($"{source}, line {number}: {userId} appears a second time; a truth file describes one run."));
            }
        }

        return new ChurnTruth(churnTimes);
    }

    /// <summary>Whether the truth describes <paramref name="userId"/>.</summary>
    public bool Contains(string userId) => _churnTimes.ContainsKey(userId);

    /// <summary>True when the simulator churned <paramref name="userId"/> at or before <paramref name="time"/>.</summary>
    /// <exception cref="KeyNotFoundException">The truth does not describe the user.</exception>
    public bool ChurnedBy(string userId, DateTimeOffset time)
        => _churnTimes.TryGetValue(userId, out var churnTime)
            ? churnTime <= time
            : throw new KeyNotFoundException($"The truth does not describe {userId}.");

    /// <summary>
    /// Scores <paramref name="result"/>'s model and recency baseline on its held-out users among
    /// <paramref name="examples"/> (the data set it was trained from) against the truth label "churned by
    /// <paramref name="cutoff"/> + <paramref name="horizon"/>". Users the truth does not list are left out and counted.
    /// </summary>
    /// <exception cref="InvalidOperationException">No held-out user is in the truth, or they are all of one class.</exception>
    public ChurnTruthMetrics Evaluate(ChurnTrainingResult result, IReadOnlyList<ChurnExample> examples, DateTimeOffset cutoff, TimeSpan horizon)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(examples);
        var end = cutoff + horizon;
        var scored = new List<ChurnModelInput>();
        var unknown = 0;
        foreach (var example in examples)
        {
            var userId = example.Features.UserId;
            if (!ChurnTrainer.IsHeldOut(userId, result.TestFraction)) continue;
            if (_churnTimes.TryGetValue(userId, out var churnTime)) scored.Add(ChurnModelInput.From(example.Features, churnTime <= end));
            else unknown++;
        }

        if (scored.Count == 0)
        {
            throw new InvalidOperationException(
                Invariant($"None of the {unknown:N0} held-out users is in the truth file: is it from the simulator run that wrote these events?"));
        }

        var churned = scored.Count(s => s.Label);
        if (churned == 0 || churned == scored.Count)
        {
            throw new InvalidOperationException(
                Invariant($"By the truth, {churned:N0} of the {scored.Count:N0} held-out users churned by {end:O}: metrics need both churned and retained users."));
        }

        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(scored);
        return new ChurnTruthMetrics(
            scored.Count,
            churned,
            unknown,
            ChurnMetrics.From(ml.BinaryClassification.Evaluate(result.Model.Transform(data))),
            ChurnMetrics.From(ml.BinaryClassification.Evaluate(result.BaselineModel.Transform(data))));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The fields of a truth line this reads; the others (persona, counts) are ignored.</summary>
    private sealed record TruthLine(
        [property: JsonPropertyName("user_id")] string? UserId,
        [property: JsonPropertyName("churned")] bool? Churned,
        [property: JsonPropertyName("churn_time")] DateTimeOffset? ChurnTime);
}
