using System.Globalization;
using System.Text;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.PipelineBenchmark.Load;

/// <summary>
/// Valid live events (event time = now) for the pipeline benchmarks: users drawn uniformly from a fixed pool, 80 % views,
/// 15 % cart additions, 5 % purchases, written with the contract's own serialiser and keyed by user id, as the Producer
/// sends them. Every event is one the pipeline counts: none is late, malformed or a duplicate.
/// </summary>
internal sealed class LiveEventSource
{
    private const int Products = 5_000;

    private static readonly string[] Categories = ["electronics", "books", "home", "toys", "fashion", "sports", "beauty", "garden"];
    private static readonly string[] Devices = ["mobile", "desktop", "tablet"];
    private static readonly string[] Channels = ["web", "app", "email", "ads"];

    private readonly Random _random;
    private readonly string[] _userIds;
    private readonly byte[][] _userKeys;
    private readonly string _sessionSuffix;

    /// <param name="users">Size of the user pool.</param>
    /// <param name="prefix">Prefix of the user ids.</param>
    /// <param name="seed">Seed of the choices.</param>
    /// <param name="sessionSuffix">Appended to each user's session id: one session per user and step.</param>
    public LiveEventSource(int users, string prefix, int seed, string sessionSuffix)
    {
        _random = new Random(seed);
        _sessionSuffix = sessionSuffix;
        _userIds = new string[users];
        _userKeys = new byte[users][];
        for (var i = 0; i < users; i++)
        {
            _userIds[i] = prefix + i.ToString(CultureInfo.InvariantCulture);
            _userKeys[i] = Encoding.UTF8.GetBytes(_userIds[i]);
        }
    }

    private long _primed;

    /// <summary>Whether <see cref="Next"/> first gives one event per user, in order (priming every user's grain).</summary>
    public bool PrimeUsers { get; init; }

    /// <summary>The next event, happening now: its Kafka key (the UTF-8 user id) and its JSON payload.</summary>
    public (byte[] Key, byte[] Value) Next()
    {
        var user = PrimeUsers && _primed < _userIds.Length ? (int)_primed++ : _random.Next(_userIds.Length);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var roll = _random.Next(100);
        var product = _random.Next(Products);
        var userEvent = new UserEvent
        {
            EventId = Guid.CreateVersion7(now),
            UserId = _userIds[user],
            SessionId = "s-" + _userIds[user] + _sessionSuffix,
            EventType = roll < 80 ? UserEventType.View : roll < 95 ? UserEventType.AddToCart : UserEventType.Purchase,
            ProductId = "p_" + product.ToString(CultureInfo.InvariantCulture),
            Category = Categories[product % Categories.Length],
            Price = 1m + (product * 7_919 % 50_000 / 100m),
            EventTime = now,
            Device = Devices[_random.Next(Devices.Length)],
            Channel = Channels[_random.Next(Channels.Length)],
        };
        return (_userKeys[user], UserEventJson.ToUtf8Bytes(userEvent));
    }
}
