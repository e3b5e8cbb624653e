using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Analytics.Grains.Interfaces.Events;

namespace Analytics.StreamingBenchmark.Workload;

/// <summary>
/// Valid user events for the benchmark, reproducible from a seed: users <c>user_0</c>..<c>user_{N-1}</c> drawn
/// uniformly, 80 % views, 15 % cart additions, 5 % purchases, each serialised with the contract's own writer and
/// keyed by its user id (as the Producer sends them, so that a user's events share a partition). With a warm-up, the
/// first N events are one per user in a shuffled order, so that every subscriber grain is active before the rest.
/// </summary>
internal sealed class EventGenerator
{
    private const int Products = 5_000;

    private static readonly string[] Categories = ["electronics", "books", "home", "toys", "fashion", "sports", "beauty", "garden"];
    private static readonly string[] Devices = ["mobile", "desktop", "tablet"];
    private static readonly string[] Channels = ["web", "app", "email", "ads"];

    // Fixed, in the past: the contract refuses event times more than a day ahead of the reader's clock.
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Random _random;
    private readonly string[] _userIds;
    private readonly byte[][] _userKeys;
    private readonly bool[] _seen;
    private readonly int[] _warmUpOrder;
    private long _generated;

    public EventGenerator(int users, int seed, bool warmUp)
    {
        _random = new Random(seed);
        _warmUpOrder = warmUp ? [.. Enumerable.Range(0, users)] : [];
        _random.Shuffle(_warmUpOrder);
        _userIds = new string[users];
        _userKeys = new byte[users][];
        for (var i = 0; i < users; i++)
        {
            _userIds[i] = "user_" + i.ToString(CultureInfo.InvariantCulture);
            _userKeys[i] = Encoding.UTF8.GetBytes(_userIds[i]);
        }

        _seen = new bool[users];
    }

    /// <summary>How many of the first events are the warm-up (one per user).</summary>
    public int WarmUpEvents => _warmUpOrder.Length;

    /// <summary>Users that have had at least one event so far (the subscriber grains the data set activates).</summary>
    public int DistinctUsers { get; private set; }

    /// <summary>Payload bytes generated so far.</summary>
    public long PayloadBytes { get; private set; }

    /// <summary>The next event: its Kafka key (the UTF-8 user id) and its JSON payload.</summary>
    public (byte[] Key, byte[] Value) Next()
    {
        var user = _generated < _warmUpOrder.Length ? _warmUpOrder[_generated] : _random.Next(_userIds.Length);
        if (!_seen[user])
        {
            _seen[user] = true;
            DistinctUsers++;
        }

        var time = Start.AddMilliseconds(_generated * 10);
        var roll = _random.Next(100);
        var type = roll < 80 ? UserEventType.View : roll < 95 ? UserEventType.AddToCart : UserEventType.Purchase;
        var product = _random.Next(Products);
        var userEvent = new UserEvent
        {
            EventId = UuidV7(time),
            UserId = _userIds[user],
            // A session per user and event-time hour: realistic enough, and short.
            SessionId = string.Create(CultureInfo.InvariantCulture, $"s{user}-{_generated / 360_000}"),
            EventType = type,
            ProductId = "p_" + product.ToString(CultureInfo.InvariantCulture),
            Category = Categories[product % Categories.Length],
            Price = 1m + (product * 7_919 % 50_000) / 100m,
            EventTime = time,
            Device = Devices[_random.Next(Devices.Length)],
            Channel = Channels[_random.Next(Channels.Length)],
        };
        _generated++;
        var payload = UserEventJson.ToUtf8Bytes(userEvent);
        PayloadBytes += payload.Length;
        return (_userKeys[user], payload);
    }

    /// <summary>A time-ordered UUID (RFC 9562 version 7) whose random bits come from the seeded generator.</summary>
    private Guid UuidV7(DateTimeOffset time)
    {
        Span<byte> bytes = stackalloc byte[16];
        _random.NextBytes(bytes[6..]);
        var milliseconds = time.ToUnixTimeMilliseconds();
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)(milliseconds >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], (uint)milliseconds);
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true);
    }
}
