using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Server.Rules;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class RulesUiTests
{
    [Fact]
    public async Task The_rules_page_shows_the_shipped_rules_with_state_and_health_and_filters_by_state()
    {
        await using var server = await BrowserServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var runtime = server.Services.GetRequiredService<RulesRuntime>();
        // Every shipped group evaluates once on the fake clock.
        for (var i = 0; i < 120 && !(runtime.Manager?.Groups is { Count: > 0 } gs && gs.All(g => g.LastEvaluation is not null)); i++)
        {
            server.Time.Advance(TimeSpan.FromSeconds(1));
            for (var k = 0; k < 20 && !(runtime.Manager?.Groups is { Count: > 0 } g2 && g2.All(g => g.LastEvaluation is not null)); k++) await Task.Delay(2, ct);
        }
        var page = await server.LoginAsync();

        await page.ClickAsync("header.top nav a[href=\"/rules\"]");
        await Expect(page).ToHaveURLAsync(new Regex("/rules$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Rules");
        await Expect(page.Locator("section[data-group=\"openpolicy-alerts\"] h2")).ToHaveTextAsync("openpolicy-alerts");
        var row = page.Locator("tr[data-rule=\"ServiceDown\"]");
        await Expect(row).ToHaveAttributeAsync("data-state", "inactive");
        await Expect(row).ToHaveAttributeAsync("data-health", "ok");
        await Expect(row.Locator("pre")).ToContainTextAsync("expr: up{job=~\"api-service|web-interface\"} == 0");
        await Expect(row.Locator("pre")).ToContainTextAsync("summary: Service {{ $labels.job }} is down");
        await Expect(page.Locator("tr[data-rule=\"job:http_requests_error_ratio:rate5m\"]")).ToContainTextAsync("recording");

        await page.ClickAsync("nav[aria-label=\"Filter rules\"] >> text=Firing");
        await Expect(page).ToHaveURLAsync(new Regex(@"/rules\?state=firing$"));
        await Expect(page.Locator("tr[data-rule=\"ServiceDown\"]")).ToHaveCountAsync(0);
        await page.ClickAsync("nav[aria-label=\"Filter rules\"] >> text=Inactive");
        await Expect(page.Locator("tr[data-rule=\"HighErrorRate\"]")).ToHaveCountAsync(1);
    }
}
