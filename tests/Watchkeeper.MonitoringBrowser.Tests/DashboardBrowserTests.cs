using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Tests;
using static Watchkeeper.MonitoringBrowser.Tests.MonitoringBrowser;

namespace Watchkeeper.MonitoringBrowser.Tests;

/// <summary>Dashboards in a real Chromium: the shipped overview with values, time range and variable pickers, Grafana import, a phone.</summary>
public sealed class DashboardBrowserTests
{
    /// <summary>
    /// The demo's series shape over the last hour, with known values: both services up, api-service answering 500 at
    /// 0.5/s on /api/v1/users and 2xx on two paths, and latency buckets filled so that p95 is 0.25 s.
    /// </summary>
    private static void AppendServiceData(TestServer s)
    {
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var app = runtime.Store.Appender();
        for (var t = now - 3_600_000; t <= now; t += 15_000)
        {
            var sec = (t - (now - 3_600_000)) / 1000.0;
            foreach (var job in new[] { "api-service", "web-interface" })
                app.Append(Labels.Of("__name__", "up", "instance", "127.0.0.1:1", "job", job), t, 1);
            app.Append(Labels.Of("__name__", "http_requests_total", "instance", "127.0.0.1:1", "job", "api-service", "method", "GET", "path", "/api/v1/users", "status", "500"), t, 0.5 * sec);
            app.Append(Labels.Of("__name__", "http_requests_total", "instance", "127.0.0.1:1", "job", "api-service", "method", "GET", "path", "/api/v1/users", "status", "200"), t, 10 * sec);
            app.Append(Labels.Of("__name__", "http_requests_total", "instance", "127.0.0.1:1", "job", "api-service", "method", "GET", "path", "/api/v1/orders", "status", "200"), t, 4 * sec);
            foreach (var (le, share) in new[] { ("0.1", 0.5), ("0.25", 0.95), ("0.5", 1.0), ("+Inf", 1.0) })
                app.Append(Labels.Of("__name__", "http_request_duration_seconds_bucket", "instance", "127.0.0.1:1", "job", "api-service", "le", le, "method", "GET", "path", "/api/v1/users"), t, 10 * sec * share);
        }
        app.Commit();
    }

    [Fact]
    public async Task Overview_dashboard_shows_values_and_follows_the_time_range_and_variables()
    {
        var (pw, browser) = await LaunchAsync();
        using var _ = pw;
        await using var __ = browser;
        await using var s = await TestServer.StartAsync();
        AppendServiceData(s);
        var page = await LoginAsync(browser, s);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);

        await page.GotoAsync(new Uri(s.BaseAddress, "/dashboards").ToString());
        await page.ClickAsync("a.wk-dash-link:text('Open Policy Platform Overview')");
        await page.WaitForURLAsync(u => u.Contains("/dashboards/openpolicy-overview", StringComparison.Ordinal));

        // Platform Health: one stat per job, value 1 in the "up" colour; the graphs drawn by uPlot with values in the legend.
        var health = page.Locator("section[aria-label='Platform Health']");
        Assert.Equal(["api-service", "web-interface"], await health.Locator(".wk-stat-name").AllInnerTextsAsync());
        Assert.Equal(["1", "1"], await health.Locator(".wk-stat-value").AllInnerTextsAsync());
        var errorsPanel = page.Locator("section[aria-label='Error Rate']");
        var legend = await errorsPanel.Locator(".wk-legend tbody tr").AllInnerTextsAsync();
        Assert.Single(legend);
        Assert.StartsWith("5xx errors\t0.5 req/s", legend[0], StringComparison.Ordinal);
        var latency = await page.Locator("section[aria-label='API Response Time'] .wk-legend tbody td:nth-child(2)").AllInnerTextsAsync();
        Assert.Contains("250 ms", latency);
        await page.WaitForSelectorAsync("#wk-dash-grid[data-charts='2']", new PageWaitForSelectorOptions { Timeout = 15_000 });
        Assert.Equal(2, await page.Locator(".wk-ts[data-state=drawn] canvas").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-overview.png"), FullPage = true });

        // Time range: the picker applies on change and the URL keeps it.
        await page.SelectOptionAsync("#wk-quick", "now-6h");
        await WaitForUrlAsync(page, u => u.Contains("quick=now-6h", StringComparison.Ordinal), "the quick range");
        Assert.Equal("now-6h", await page.InputValueAsync("#wk-from"));
        Assert.Equal(2, await page.Locator(".wk-ts[data-state=drawn]").CountAsync());

        // A variable: api-service filtered to one path; the request panel's legend follows.
        await page.GotoAsync(new Uri(s.BaseAddress, "/dashboards/openpolicy-api-service").ToString());
        var paths = page.Locator("section[aria-label='Requests by path'] .wk-legend tbody tr td:first-child");
        Assert.Equal(["GET /api/v1/orders", "GET /api/v1/users"], (await paths.AllInnerTextsAsync()).Order(StringComparer.Ordinal));
        await page.SelectOptionAsync("select[data-var=path]", ["/api/v1/orders"]);
        await WaitForUrlAsync(page, u => u.Contains("var-path=%2Fapi%2Fv1%2Forders", StringComparison.Ordinal), "the path variable");
        Assert.Equal(["GET /api/v1/orders"], await page.Locator("section[aria-label='Requests by path'] .wk-legend tbody tr td:first-child").AllInnerTextsAsync());
        Assert.Equal("4 req/s", await page.Locator("section[aria-label='Requests per second'] .wk-stat-value").InnerTextAsync());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task A_grafana_dashboard_imports_from_a_file_and_fits_a_phone()
    {
        var (pw, browser) = await LaunchAsync();
        using var _ = pw;
        await using var __ = browser;
        await using var s = await TestServer.StartAsync();
        AppendServiceData(s);
        var page = await LoginAsync(browser, s);

        await page.GotoAsync(new Uri(s.BaseAddress, "/dashboards").ToString());
        await page.SetInputFilesAsync("input[type=file][name=file]", Path.Combine(TestServer.RepoRoot, "tests", "TestData", "dashboards", "node-exporter-full.json"));
        await page.ClickAsync("section.wk-import button[type=submit]");
        await page.WaitForURLAsync(u => u.Contains("/dashboards/rYdddlPWk", StringComparison.Ordinal));
        Assert.Equal("Node Exporter Full (test copy)", await page.Locator("h1").InnerTextAsync());
        Assert.Contains("piechart", await page.Locator("section[aria-label='Filesystem types (plugin panel)'] .wk-placeholder").InnerTextAsync(), StringComparison.Ordinal);
        // A collapsed row opens through its link (the URL keeps it).
        await page.ClickAsync(".wk-drow a:text('CPU / Memory / Net / Disk')");
        await page.WaitForURLAsync(u => u.Contains("open=", StringComparison.Ordinal));
        Assert.Equal(1, await page.Locator("section[aria-label='Disk IOps']").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-imported.png"), FullPage = true });

        var phone = await LoginAsync(browser, s, 390, 844);
        foreach (var path in new[] { "/dashboards", "/dashboards/openpolicy-overview", "/dashboards/openpolicy-system-overview", "/dashboards/rYdddlPWk" })
        {
            await phone.GotoAsync(new Uri(s.BaseAddress, path).ToString());
            await AssertNoHorizontalOverflowAsync(phone, path);
        }
        await phone.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("dashboard-phone.png"), FullPage = true });
    }
}
