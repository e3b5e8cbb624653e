using Analytics.Grains.Interfaces.Funnel;
using Analytics.Grains.Funnel;
using Analytics.Grains.Interfaces.Events;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Analytics.Grains.Tests.Funnel;

/// <summary>A comparable copy of one <see cref="FunnelCounts"/>, so a whole funnel is checked in one assertion.</summary>
internal sealed record Counts(
    long Views, long AddToCarts, long Purchases, decimal Revenue, long UniqueViewers, long UniqueCarters, long UniquePurchasers);

/// <summary>A comparable copy of one <see cref="WindowUser"/>.</summary>
internal sealed record UserSnapshot(
    byte Steps, string CategorySteps, string DeviceSteps, string Offsets);

/// <summary>Builders, snapshots and the Orleans serializer for the funnel tests.</summary>
internal static class FunnelTestSupport
{
    /// <summary>The event time every contribution gets unless told otherwise (a window is one time range; the state ignores it).</summary>
    public static readonly DateTimeOffset EventTime = new(2026, 4, 1, 12, 3, 0, TimeSpan.Zero);

    private static readonly Serializer Serializer =
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    public static T RoundTrip<T>(T value)
        where T : class
    {
        var copy = Serializer.Deserialize<T>(Serializer.SerializeToArray(value));
        Assert.NotNull(copy);
        Assert.NotSame(value, copy);
        return copy;
    }

    public static WindowContribution Contribution(
        string userId,
        UserEventType type,
        string category,
        string? device,
        decimal price,
        (int Epoch, int Partition, long Offset)? position) => new()
        {
            UserId = userId,
            EventType = type,
            Category = category,
            Device = device,
            Price = price,
            EventTime = EventTime,
            Position = position,
        };

    public static Counts Snapshot(FunnelCounts counts) => new(
        counts.Views, counts.AddToCarts, counts.Purchases, counts.Revenue, counts.UniqueViewers, counts.UniqueCarters, counts.UniquePurchasers);

    /// <summary>Every funnel of the window, keyed <c>total</c>, <c>category:…</c> and <c>device:…</c>, in key order.</summary>
    public static SortedDictionary<string, Counts> Funnels(FunnelWindowState state)
    {
        var funnels = new SortedDictionary<string, Counts>(StringComparer.Ordinal) { ["total"] = Snapshot(state.Total) };
        foreach (var (category, counts) in state.ByCategory) funnels[$"category:{category}"] = Snapshot(counts);
        foreach (var (device, counts) in state.ByDevice) funnels[$"device:{device}"] = Snapshot(counts);
        return funnels;
    }

    public static SortedDictionary<string, UserSnapshot> UserSnapshots(FunnelWindowState state)
    {
        var users = new SortedDictionary<string, UserSnapshot>(StringComparer.Ordinal);
        foreach (var (userId, user) in state.Users)
        {
            users[userId] = new UserSnapshot(user.Steps, Flatten(user.CategorySteps), Flatten(user.DeviceSteps), FlattenOffsets(user.Offsets));
        }

        return users;
    }

    private static string FlattenOffsets(Dictionary<(int Epoch, int Partition), long> offsets)
        => string.Join(",", offsets.OrderBy(o => o.Key).Select(o => $"{o.Key.Epoch}/{o.Key.Partition}@{o.Value}"));

    private static string Flatten(Dictionary<string, byte> steps)
        => string.Join(',', steps.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));
}
