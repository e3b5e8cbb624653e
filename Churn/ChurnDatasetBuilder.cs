using Analytics.Grains.Interfaces.Users;
using Analytics.Grains.Users;
using Analytics.Storage;

namespace Analytics.Churn;

/// <summary>One user of a churn data set: features as of the cutoff, and whether the user churned after it.</summary>
/// <param name="Features">Computed only from the user's events at or before the cutoff.</param>
/// <param name="Churned">True when the user had no event in (cutoff, cutoff + horizon].</param>
public sealed record ChurnExample(ChurnFeatures Features, bool Churned);

/// <summary>
/// Builds a point-in-time churn data set from <c>raw_events</c>. Every user with an event at or before the cutoff
/// <c>T</c> is one example: features computed from those events only, as of <c>T</c>, by the very code the user grains
/// serve live (<see cref="UserBehaviour"/>), so training and serving cannot disagree; label <c>churned</c> = no event
/// in (<c>T</c>, <c>T + H</c>]. Nothing after <c>T</c> reaches a feature.
/// </summary>
public sealed class ChurnDatasetBuilder(ChurnHistoryReader history)
{
    /// <summary>
    /// The data set at <paramref name="cutoff"/> with label horizon <paramref name="horizon"/>, one example per user in
    /// user id order. Refuses a horizon that reaches past the newest stored event: every user would look churned there
    /// only because the data ends. <paramref name="progress"/> is told the number of users done, now and then.
    /// </summary>
    public async Task<IReadOnlyList<ChurnExample>> BuildAsync(
        DateTimeOffset cutoff, TimeSpan horizon, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (horizon <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be positive.");
        var latest = await history.ReadLatestEventTimeAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("raw_events is empty: there is nothing to build a data set from.");
        if (cutoff + horizon > latest)
        {
            throw new InvalidOperationException(
                $"The cutoff {cutoff:O} plus the horizon {horizon} ends after the newest stored event ({latest:O}): labels would say churned only because the data ends. Choose a cutoff at or before {latest - horizon:O}.");
        }

        var active = await history.ReadActiveUsersAsync(cutoff, cutoff + horizon, cancellationToken).ConfigureAwait(false);
        var examples = new List<ChurnExample>();
        string? user = null;
        UserBehaviour? behaviour = null;
        void Emit()
        {
            if (user is null || behaviour is null) return;
            examples.Add(new ChurnExample(behaviour.Features(user, cutoff), Churned: !active.Contains(user)));
            if (examples.Count % 10_000 == 0) progress?.Report(examples.Count);
        }

        await foreach (var userEvent in history.ReadUpToAsync(cutoff, cancellationToken).ConfigureAwait(false))
        {
            if (!string.Equals(userEvent.UserId, user, StringComparison.Ordinal))
            {
                Emit();
                user = userEvent.UserId;
                behaviour = new UserBehaviour();
            }

            behaviour!.Apply(userEvent);
        }

        Emit();
        progress?.Report(examples.Count);
        return examples;
    }
}
