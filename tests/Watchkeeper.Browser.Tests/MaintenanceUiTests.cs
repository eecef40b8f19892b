using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Server.StatusPage;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class MaintenanceUiTests
{
    /// <summary>
    /// Without JavaScript on a 390 px phone: an admin schedules a window on /maintenance, starts it, the public /status
    /// shows the component under maintenance, then validates and completes it on the run's page.
    /// </summary>
    [Fact]
    public async Task Schedule_start_see_it_on_the_status_page_validate_and_complete_without_script_on_a_phone()
    {
        await using var server = await BrowserServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var page = await server.LoginAsync(javaScript: false, width: 390, height: 844);

        // The server's clock is 2026-11-02 09:00 UTC.
        await page.GotoAsync("/maintenance");
        await Expect(page.Locator("#window-weekly-updates")).ToContainTextAsync("cron 0 2 * * SUN");
        await page.FillAsync("#s-id", "cache-resize");
        await page.FillAsync("#s-title", "Cache resize");
        await page.FillAsync("#s-zone", "Europe/London");
        await page.FillAsync("#s-start", "2026-11-02T09:00");
        await page.FillAsync("#s-end", "2026-11-02T08:00");
        await page.CheckAsync("input[name=components][value=cache]");
        await page.FillAsync("#s-promql", "vector(1)");
        await page.ClickAsync("#schedule-form button[type=submit]");
        // A window that ends before it starts: refused, the form keeps its values and marks the field.
        await Expect(page.Locator("#schedule-error")).ToContainTextAsync("before it starts");
        await Expect(page.Locator("#s-end")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#s-title")).ToHaveValueAsync("Cache resize");
        await page.FillAsync("#s-end", "2026-11-02T11:00");
        await page.ClickAsync("#schedule-form button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/maintenance\\?scheduled=cache-resize"));
        await Expect(page.Locator("#calendar tr[data-window=cache-resize]")).ToContainTextAsync("not started");

        // Start it: the rollback plan is required.
        await page.ClickAsync("#window-cache-resize summary");
        await page.ClickAsync("#start-cache-resize button[type=submit]");
        await Expect(page.Locator("#start-cache-resize-error")).ToContainTextAsync("rollback plan");
        await page.FillAsync("#start-cache-resize-plan", "Scale the cache back to 4 GB");
        await page.FillAsync("#start-cache-resize-team", "admin, rita");
        await page.ClickAsync("#start-cache-resize button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex("/maintenance/runs/\\d+$"));
        await Expect(page.Locator("#run-state")).ToHaveTextAsync("In progress");
        await Expect(page.Locator("#checklist li[data-done=true]", new() { HasText = "Create system backups" })).ToContainTextAsync("backup watchkeeper-");
        var runUrl = page.Url;

        // The public page, no login, no script: the cache is under maintenance and the maintenance is listed.
        await server.Services.GetRequiredService<StatusSnapshots>().RefreshAsync(force: true, ct);
        await using var visitor = await server.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString().TrimEnd('/'), ViewportSize = new ViewportSize { Width = 390, Height = 844 }, JavaScriptEnabled = false,
        });
        var pub = await visitor.NewPageAsync();
        await pub.GotoAsync("/status");
        await Expect(pub.Locator("#component-cache")).ToContainTextAsync("Under maintenance");
        await Expect(pub.Locator("#maintenance")).ToContainTextAsync("Cache resize");

        // Validate, then complete.
        await page.ClickAsync("#validate-form button[type=submit]");
        await Expect(page.Locator("#run-state")).ToHaveTextAsync("Validating");
        await Expect(page.Locator("#validations h3[data-attempt='1']")).ToContainTextAsync("passed");
        await Expect(page.Locator("#validations tr[data-passed=true]")).ToContainTextAsync("vector(1)");
        await page.FillAsync("#r-summary", "Resized to 8 GB; hit rate unchanged");
        await page.ClickAsync("#complete-form button[type=submit]");
        await Expect(page.Locator("#run-state")).ToHaveTextAsync("Completed");
        Assert.Equal(0, await page.Locator("#checklist li[data-done=false]").CountAsync());
        await Expect(page.Locator("#timeline")).ToContainTextAsync("follow-up review due");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "maintenance-run-phone.png"), FullPage = true });

        await server.Services.GetRequiredService<StatusSnapshots>().RefreshAsync(force: true, ct);
        // A new URL: the page allows caching for 10 s (Cache-Control max-age=10), and the browser would show the old copy.
        await pub.GotoAsync("/status?after=complete");
        await Expect(pub.Locator("#component-cache")).ToContainTextAsync("Operational");

        // Nothing is wider than the phone (measured with script on).
        var m = await server.LoginAsync(width: 390, height: 844);
        foreach (var path in new[] { "/maintenance", "/maintenance/runs", new Uri(runUrl).AbsolutePath })
        {
            await m.GotoAsync(path);
            var width = await m.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
            Assert.True(width <= 390, $"{path} is {width}px wide on a 390px screen");
        }
    }
}
