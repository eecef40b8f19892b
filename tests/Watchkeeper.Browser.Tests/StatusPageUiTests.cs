using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.StatusPage;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class StatusPageUiTests
{
    [Fact]
    public async Task The_public_page_reads_without_script_on_a_phone_and_a_desktop_and_admins_manage_subscribers()
    {
        await using var server = await BrowserServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var incident = await server.Incidents.CreateAsync(new CreateIncidentRequest("Checkout errors", "operational", "SEV2", null, null,
            ["api-service"], null, null, null, null, null, null), "admin", ct);
        await server.Incidents.PostStatusUpdateAsync(incident.Id, new StatusUpdateRequest("Some payments fail; we are investigating.", "public", null, null), null, "admin", ct);
        await server.Incidents.PostStatusUpdateAsync(incident.Id, new StatusUpdateRequest("INTERNAL: suspect the new release", "internal", null, null), null, "admin", ct);
        await server.Services.GetRequiredService<StatusSnapshots>().RefreshAsync(force: true, ct);

        // A visitor without JavaScript, on a phone.
        await using var phone = await server.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            JavaScriptEnabled = false,
            IsMobile = true,
        });
        var page = await phone.NewPageAsync();
        await page.GotoAsync("/status");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Open Policy Platform status");
        await Expect(page.Locator("#overall")).ToContainTextAsync("Partial outage");
        await Expect(page.Locator("#component-api-service")).ToContainTextAsync("Partial outage");
        await Expect(page.Locator("#component-cache")).ToContainTextAsync("Operational");
        await Expect(page.Locator($"#incident-{incident.Id}")).ToContainTextAsync("Some payments fail; we are investigating.");
        await Expect(page.Locator("body")).Not.ToContainTextAsync("INTERNAL");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "status-phone.png"), FullPage = true });

        // Subscribing with a bad URL answers with a readable page, still without script.
        await page.FillAsync("#sub-webhook", "ftp://example.org/hook");
        await page.ClickAsync("form:has(#sub-webhook) button[type=submit]");
        await Expect(page.Locator("#message")).ToContainTextAsync("Not subscribed");
        await page.GotoAsync("/status");
        await page.FillAsync("#sub-webhook", "https://hooks.example.org/status");
        await page.ClickAsync("form:has(#sub-webhook) button[type=submit]");
        await Expect(page.Locator("#message")).ToContainTextAsync("Verify your webhook");

        // Nothing is wider than the phone (measured with script on, in a context of its own).
        await using var measured = await server.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        });
        var m = await measured.NewPageAsync();
        await m.GotoAsync("/status");
        var width = await m.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(width <= 390, $"/status is {width}px wide on a 390px screen");

        // A desktop visitor sees the same page, laid out in one readable column.
        var desktop = await server.LoginAsync();
        await desktop.GotoAsync("/status");
        await Expect(desktop.Locator("#group-platform")).ToContainTextAsync("API");
        await Expect(desktop.Locator("#group-data")).ToContainTextAsync("Database");
        var column = await desktop.EvaluateAsync<int>("() => document.querySelector('main').getBoundingClientRect().width");
        Assert.True(column <= 800, $"the status column is {column}px wide on a desktop");
        await desktop.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "status-desktop.png"), FullPage = true });

        // The admin's subscriber list shows the address; deleting removes it.
        await desktop.GotoAsync("/status-page/subscribers");
        await Expect(desktop.Locator("#subscribers")).ToContainTextAsync("https://hooks.example.org/status");
        await desktop.ClickAsync("#subscribers button.danger");
        await Expect(desktop).ToHaveURLAsync(new Regex("/status-page/subscribers\\?deleted=1$"));
        await Expect(desktop.Locator("#no-subscribers")).ToBeVisibleAsync();
    }
}
