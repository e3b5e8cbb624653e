using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Analytics.Grains.Interfaces.Churn;
using Analytics.Grains.Interfaces.Events;
using Analytics.TestInfrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Analytics.WebApi.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, headless, driven by Playwright) against the real web API, its
/// SignalR hub and the pipeline behind it: the numbers appear, follow new events without a reload, and the churn panel fills.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed partial class DashboardBrowserTests(PipelineHarness pipeline, ITestOutputHelper output)
{
    /// <summary>Debian's chromium: Playwright's own browser downloads are not available here, and never needed.</summary>
    private const string Chromium = "/usr/bin/chromium";

    private static readonly TimeSpan WindowSize = TimeSpan.FromMinutes(10);
    private static readonly LocatorAssertionsToHaveTextOptions Patiently = new() { Timeout = 30_000 };

    [Fact]
    public async Task Dashboard_ShowsTheFunnel_FollowsNewEventsWithoutReload_AndFillsTheChurnPanel()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = pipeline.ApiAddress.ToString(),
            TimezoneId = "UTC", // the page shows window times in the browser's zone
            Locale = "en-GB",
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning") problems.Add($"console {message.Type}: {message.Text}");
        };
        page.PageError += (_, error) => problems.Add($"page error: {error}");
        var navigations = 0;
        page.FrameNavigated += (_, frame) =>
        {
            if (frame == page.MainFrame) navigations++;
        };

        await page.GotoAsync("/");
        await Expect(page).ToHaveTitleAsync(new Regex("^User analytics"));
        await Expect(page.GetByTestId("connection-status")).ToHaveTextAsync("connected", Patiently);

        // The snapshot: the funnel of the newest window and the chart of recent windows.
        var viewsCurrent = page.GetByTestId("views-current");
        await Expect(viewsCurrent).ToHaveTextAsync(Number(), Patiently);
        await Expect(page.GetByTestId("windows-summary")).ToHaveTextAsync(new Regex(@"^\d+ windows, \d+ open$"), Patiently);
        await Expect(page.GetByTestId("raw-events")).ToHaveTextAsync(Number(), Patiently);
        var labelBefore = await page.GetByTestId("current-window").TextContentAsync() ?? "";
        var viewsBefore = ParseCount(await viewsCurrent.TextContentAsync());
        output.WriteLine($"before: {labelBefore}, {viewsBefore} views");
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");

        // Three views now, by a new user: the current window becomes (or stays) the present one and counts them.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var windowStart = new DateTimeOffset(now.UtcTicks / WindowSize.Ticks * WindowSize.Ticks, TimeSpan.Zero);
        var windowLabel = windowStart.ToString("HH:mm", CultureInfo.InvariantCulture);
        var user = "browser_" + Guid.NewGuid().ToString("N")[..8];
        await pipeline.ProduceAsync(Enumerable.Range(0, 3).Select(i => new UserEvent
        {
            EventId = Guid.CreateVersion7(),
            UserId = user,
            SessionId = "s-browser",
            EventType = UserEventType.View,
            ProductId = $"p-{i}",
            Category = "books",
            Price = 10m + i,
            EventTime = now,
            Device = "desktop",
            Channel = "email",
        }));

        var alreadyCurrent = labelBefore.Contains($"window {windowLabel}", StringComparison.Ordinal);
        await Expect(page.GetByTestId("current-window")).ToContainTextAsync($"window {windowLabel}", new() { Timeout = 30_000 });
        await Eventually.UntilAsync(
            async () => ParseCount(await viewsCurrent.TextContentAsync()) is { } views && views >= 3 && (!alreadyCurrent || views >= viewsBefore + 3),
            TimeSpan.FromSeconds(30),
            "the page to count the three new views in the current window");

        // What the page shows is what the API serves for that window (both settle on the stored counts).
        using var http = new HttpClient { BaseAddress = pipeline.ApiAddress };
        long? apiViews = null;
        long? pageViews = null;
        await Eventually.UntilAsync(
            async () =>
            {
                apiViews = ViewsOf(await http.GetFromJsonAsync<JsonElement>("/api/funnel/windows?hours=1"), windowStart);
                pageViews = ParseCount(await viewsCurrent.TextContentAsync());
                return apiViews is not null && apiViews == pageViews;
            },
            TimeSpan.FromSeconds(30),
            "the page's views of the current window to equal GET /api/funnel/windows'");
        output.WriteLine($"after: {await page.GetByTestId("current-window").TextContentAsync()}, {pageViews} views (API: {apiViews})");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        Assert.Equal(1, navigations);

        // The churn panel: a scoring pass now, pushed to the page.
        var cluster = pipeline.ApiServices.GetRequiredService<IClusterClient>();
        var totals = await cluster.GetGrain<IChurnScoringGrain>(IChurnScoringGrain.Key).ScoreNowAsync();
        Assert.NotNull(totals.ModelVersion);
        await Expect(page.GetByTestId("churn-model")).ToHaveTextAsync(totals.ModelVersion, Patiently);
        await Expect(page.GetByTestId("churn-churned")).ToHaveTextAsync(Number(), Patiently);
        await Expect(page.GetByTestId("churn-not-churned")).ToHaveTextAsync(Number(), Patiently);
        var atRisk = page.GetByTestId("at-risk-list").Locator("li a[href^='/api/users/']");
        await Expect(atRisk.First).ToBeVisibleAsync(new() { Timeout = 30_000 });
        Assert.Equal($"/api/users/{totals.AtRisk[0].UserId}", await atRisk.First.GetAttributeAsync("href"));

        await Expect(page.GetByTestId("health-status")).ToHaveTextAsync(new Regex("^(Healthy|Degraded|Unhealthy)$"), Patiently);
        await Expect(page.GetByTestId("connection-status")).ToHaveTextAsync("connected");

        await SaveScreenshotsAsync(page);
        Assert.True(problems.Count == 0, "the page logged problems:\n" + string.Join("\n", problems));
    }

    [Fact]
    public async Task ApiDocs_RenderTheOpenApiDocument()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = pipeline.ApiAddress.ToString() });

        await page.GotoAsync("/");
        await page.GetByTestId("api-docs-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/api-docs\\.html$"));
        // swagger-ui lists each operation; the funnel endpoint is one of them.
        await Expect(page.Locator(".opblock-summary-path", new() { HasText = "/api/funnel/windows" }).First).ToBeVisibleAsync(new() { Timeout = 30_000 });
    }

    private async Task SaveScreenshotsAsync(IPage page)
    {
        var laptop = Path.Combine(AppContext.BaseDirectory, "dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = laptop, FullPage = true });
        output.WriteLine($"screenshot: {laptop}");
        var requested = Environment.GetEnvironmentVariable("DASHBOARD_SCREENSHOT");
        if (!string.IsNullOrWhiteSpace(requested))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(requested))!);
            File.Copy(laptop, requested, overwrite: true);
            output.WriteLine($"screenshot: {requested}");
        }

        await page.SetViewportSizeAsync(390, 844);
        var phone = Path.Combine(AppContext.BaseDirectory, "dashboard-phone.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = phone, FullPage = true });
        output.WriteLine($"screenshot: {phone}");
    }

    private static Regex Number() => NumberPattern();

    [GeneratedRegex(@"^\d[\d,]*$")]
    private static partial Regex NumberPattern();

    private static long? ParseCount(string? text) =>
        long.TryParse(text?.Replace(",", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static long? ViewsOf(JsonElement windows, DateTimeOffset start) => windows.EnumerateArray()
        .Where(w => w.GetProperty("windowStart").GetDateTimeOffset() == start)
        .Select(w => (long?)w.GetProperty("total").GetProperty("views").GetInt64())
        .FirstOrDefault();
}
