using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Users;

namespace Analytics.Grains.Users;

/// <summary>
/// The running aggregate of one user's events, from which <see cref="UserSummary"/> and <see cref="ChurnFeatures"/>
/// are derived. Every update commutes (counts, sums, minimums and maximums, sets, per-session facts), so the same
/// events applied in any order give the same aggregate. It does not deduplicate: <see cref="UserState"/> does.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Users.UserBehaviour")]
public sealed class UserBehaviour
{
    // Events older than this before the latest one can no longer fall in either activity window of a feature
    // computed as of the latest event or later.
    private static readonly long TrendHorizonTicks = 2 * ChurnFeatures.TrendWindow.Ticks;

    [Id(0)] public long Views { get; private set; }

    [Id(1)] public long AddToCarts { get; private set; }

    [Id(2)] public long Purchases { get; private set; }

    [Id(3)] public decimal TotalSpend { get; private set; }

    /// <summary>UTC ticks of the earliest event; 0 before the first event.</summary>
    [Id(4)] public long FirstEventTicks { get; private set; }

    /// <summary>UTC ticks of the latest event; 0 before the first event.</summary>
    [Id(5)] public long LastEventTicks { get; private set; }

    [Id(6)] public Dictionary<string, SessionStats> Sessions { get; private set; } = [];

    [Id(7)] public HashSet<string> Products { get; private set; } = [];

    /// <summary>Events per category.</summary>
    [Id(8)] public Dictionary<string, long> Categories { get; private set; } = [];

    /// <summary>UTC ticks of the events less than 14 days older than the latest, ascending (for the activity trend).</summary>
    [Id(9)] public List<long> RecentEventTicks { get; private set; } = [];

    public long TotalEvents => Views + AddToCarts + Purchases;

    public void Apply(UserEvent userEvent)
    {
        ArgumentNullException.ThrowIfNull(userEvent);
        var ticks = userEvent.EventTime.UtcTicks;
        switch (userEvent.EventType)
        {
            case UserEventType.View:
                Views++;
                break;
            case UserEventType.AddToCart:
                AddToCarts++;
                break;
            case UserEventType.Purchase:
                Purchases++;
                TotalSpend += userEvent.Price;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(userEvent), userEvent.EventType, "Unknown event type.");
        }

        var first = TotalEvents == 1;
        FirstEventTicks = first ? ticks : Math.Min(FirstEventTicks, ticks);
        LastEventTicks = first ? ticks : Math.Max(LastEventTicks, ticks);

        if (Sessions.TryGetValue(userEvent.SessionId, out var session)) session.Add(userEvent.EventType, ticks);
        else Sessions[userEvent.SessionId] = SessionStats.Start(userEvent.EventType, ticks);

        Products.Add(userEvent.ProductId);
        Categories[userEvent.Category] = Categories.GetValueOrDefault(userEvent.Category) + 1;
        TrackRecent(ticks);
    }

    public UserSummary Summarize(string userId)
    {
        var sessions = SessionFacts();
        return new UserSummary
        {
            UserId = userId,
            TotalEvents = TotalEvents,
            Views = Views,
            AddToCarts = AddToCarts,
            Purchases = Purchases,
            Sessions = sessions.Count,
            AvgSessionSeconds = sessions.AvgSeconds,
            AvgEventsPerSession = sessions.AvgEvents,
            FirstEventTime = FirstEventTime,
            LastEventTime = LastEventTime,
            TotalSpend = TotalSpend,
            AvgOrderValue = AvgOrderValue,
            DistinctProducts = Products.Count,
            DistinctCategories = Categories.Count,
            CartAbandonments = sessions.Abandoned,
            FavouriteCategory = FavouriteCategory(),
        };
    }

    /// <summary>The features as of <paramref name="asOf"/>, moved up to the last event time if it is earlier.</summary>
    /// <remarks>Computed without a <see cref="UserSummary"/>: a user grain computes them with every delivery.</remarks>
    public ChurnFeatures Features(string userId, DateTimeOffset asOf)
    {
        var sessions = SessionFacts();
        var asOfTicks = Math.Max(asOf.UtcTicks, LastEventTicks);
        var window = ChurnFeatures.TrendWindow.Ticks;
        var last7 = CountRecent(asOfTicks - window, asOfTicks);
        var previous7 = CountRecent(asOfTicks - 2 * window, asOfTicks - window);
        double? sinceLast = TotalEvents == 0 ? null : (asOfTicks - LastEventTicks) / (double)TimeSpan.TicksPerSecond;
        var activeDays = TotalEvents == 0 ? 1 : Math.Max(1, (asOfTicks - FirstEventTicks) / (double)TimeSpan.TicksPerDay);
        return new ChurnFeatures
        {
            UserId = userId,
            AsOf = new DateTimeOffset(asOfTicks, TimeSpan.Zero),
            TotalViews = Views,
            TotalAddToCarts = AddToCarts,
            TotalPurchases = Purchases,
            SessionCount = sessions.Count,
            AvgSessionSeconds = sessions.AvgSeconds,
            AvgEventsPerSession = sessions.AvgEvents,
            FirstEventTime = FirstEventTime,
            LastEventTime = LastEventTime,
            SecondsSinceLastEvent = sinceLast,
            TotalSpend = TotalSpend,
            AvgOrderValue = AvgOrderValue,
            DistinctProducts = Products.Count,
            DistinctCategories = Categories.Count,
            CartAbandonments = sessions.Abandoned,
            CartToPurchaseRatio = AddToCarts == 0 ? null : Purchases / (double)AddToCarts,
            FavouriteCategory = FavouriteCategory(),
            EventsLast7Days = last7,
            EventsPrevious7Days = previous7,
            ActivityTrend = last7 + previous7 == 0 ? 0 : (last7 - previous7) / (double)(last7 + previous7),
            RecencyDays = sinceLast / 86_400,
            FrequencyPerDay = TotalEvents / activeDays,
            Monetary = TotalSpend,
        };
    }

    private DateTimeOffset? FirstEventTime => TotalEvents == 0 ? null : new DateTimeOffset(FirstEventTicks, TimeSpan.Zero);

    private DateTimeOffset? LastEventTime => TotalEvents == 0 ? null : new DateTimeOffset(LastEventTicks, TimeSpan.Zero);

    private decimal? AvgOrderValue => Purchases == 0 ? null : TotalSpend / Purchases;

    /// <summary>The session count, mean session length and events per session, and the abandoned carts.</summary>
    private (long Count, double? AvgSeconds, double? AvgEvents, long Abandoned) SessionFacts()
    {
        var count = Sessions.Count;
        var totalSessionTicks = 0L;
        var abandoned = 0L;
        foreach (var session in Sessions.Values)
        {
            totalSessionTicks += session.LastTicks - session.FirstTicks;
            if (session.HasCart && !session.HasPurchase) abandoned++;
        }

        return count == 0
            ? (0, null, null, abandoned)
            : (count, totalSessionTicks / (double)TimeSpan.TicksPerSecond / count, TotalEvents / (double)count, abandoned);
    }

    private string? FavouriteCategory()
    {
        string? favourite = null;
        var most = 0L;
        foreach (var (category, count) in Categories)
        {
            if (count > most || (count == most && string.CompareOrdinal(category, favourite) < 0))
            {
                favourite = category;
                most = count;
            }
        }

        return favourite;
    }

    private void TrackRecent(long ticks)
    {
        var horizon = LastEventTicks - TrendHorizonTicks;
        if (ticks <= horizon) return;
        var at = RecentEventTicks.BinarySearch(ticks);
        RecentEventTicks.Insert(at < 0 ? ~at : at, ticks);
        if (RecentEventTicks[0] <= horizon) RecentEventTicks.RemoveRange(0, UpperBound(horizon));
    }

    /// <summary>Events with ticks in (<paramref name="fromExclusive"/>, <paramref name="toInclusive"/>].</summary>
    private long CountRecent(long fromExclusive, long toInclusive) => UpperBound(toInclusive) - UpperBound(fromExclusive);

    /// <summary>How many recent events have ticks ≤ <paramref name="ticks"/>.</summary>
    private int UpperBound(long ticks)
    {
        int low = 0, high = RecentEventTicks.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (RecentEventTicks[middle] <= ticks) low = middle + 1;
            else high = middle;
        }

        return low;
    }
}

