using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Tests;
using static Watchkeeper.MonitoringBrowser.Tests.MonitoringBrowser;

namespace Watchkeeper.MonitoringBrowser.Tests;

/// <summary>The server status pages in a real Chromium: navigation between them, cardinality tables, a phone.</summary>
public sealed class ServerStatusBrowserTests
{
    [Fact]
    public async Task Status_pages_navigate_show_cardinality_and_fit_a_phone()
    {
        var (pw, browser) = await LaunchAsync();
        using var _ = pw;
        await using var __ = browser;
        await using var s = await TestServer.StartAsync();
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var app = runtime.Store.Appender();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < 500; i++) app.Append(Labels.Of("__name__", "wk_browser_cardinality", "user_id", "u" + i), now - 1000, i);
        app.Commit();

        var page = await LoginAsync(browser, s, 1440, 900);
        await page.GotoAsync(new Uri(s.BaseAddress, "/").ToString());
        await page.ClickAsync("nav a[href='/runtime']");
        await page.WaitForURLAsync(u => u.EndsWith("/runtime", StringComparison.Ordinal));
        Assert.Contains("Runtime information", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        await page.ClickAsync(".wk-tabs a[href='/tsdb-status']");
        await page.WaitForURLAsync(u => u.Contains("/tsdb-status", StringComparison.Ordinal));
        // The metric that blew up the head is the first row of the first table.
        Assert.Equal("wk_browser_cardinality", await page.Locator("table.wk-cardinality").First.Locator("tbody tr td").First.InnerTextAsync());
        await page.ClickAsync(".wk-tabs a[href='/config']");
        await page.WaitForURLAsync(u => u.EndsWith("/config", StringComparison.Ordinal));
        Assert.Contains("scrape_configs", await page.Locator("pre.wk-yaml").First.InnerTextAsync(), StringComparison.Ordinal);

        var phone = await LoginAsync(browser, s, 390, 844);
        foreach (var path in new[] { "/runtime", "/tsdb-status", "/service-discovery", "/config" })
        {
            await phone.GotoAsync(new Uri(s.BaseAddress, path).ToString());
            await AssertNoHorizontalOverflowAsync(phone, path);
        }
    }
}
