using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.MonitoringBrowser.Tests;

/// <summary>The server status pages in a real Chromium: navigation between them, cardinality tables, a phone.</summary>
public sealed class ServerStatusBrowserTests
{
    private static readonly string[] ChromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

    private static async Task<(IPlaywright Pw, IBrowser Browser)> LaunchAsync()
    {
        string? chromium = null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (chromium is null && File.Exists(Path.Combine(dir, name))) chromium = Path.Combine(dir, name);
        if (chromium is null)
        {
            const string missing = "chromium is not on PATH: install Debian's chromium package to run the browser tests (playwright install is not used).";
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("CI is set and a peer is missing: " + missing);
            Assert.Skip(missing);
        }
        var pw = await Playwright.CreateAsync();
        return (pw, await pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs }));
    }

    private static async Task<IPage> LoginAsync(IBrowser browser, TestServer s, int width, int height)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        page.SetDefaultNavigationTimeout(60_000);
        await page.GotoAsync(new Uri(s.BaseAddress, "/login").ToString());
        await page.FillAsync("input[name=username]", "admin");
        await page.FillAsync("input[name=password]", TestServer.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(u => !u.Contains("/login", StringComparison.Ordinal));
        return page;
    }

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
            var w = await phone.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
            Assert.True(w[0] <= w[1], $"{path}: scrollWidth {w[0]} > clientWidth {w[1]}");
        }
    }
}
