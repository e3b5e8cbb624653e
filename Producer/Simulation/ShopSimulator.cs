using System.Buffers;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.Producer.Simulation;

/// <summary>
/// Generates the shop's valid events in event-time order. Each user's sessions arrive as a Poisson process (thinned
/// during churn decay); a session is played out event by event, and users are merged through a priority queue keyed by
/// (event time, user index), so the order is total and reproducible.
/// </summary>
public sealed class ShopSimulator
{
    /// <summary>The largest supported <c>--users</c>: the user index shares a 64-bit queue key with the time offset.</summary>
    public const int MaxUsers = (1 << UserBits) - 1;

    private const int UserBits = 22;
    private const long MillisecondsPerDay = 86_400_000;

    private readonly SimulatedUser[] _users;
    private readonly PriorityQueue<int, long> _queue;
    private readonly List<int> _cart = [];
    private readonly long _startMs;
    private readonly long _stopMs;
    private readonly long _maxEvents;
    private long _generated;
    private bool _finished;

    public ShopSimulator(SimulationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Users, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(settings.Users, MaxUsers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(settings.SessionsPerDay);

        Settings = settings;
        _startMs = settings.Start.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(_startMs, nameof(settings.Start));
        _stopMs = settings.EventTimeSpan is { } span ? _startMs + (long)span.TotalMilliseconds : long.MaxValue;
        _maxEvents = settings.MaxEvents ?? long.MaxValue;
        Catalogue = Catalogue.Create(settings.Products, new RandomSource(settings.Seed, 1));
        ClockMs = _startMs;

        var shares = Persona.All.Select(p => p.Share).ToArray();
        var categoryShares = Category.All.Select(c => c.Share).ToArray();
        var horizonMs = Math.Max(1.0, settings.ChurnHorizon.TotalMilliseconds);
        _users = new SimulatedUser[settings.Users];
        _queue = new PriorityQueue<int, long>(settings.Users);
        for (var i = 0; i < _users.Length; i++)
        {
            // Stream 1 is the catalogue; users start at 16 so that new stages can take small stream numbers.
            var random = new RandomSource(settings.Seed, 16 + (ulong)i);
            var persona = Persona.All[random.Pick(shares)];
            var user = new SimulatedUser(i, persona, random);
            user.FavouriteCategoryA = random.Pick(categoryShares);
            do user.FavouriteCategoryB = random.Pick(categoryShares);
            while (user.FavouriteCategoryB == user.FavouriteCategoryA);

            // Users differ around their persona's rate (×0.5–1.5, mean 1).
            var sessionsPerDay = settings.SessionsPerDay * persona.RelativeSessionRate / Persona.MeanRelativeSessionRate
                * random.Uniform(0.5, 1.5);
            user.MeanSessionGapMs = MillisecondsPerDay / sessionsPerDay;

            if (random.Chance(persona.ChurnProbability))
            {
                user.ChurnTimeMs = _startMs + (long)(horizonMs * random.Uniform(0.1, 1.0));
                var decayMs = (long)(horizonMs * random.Uniform(0.1, 0.25));
                user.ChurnOnsetMs = Math.Max(_startMs, user.ChurnTimeMs - decayMs);
            }

            _users[i] = user;
            _queue.Enqueue(i, Key(i, _startMs + (long)random.Exponential(user.MeanSessionGapMs)));
        }
    }

    public SimulationSettings Settings { get; }

    public Catalogue Catalogue { get; }

    public int UserCount => _users.Length;

    /// <summary>Event time of the last generated event (the start before the first).</summary>
    public long ClockMs { get; private set; }

    /// <summary>Valid events generated so far.</summary>
    public long Generated => _generated;

    /// <summary>True once no more events will come.</summary>
    public bool IsFinished => _finished;

    /// <summary>The simulated time at which the simulation ended; churn times up to it count as churned.</summary>
    public long EndClockMs { get; private set; } = long.MinValue;

    public string UserId(int userIndex) => _users[userIndex].Id;

    /// <summary>The user's id as UTF-8 bytes (the Kafka key; do not modify).</summary>
    public byte[] UserKey(int userIndex) => _users[userIndex].Key;

    /// <summary>Next valid event in event-time order; false when a limit was reached, <see cref="Stop"/> was called, or every user churned.</summary>
    public bool TryNext(out SimulatedEvent next)
    {
        next = default;
        if (_finished) return false;
        if (_generated >= _maxEvents)
        {
            Finish(ClockMs);
            return false;
        }

        while (_queue.TryPeek(out var index, out var key))
        {
            var time = _startMs + (key >> UserBits);
            if (time >= _stopMs)
            {
                Finish(_stopMs);
                return false;
            }

            var user = _users[index];
            if (user.HasPendingEvent)
            {
                var e = user.Session[user.SessionPosition++];
                if (e.TimeMs >= user.ChurnTimeMs)
                {
                    // Churned mid-session: the user leaves the queue for good.
                    _queue.Dequeue();
                    continue;
                }

                Record(user, e);
                _queue.DequeueEnqueue(index, Key(index, user.HasPendingEvent
                    ? user.Session[user.SessionPosition].TimeMs
                    : e.TimeMs + 60_000 + (long)user.Random.Exponential(user.MeanSessionGapMs)));
                _generated++;
                ClockMs = e.TimeMs;
                next = e;
                return true;
            }

            // A candidate session start.
            if (time >= user.ChurnTimeMs)
            {
                _queue.Dequeue();
                continue;
            }

            if (time >= user.ChurnOnsetMs
                && !user.Random.Chance((double)(user.ChurnTimeMs - time) / (user.ChurnTimeMs - user.ChurnOnsetMs)))
            {
                // Thinning: during decay a candidate survives with a probability falling linearly to 0 at churn time.
                _queue.DequeueEnqueue(index, Key(index, time + (long)user.Random.Exponential(user.MeanSessionGapMs)));
                continue;
            }

            // The session's first event is at its start: the queue key stays as it is.
            PlaySession(user, time);
        }

        // Every user has churned.
        Finish(long.MaxValue);
        return false;
    }

    /// <summary>Ends the simulation now (wall-clock limit or Ctrl+C); the truth is as of the last event.</summary>
    public void Stop()
    {
        if (!_finished) Finish(ClockMs);
    }

    /// <summary>The contract's object for an event.</summary>
    public UserEvent ToUserEvent(in SimulatedEvent e)
    {
        var product = Catalogue.Products[e.ProductIndex];
        return new UserEvent
        {
            EventId = e.EventId,
            UserId = _users[e.UserIndex].Id,
            SessionId = e.Session.Id,
            EventType = e.Type,
            ProductId = product.Id,
            Category = product.Category.Name,
            Price = product.Price,
            EventTime = DateTimeOffset.FromUnixTimeMilliseconds(e.TimeMs),
            Device = Persona.Devices[(int)e.Session.Device],
            Channel = Persona.Channels[e.Session.Channel],
        };
    }

    /// <summary>Writes the wire form of an event through the contract's serializer (the reference for <see cref="EventWriter"/>).</summary>
    public void WriteWithContract(in SimulatedEvent e, IBufferWriter<byte> output) => UserEventJson.Write(ToUserEvent(e), output);

    /// <summary>The truth for every user, in user order, as of now (final once <see cref="IsFinished"/>).</summary>
    public IReadOnlyList<UserTruth> GetTruth()
    {
        var end = _finished ? EndClockMs : ClockMs;
        return _users.Select(u =>
        {
            var churned = u.ChurnTimeMs <= end;
            return new UserTruth(
                u.Id,
                u.Persona.Name,
                churned,
                churned ? DateTimeOffset.FromUnixTimeMilliseconds(u.ChurnTimeMs) : null,
                churned ? DateTimeOffset.FromUnixTimeMilliseconds(u.ChurnOnsetMs) : null,
                u.FirstEventMs >= 0 ? DateTimeOffset.FromUnixTimeMilliseconds(u.FirstEventMs) : null,
                u.LastEventMs >= 0 ? DateTimeOffset.FromUnixTimeMilliseconds(u.LastEventMs) : null,
                u.Sessions,
                u.Views,
                u.AddToCarts,
                u.Purchases,
                u.Revenue);
        }).ToList();
    }

    private void Finish(long endClockMs)
    {
        _finished = true;
        EndClockMs = endClockMs;
    }

    private long Key(int userIndex, long timeMs) => ((timeMs - _startMs) << UserBits) | (long)userIndex;

    private void Record(SimulatedUser user, in SimulatedEvent e)
    {
        if (user.FirstEventMs < 0) user.FirstEventMs = e.TimeMs;
        user.LastEventMs = e.TimeMs;
        if (user.SessionPosition == 1) user.Sessions++;
        switch (e.Type)
        {
            case UserEventType.View:
                user.Views++;
                break;
            case UserEventType.AddToCart:
                user.AddToCarts++;
                break;
            case UserEventType.Purchase:
                user.Purchases++;
                user.Revenue += Catalogue.Products[e.ProductIndex].Price;
                break;
        }
    }

    /// <summary>Plans a whole session: views (popularity- and favourite-biased), cart additions after some views, and
    /// at the end purchases of some carted products. Times only move forward.</summary>
    private void PlaySession(SimulatedUser user, long startMs)
    {
        var random = user.Random;
        var persona = user.Persona;
        user.Session.Clear();
        user.SessionPosition = 0;
        // A UUID v7 of the session's start with bits of the user's seeded stream: reproducible for a seed and --start,
        // and unique across runs, so a restarted producer never reuses an id that an earlier run already stored (a
        // per-run counter such as "user_17-s3" would start again at s1).
        var sessionId = UuidV7.Create(startMs, random).ToString();
        var device = random.Chance(0.75) ? persona.PreferredDevice : (Device)random.NextInt(3);
        var channel = (byte)random.Pick(persona.ChannelWeights);
        var session = new SimulatedSession(sessionId, device, channel);

        // 1 + a geometric-like count: mean ≈ MeanViews, capped so that no session runs for hours.
        var views = 1 + (int)Math.Min(59, Math.Floor(random.Exponential(persona.MeanViews - 0.5)));
        var time = startMs;
        _cart.Clear();
        for (var v = 0; v < views; v++)
        {
            if (v > 0) time += Gap(random, 3, persona.MeanViewGapSeconds, 240);
            var product = random.Chance(persona.FavouriteBias)
                ? Catalogue.PickProduct(random.NextInt(2) == 0 ? user.FavouriteCategoryA : user.FavouriteCategoryB, random)
                : Catalogue.PickProduct(random);
            Add(UserEventType.View, product);
            if (random.Chance(persona.ViewToCart * Catalogue.Products[product].Category.CartFactor))
            {
                time += Gap(random, 2, 10, 60);
                Add(UserEventType.AddToCart, product);
                _cart.Add(product);
            }
        }

        var checkout = true;
        foreach (var product in _cart)
        {
            var p = Math.Min(0.95, persona.CartToPurchase * Catalogue.Products[product].Category.PurchaseFactor);
            if (!random.Chance(p)) continue;
            time += checkout ? Gap(random, 15, 45, 180) : Gap(random, 1, 4, 30);
            checkout = false;
            Add(UserEventType.Purchase, product);
        }

        void Add(UserEventType type, int product)
            => user.Session.Add(new SimulatedEvent(UuidV7.Create(time, random), user.Index, product, type, time, session));
    }

    /// <summary>A gap in ms: min + exponential, so that the mean is <paramref name="meanSeconds"/>, capped.</summary>
    private static long Gap(RandomSource random, double minSeconds, double meanSeconds, double maxSeconds)
        => (long)(1000 * Math.Min(maxSeconds, minSeconds + random.Exponential(Math.Max(0.1, meanSeconds - minSeconds))));
}