/// <summary>
/// What a session did: its first and last event time, whether it added to the cart and bought, and the times of its
/// first view and of every cart addition and purchase — what the ordered funnel needs, whatever order they arrive in.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Users.SessionStats")]
public sealed class SessionStats
{
    [Id(0)] public long FirstTicks { get; private set; }

    [Id(1)] public long LastTicks { get; private set; }

    [Id(2)] public int Events { get; private set; }

    [Id(3)] public bool HasCart { get; private set; }

    [Id(4)] public bool HasPurchase { get; private set; }

    /// <summary>The earliest view's event time (ticks), or 0 without a view.</summary>
    [Id(5)] public long FirstViewTicks { get; private set; }

    /// <summary>Every cart addition's event time, sorted.</summary>
    [Id(6)] public List<long> CartTicks { get; private set; } = [];

    /// <summary>Every purchase's event time, sorted.</summary>
    [Id(7)] public List<long> PurchaseTicks { get; private set; } = [];

    public static SessionStats Start(UserEventType type, long ticks)
    {
        var session = new SessionStats { FirstTicks = ticks, LastTicks = ticks };
        session.Add(type, ticks);
        return session;
    }

    public void Add(UserEventType type, long ticks)
    {
        FirstTicks = Math.Min(FirstTicks, ticks);
        LastTicks = Math.Max(LastTicks, ticks);
        Events++;
        HasCart |= type == UserEventType.AddToCart;
        HasPurchase |= type == UserEventType.Purchase;
        switch (type)
        {
            case UserEventType.View:
                if (FirstViewTicks == 0 || ticks < FirstViewTicks) FirstViewTicks = ticks;
                break;
            case UserEventType.AddToCart:
                InsertSorted(CartTicks, ticks);
                break;
            case UserEventType.Purchase:
                InsertSorted(PurchaseTicks, ticks);
                break;
        }
    }

    /// <summary>
    /// The ordered funnel steps: the first view; the first cart addition at or after it; the first purchase at or after
    /// that. Null without a view (the session never entered the funnel).
    /// </summary>
    public (long FirstView, long? Cart, long? Purchase)? OrderedSteps()
    {
        if (FirstViewTicks == 0) return null;
        var cart = FirstAtOrAfter(CartTicks, FirstViewTicks);
        var purchase = cart is { } carted ? FirstAtOrAfter(PurchaseTicks, carted) : null;
        return (FirstViewTicks, cart, purchase);
    }

    private static void InsertSorted(List<long> list, long value)
    {
        var index = list.BinarySearch(value);
        list.Insert(index < 0 ? ~index : index, value);
    }

    private static long? FirstAtOrAfter(List<long> sorted, long from)
    {
        var index = sorted.BinarySearch(from);
        if (index < 0) index = ~index;
        else while (index > 0 && sorted[index - 1] == from) index--;
        return index < sorted.Count ? sorted[index] : null;
    }
}
