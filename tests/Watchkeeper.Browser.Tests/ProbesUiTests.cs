using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Server.Probes;
using Watchkeeper.Server.Tests.Probes;
using Watchkeeper.Server.Uptime;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class ProbesUiTests
{
    [Fact]
    public async Task The_probes_page_shows_each_check_with_its_state_error_and_90_day_bars_and_fits_a_phone()
    {
        await using var server = await BrowserServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        server.Services.GetRequiredService<Watchkeeper.Server.Monitoring.Demo.DemoWorkload>().Get("web-interface")!.SetDown(true);
        await ProbeClock.RunAsync(server.Time, server.Services.GetRequiredService<ProbeScheduler>());
        await server.Services.GetRequiredService<UptimeRollup>().RunAsync(ct);

        var page = await server.LoginAsync();
        await page.ClickAsync("header.top nav a[href=\"/probes\"]");
        await Expect(page).ToHaveURLAsync(new Regex("/probes$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Probes");
        await Expect(page.Locator("#probe-counts")).ToContainTextAsync("/3 checks up");
        var down = page.Locator("section[data-probe=\"web-interface\"]");
        await Expect(down).ToHaveAttributeAsync("data-state", "down");
        await Expect(down.Locator(".probe-error")).ToContainTextAsync("503");
        var up = page.Locator("section[data-probe=\"watchkeeper-health\"]");
        await Expect(up).ToHaveAttributeAsync("data-state", "up");
        await Expect(up.Locator(".uptime-bars span")).ToHaveCountAsync(90);
        // Today's bar comes from the roll-up just written; earlier days have no data.
        await Expect(up.Locator(".uptime-bars span").Last).ToHaveClassAsync("ok");
        await Expect(down.Locator(".uptime-bars span").Last).ToHaveClassAsync("bad");
        await Expect(up.Locator(".uptime-bars span").First).ToHaveClassAsync("none");

        await page.ClickAsync("text=Show only failing checks");
        await Expect(page.Locator("section.probe[data-state=\"up\"]")).ToHaveCountAsync(0);
        await Expect(page.Locator("section.probe[data-probe=\"web-interface\"]")).ToHaveCountAsync(1);

        // The reports page carries the uptime section from the same roll-ups.
        await page.GotoAsync(page.Url.Replace("/probes?state=down", "/reports", StringComparison.Ordinal));
        await Expect(page.Locator("#uptime h2")).ToContainTextAsync("target 99.9%");
        await Expect(page.Locator("#uptime tr[data-service=\"web-interface\"][data-component=\"\"] td.over")).ToHaveTextAsync("0%");
        await Expect(page.Locator("#uptime tr[data-service=\"watchkeeper\"][data-component=\"api\"]")).ToContainTextAsync("100%");

        await page.SetViewportSizeAsync(390, 844);
        await page.GotoAsync(page.Url.Replace("/reports", "/probes", StringComparison.Ordinal));
        var width = await page.EvaluateAsync<int>("() => document.querySelector('main').scrollWidth");
        Assert.True(width <= 420, $"/probes main is {width}px wide on a 390px screen");
    }
}
