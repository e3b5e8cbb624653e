using Analytics.Grains.Interfaces.Events;
using Analytics.Grains.Interfaces.Funnel;

namespace Analytics.Grains.Funnel;

/// <summary>What happened to a contribution offered to <see cref="FunnelWindowState.Apply"/>.</summary>
public enum WindowApplyOutcome
{
    /// <summary>Counted.</summary>
    Counted,

    /// <summary>Its position was counted already for that user (a replay, or a user grain catching up): ignored.</summary>
    Replayed,

    /// <summary>The window was final: not counted, but added to the window's late events.</summary>
    Late,
}

/// <summary>Event counts, revenue and distinct users of one funnel (the whole window, or one category or device).</summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.FunnelCounts")]
public sealed class FunnelCounts
{
    [Id(0)] public long Views { get; set; }

    [Id(1)] public long AddToCarts { get; set; }

    [Id(2)] public long Purchases { get; set; }

    [Id(3)] public decimal Revenue { get; set; }

    [Id(4)] public long UniqueViewers { get; set; }

    [Id(5)] public long UniqueCarters { get; set; }

    [Id(6)] public long UniquePurchasers { get; set; }

    /// <summary>Counts one event; <paramref name="firstOfItsStep"/> when its user had no event of this type here yet.</summary>
    public void Add(UserEventType type, decimal price, bool firstOfItsStep)
    {
        switch (type)
        {
            case UserEventType.View:
                Views++;
                if (firstOfItsStep) UniqueViewers++;
                break;
            case UserEventType.AddToCart:
                AddToCarts++;
                if (firstOfItsStep) UniqueCarters++;
                break;
            case UserEventType.Purchase:
                Purchases++;
                Revenue += price;
                if (firstOfItsStep) UniquePurchasers++;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown event type.");
        }
    }

    public FunnelStepCounts ToStepCounts() => new()
    {
        Views = Views,
        AddToCarts = AddToCarts,
        Purchases = Purchases,
        Revenue = Revenue,
        UniqueViewers = UniqueViewers,
        UniqueCarters = UniqueCarters,
        UniquePurchasers = UniquePurchasers,
    };
}

/// <summary>What one user did in one window: the steps reached overall, per category and per device, and how far their events were counted.</summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.WindowUser")]
public sealed class WindowUser
{
    [Id(0)] public byte Steps { get; set; }

    [Id(1)] public Dictionary<string, byte> CategorySteps { get; private set; } = [];

    [Id(2)] public Dictionary<string, byte> DeviceSteps { get; private set; } = [];

    /// <summary>The offset of the last event of this user counted (or found late) per topic epoch and partition: a user's events are in offset order there.</summary>
    [Id(3)] public Dictionary<(int Epoch, int Partition), long> Offsets { get; private set; } = [];
}

/// <summary>
/// The funnel of one tumbling window: event counts, revenue and distinct users per step, overall and broken down by
/// category and by device; late events; whether it is final. Deduplication happened upstream (each user grain hands on
/// an event once), so a window keeps no event ids: only, per user, the steps reached and the position of the last
/// event counted, which makes a replayed contribution harmless. Memory grows with the window's users, not its events.
/// </summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.FunnelWindowState")]
public sealed class FunnelWindowState
{
    /// <summary>Device key for events without a device.</summary>
    public const string UnknownDevice = "unknown";

    [Id(0)] public FunnelCounts Total { get; private set; } = new();

    [Id(1)] public Dictionary<string, FunnelCounts> ByCategory { get; private set; } = [];

    [Id(2)] public Dictionary<string, FunnelCounts> ByDevice { get; private set; } = [];

    [Id(3)] public Dictionary<string, WindowUser> Users { get; private set; } = [];

    /// <summary>Events that arrived after the window was final: not in the counts.</summary>
    [Id(4)] public long LateEvents { get; private set; }

    [Id(5)] public bool IsFinal { get; private set; }

