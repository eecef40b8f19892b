using Microsoft.Playwright;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.MonitoringBrowser.Tests;

/// <summary>What every monitoring browser test shares: Debian's Chromium from PATH, login, screenshots, the width check.</summary>
internal static class MonitoringBrowser
{
    private static readonly string[] ChromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

    /// <summary>Debian's Chromium from PATH; the tests never download a browser.</summary>
    private static string? FindChromium()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in new[] { "chromium", "chromium-browser" })
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    /// <summary>Playwright driving Chromium; skips without it, and fails when <c>CI</c> is set.</summary>
    public static async Task<(IPlaywright Pw, IBrowser Browser)> LaunchAsync()
    {
        var chromium = FindChromium();
        if (chromium is null)
        {
            const string missing = "chromium is not on PATH: install Debian's chromium package to run the browser tests (playwright install is not used).";
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("CI is set and a peer is missing: " + missing);
            Assert.Skip(missing);
        }
        var pw = await Playwright.CreateAsync();
        var browser = await pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
        return (pw, browser);
    }

    public static async Task LoginAsync(IPage page, Uri baseAddress)
    {
        await page.GotoAsync(new Uri(baseAddress, "/login").ToString());
        await page.FillAsync("input[name=username]", "admin");
        await page.FillAsync("input[name=password]", TestServer.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(u => !u.Contains("/login", StringComparison.Ordinal));
    }

    /// <summary>A new page of the given size, logged in as the admin.</summary>
    public static async Task<IPage> LoginAsync(IBrowser browser, TestServer s, int width = 1440, int height = 900)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        page.SetDefaultNavigationTimeout(60_000);
        await LoginAsync(page, s.BaseAddress);
        return page;
    }

    /// <summary>Screenshots go to TestResults/monitoring-browser at the repository root (kept by CI with the test reports).</summary>
    public static string ScreenshotPath(string name)
    {
        var dir = Path.Combine(TestServer.RepoRoot, "TestResults", "monitoring-browser");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    /// <summary>Screenshots the documentation shows go to docs/screenshots, so the docs show the pages as they are.</summary>
    public static string DocsScreenshotPath(string name)
    {
        var dir = Path.Combine(TestServer.RepoRoot, "docs", "screenshots");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    /// <summary>
    /// Waits (bounded) until the page's URL satisfies <paramref name="match"/> and that page has loaded, for navigations
    /// an action starts without Playwright waiting for them (a fill or a select whose change submits a form). Polls
    /// <c>page.Url</c>: <c>WaitForURLAsync</c> checks the URL and then subscribes to navigations, and a navigation that
    /// commits in between (it happens on a busy machine) is never seen.
    /// </summary>
    public static async Task WaitForUrlAsync(IPage page, Func<string, bool> match, string what, int timeoutMs = 30_000)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!match(page.Url))
        {
            if (sw.ElapsedMilliseconds > timeoutMs)
            {
                var state = await page.EvaluateAsync<string>(
                    "() => JSON.stringify({ ready: document.readyState, time: [...document.querySelectorAll('input[data-time-input], input.wk-picker, select')].map(e => (e.name || e.className) + '=' + e.value) })");
                throw new TimeoutException($"{what}: no navigation to a matching URL within {timeoutMs} ms; the page is {page.Url} {state}");
            }
            await Task.Delay(25);
        }
        await page.WaitForLoadStateAsync(LoadState.Load);
    }

    public static async Task AssertNoHorizontalOverflowAsync(IPage page, string what)
    {
        var w = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        Assert.True(w[0] <= w[1], $"{what}: scrollWidth {w[0]} > clientWidth {w[1]}");
    }
}
