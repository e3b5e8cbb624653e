using Analytics.Grains.Interfaces.Funnel;
using Analytics.Storage;

namespace Analytics.WebApi.Apis;

/// <summary>The funnel windows, read from <c>funnel_summary</c> and <c>funnel_breakdown</c> (one indexed query, no grain scan).</summary>
public static class FunnelApi
{
    private const int MaxHours = 24 * 31;

    public static IEndpointRouteBuilder MapFunnelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/funnel/windows", GetRecentAsync)
            .WithName("GetRecentFunnelWindows")
            .WithSummary("The funnel windows that started in the last `hours` hours (default 24), oldest first, with their category and device breakdowns and their ordered (per-session) funnel.")
            .ProducesValidationProblem();
        return app;
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

/// <summary>One window as <c>GET /api/funnel/windows</c> returns it.</summary>
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