    /// <summary>The ordered funnel's sessions (first view in this window), by user and session id, while it is open.</summary>
    [Id(6)] public Dictionary<(string UserId, string SessionId), OrderedSession> Sessions { get; private set; } = [];

    /// <summary>The ordered funnel, once final (then <see cref="Sessions"/> is no longer needed and is emptied).</summary>
    [Id(7)] public OrderedFunnel? FinalOrdered { get; private set; }

    /// <summary>Session updates that arrived after the ordered funnel was final: not in it.</summary>
    [Id(8)] public long LateSessionUpdates { get; private set; }

    // Users with a counted event (not only late ones), kept up as events come: counting them for every snapshot
    // walked every user of the window several times a second. Not stored: counted once after a read.
    [NonSerialized]
    private int? _countedUsers;

    public bool IsOrderedFinal => FinalOrdered is not null;

    /// <summary>Users with a counted event here (a user with only late events is not one).</summary>
    public int CountedUsers => _countedUsers ??= Users.Values.Count(u => u.Steps != 0);

    /// <summary>Counts <paramref name="contribution"/> unless it is a replay, or adds it to the late events if the window is final.</summary>
    public WindowApplyOutcome Apply(WindowContribution contribution)
    {
        ArgumentNullException.ThrowIfNull(contribution);
        if (!Enum.IsDefined(contribution.EventType))
        {
            throw new ArgumentOutOfRangeException(nameof(contribution), contribution.EventType, "Unknown event type.");
        }

        Users.TryGetValue(contribution.UserId, out var user);
        if (user is not null && contribution.Position is var (epoch, partition, offset)
            && user.Offsets.TryGetValue((epoch, partition), out var counted) && offset <= counted)
        {
            return WindowApplyOutcome.Replayed;
        }

        if (user is null)
        {
            user = new WindowUser();
            Users[contribution.UserId] = user;
        }

        if (contribution.Position is var (atEpoch, atPartition, atOffset)) user.Offsets[(atEpoch, atPartition)] = atOffset;
        if (IsFinal)
        {
            LateEvents++;
            return WindowApplyOutcome.Late;
        }

        var step = (byte)(1 << (int)contribution.EventType);
        if (user.Steps == 0 && _countedUsers is not null) _countedUsers++;
        Total.Add(contribution.EventType, contribution.Price, (user.Steps & step) == 0);
        user.Steps |= step;
        Count(ByCategory, user.CategorySteps, contribution.Category, contribution, step);
        Count(ByDevice, user.DeviceSteps, contribution.Device ?? UnknownDevice, contribution, step);
        return WindowApplyOutcome.Counted;
    }

    /// <summary>Marks the window final: from now on events only add to <see cref="LateEvents"/>.</summary>
    public void MarkFinal() => IsFinal = true;

    /// <summary>
    /// Takes a session's progress unless a newer one is here (by version); a withdrawal removes the session, and is
    /// remembered so that an older progress cannot bring it back. Returns false if it changed nothing.
    /// </summary>
    public bool ApplySession(SessionProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (IsOrderedFinal)
        {
            LateSessionUpdates++;
            return false;
        }

        var key = (progress.UserId, progress.SessionId);
        if (Sessions.TryGetValue(key, out var known) && known.Version >= progress.Version) return false;
        Sessions[key] = new OrderedSession
        {
            FirstViewTicks = progress.FirstView.UtcTicks,
            CartTicks = progress.Cart?.UtcTicks,
            PurchaseTicks = progress.Purchase?.UtcTicks,
            Version = progress.Version,
            Withdrawn = progress.Withdrawn,
        };
        return true;
    }

    /// <summary>Replaces the open ordered funnel's sessions (a rebuild from stored events).</summary>
    public void ReplaceSessions(Dictionary<(string UserId, string SessionId), OrderedSession> sessions)
    {
        if (!IsOrderedFinal) Sessions = sessions;
    }

    /// <summary>Freezes the ordered funnel as it is now; session updates from now on are late.</summary>
    public void MarkOrderedFinal(DateTimeOffset end, TimeSpan sessionTimeout)
    {
        if (IsOrderedFinal) return;
        FinalOrdered = ComputeOrdered(end, sessionTimeout) with { IsFinal = true };
        Sessions = [];
    }

