using System.Text.RegularExpressions;
using Watchkeeper.Server.Incidents;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class OverviewUiTests
{
    [Fact]
    public async Task The_brand_leads_to_the_overview_which_leads_to_an_open_incident_on_a_phone_sized_window()
    {
        await using var server = await BrowserServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var open = await server.Incidents.CreateAsync(new CreateIncidentRequest("Payments failing", "operational", "SEV1", null, null, null, null, null, null, null, null, null), "admin", ct);
        var page = await server.LoginAsync();
        await page.SetViewportSizeAsync(390, 844);

        await page.ClickAsync("header.top a.brand");
        await Expect(page).ToHaveURLAsync(new Regex("/$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Overview");
        var row = page.Locator($"#incidents tr[data-id=\"{open.Id}\"]");
        await Expect(row).ToContainTextAsync("Payments failing");
        await Expect(row).ToContainTextAsync("acknowledge");
        await Expect(page.Locator("#services h2")).ToContainTextAsync("Services");
        // Nothing wider than the phone's screen but the incidents table, which scrolls inside its panel.
        var width = await page.EvaluateAsync<int>("() => document.querySelector('main').scrollWidth");
        Assert.True(width <= 420, $"main is {width}px wide on a 390px screen");

        await page.ClickAsync(".head >> text=stop");
        await Expect(page).ToHaveURLAsync(new Regex(@"/\?refresh=0$"));
        await Expect(page.Locator(".head")).ToContainTextAsync("Auto-reload is off");
        await row.Locator("a").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/incidents/{open.Id}$"));
    }
}
