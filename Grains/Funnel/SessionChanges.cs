using Analytics.Grains.Interfaces.Funnel;

namespace Analytics.Grains.Funnel;

/// <summary>What the windows must hear when an event changed a session's ordered-funnel steps.</summary>
public static class SessionChanges
{
    /// <summary>
    /// The session's new progress if its steps changed (for the window of its first view), and a withdrawal from its
    /// former window if an earlier view moved it to another one. Nothing while the session has no view.
    /// </summary>
    public static List<SessionProgress> Between(
        string userId,
        string sessionId,
        (long FirstView, long? Cart, long? Purchase)? before,
        (long FirstView, long? Cart, long? Purchase)? after,
        int version,
        FunnelWindowing windowing)
    {
        ArgumentNullException.ThrowIfNull(windowing);
        if (after is not { } now || after == before) return [];
        static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);
        List<SessionProgress> changes =
        [
            new()
            {
                UserId = userId,
                SessionId = sessionId,
                FirstView = Time(now.FirstView),
                Cart = now.Cart is { } cart ? Time(cart) : null,
                Purchase = now.Purchase is { } purchase ? Time(purchase) : null,
                Version = version,
            },
        ];
        if (before is { } was && windowing.StartOf(Time(was.FirstView)) != windowing.StartOf(Time(now.FirstView)))
        {
            changes.Add(new SessionProgress { UserId = userId, SessionId = sessionId, FirstView = Time(was.FirstView), Version = version, Withdrawn = true });
        }

        return changes;
    }
}