    /// <summary>
    /// The ordered funnel of the sessions here. A step counts only if it happened before the window's end plus the
    /// session timeout: by then the watermark has passed and the funnel is final.
    /// </summary>
    public OrderedFunnel Ordered(DateTimeOffset end, TimeSpan sessionTimeout) => FinalOrdered ?? ComputeOrdered(end, sessionTimeout);

    private OrderedFunnel ComputeOrdered(DateTimeOffset end, TimeSpan sessionTimeout)
    {
        var cutOff = (end + sessionTimeout).UtcTicks;
        long sessions = 0;
        var toCart = new List<long>();
        var toPurchase = new List<long>();
        foreach (var session in Sessions.Values)
        {
            if (session.Withdrawn) continue;
            sessions++;
            if (session.CartTicks is not { } cart || cart >= cutOff) continue;
            toCart.Add(cart - session.FirstViewTicks);
            if (session.PurchaseTicks is { } purchase && purchase < cutOff) toPurchase.Add(purchase - session.FirstViewTicks);
        }

        toCart.Sort();
        toPurchase.Sort();
        return new OrderedFunnel
        {
            Sessions = sessions,
            Carted = toCart.Count,
            Purchased = toPurchase.Count,
            ViewToCartMedianSeconds = NearestRank(toCart, 0.5),
            ViewToCartP90Seconds = NearestRank(toCart, 0.9),
            ViewToPurchaseMedianSeconds = NearestRank(toPurchase, 0.5),
            ViewToPurchaseP90Seconds = NearestRank(toPurchase, 0.9),
        };
    }

    // The smallest value with at least the fraction p of the values at or below it.
    private static double? NearestRank(List<long> sortedTicks, double p)
        => sortedTicks.Count == 0 ? null : sortedTicks[(int)Math.Ceiling(p * sortedTicks.Count) - 1] / (double)TimeSpan.TicksPerSecond;

    /// <summary>
    /// The funnel as callers see it: the final ordered funnel once there is one, until then <paramref name="openOrdered"/>
    /// (<see cref="Ordered"/>, as of now or a moment ago).
    /// </summary>
    public FunnelWindowSnapshot ToSnapshot(DateTimeOffset start, DateTimeOffset end, OrderedFunnel? openOrdered) => new()
    {
        Ordered = FinalOrdered ?? openOrdered ?? throw new ArgumentNullException(nameof(openOrdered), "An open ordered funnel needs its current value."),
        WindowStart = start,
        WindowEnd = end,
        Total = Total.ToStepCounts(),
        ByCategory = ByCategory.ToDictionary(c => c.Key, c => c.Value.ToStepCounts()),
        ByDevice = ByDevice.ToDictionary(d => d.Key, d => d.Value.ToStepCounts()),
        LateEvents = LateEvents,
        IsFinal = IsFinal,
        Users = CountedUsers,
    };

    private static void Count(Dictionary<string, FunnelCounts> funnels, Dictionary<string, byte> userSteps, string key, WindowContribution contribution, byte step)
    {
        if (!funnels.TryGetValue(key, out var funnel))
        {
            funnel = new FunnelCounts();
            funnels[key] = funnel;
        }

        var reached = userSteps.GetValueOrDefault(key);
        funnel.Add(contribution.EventType, contribution.Price, (reached & step) == 0);
        userSteps[key] = (byte)(reached | step);
    }
}

/// <summary>One session of a window's ordered funnel (times in ticks).</summary>
[GenerateSerializer]
[Alias("Analytics.Grains.Funnel.OrderedSession")]
public sealed record OrderedSession
{
    [Id(0)] public long FirstViewTicks { get; init; }

    [Id(1)] public long? CartTicks { get; init; }

    [Id(2)] public long? PurchaseTicks { get; init; }

    [Id(3)] public int Version { get; init; }

    [Id(4)] public bool Withdrawn { get; init; }
}
