using System.Globalization;
using Analytics.Grains.Interfaces.Funnel;
using Analytics.Storage;

namespace Analytics.WebApi.Apis;

/// <summary>The funnel windows, read from <c>funnel_summary</c> and <c>funnel_breakdown</c> (one indexed query, no grain scan).</summary>
public static class FunnelApi
{
    private const int MaxHours = 24 * 31;
    private static readonly TimeSpan MaxRange = TimeSpan.FromDays(31);
    private static readonly TimeSpan DefaultRange = TimeSpan.FromHours(24);

    public static IEndpointRouteBuilder MapFunnelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/funnel/windows", GetRecentAsync)
            .WithName("GetRecentFunnelWindows")
            .WithSummary("The funnel windows that started in the last `hours` hours (default 24), oldest first, with their category and device breakdowns and their ordered (per-session) funnel.")
            .ProducesValidationProblem();
        app.MapGet("/api/funnel", GetRangeAsync)
            .WithName("GetFunnelWindows")
            .WithSummary("The funnel windows whose start is in [from, to) (ISO-8601 times; to defaults to now, from to 24 hours before to; at most 31 days), oldest first, as /api/funnel/windows returns them.")
            .Produces<IEnumerable<FunnelWindowView>>()
            .ProducesValidationProblem();
        return app;
    }

    // Times are bound as text: a failed binding of a DateTimeOffset parameter would be a bare 400 that names nothing.
    private static async Task<IResult> GetRangeAsync(FunnelStore store, TimeProvider time, CancellationToken cancellationToken, string? from = null, string? to = null)
    {
        var errors = new Dictionary<string, string[]>();
        var end = Parse(to, nameof(to), errors) ?? time.GetUtcNow();
        var start = Parse(from, nameof(from), errors) ?? end - DefaultRange;
        if (errors.Count == 0 && start >= end)
        {
            errors[nameof(from)] = [$"from ({start:O}) must be earlier than to ({end:O})."];
        }
        else if (errors.Count == 0 && end - start > MaxRange)
        {
            errors[nameof(from)] = [$"The range from {start:O} to {end:O} is longer than {MaxRange.TotalDays:0} days."];
        }

        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid query");
        var windows = await store.ReadRangeAsync(start, end, cancellationToken);
        return TypedResults.Ok(windows.Select(FunnelWindowView.From));
    }

    private static DateTimeOffset? Parse(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (value is null) return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) return parsed;
        errors[name] = [$"{name} must be an ISO-8601 time such as 2024-05-01T12:00:00Z (was '{value}'; write a '+' offset as %2B)."];
        return null;
    }

    private static async Task<IResult> GetRecentAsync(FunnelStore store, TimeProvider time, CancellationToken cancellationToken, int? hours = null)
    {
        var span = hours ?? 24;
        if (span is < 1 or > MaxHours)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["hours"] = [$"hours must be between 1 and {MaxHours} (was {span})."] },
                title: "Invalid query");
        }

        var windows = await store.ReadRecentAsync(time.GetUtcNow().AddHours(-span), cancellationToken);
        return TypedResults.Ok(windows.Select(FunnelWindowView.From));
    }
}

/// <summary>One window as <c>GET /api/funnel/windows</c> and <c>GET /api/funnel</c> return it.</summary>
public sealed record FunnelWindowView(
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    bool IsFinal,
    long LateEvents,
    long Users,
    FunnelStepCounts Total,
    IReadOnlyDictionary<string, FunnelStepCounts> ByCategory,
    IReadOnlyDictionary<string, FunnelStepCounts> ByDevice,
    OrderedFunnel Ordered)
{
    public static FunnelWindowView From(FunnelWindowSnapshot window) => new(
        window.WindowStart, window.WindowEnd, window.IsFinal, window.LateEvents, window.Users, window.Total, window.ByCategory, window.ByDevice, window.Ordered);
}
