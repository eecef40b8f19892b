using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Tests;
using static Watchkeeper.MonitoringBrowser.Tests.MonitoringBrowser;

namespace Watchkeeper.MonitoringBrowser.Tests;

/// <summary>The monitoring pages in a real Chromium: login, the /query graph drawn by uPlot, the table, and API errors.</summary>
public sealed class QueryPageBrowserTests
{
    /// <summary>Two series over the last hour, one sample every 15s: a ramp (a) and a square wave (b).</summary>
    private static void AppendKnownData(TestServer s)
    {
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var app = runtime.Store.Appender();
        for (var t = now - 3_600_000; t <= now; t += 15_000)
        {
            var i = (now - t) / 15_000;
            app.Append(Labels.Of("__name__", "wk_browser_demo", "instance", "a", "job", "demo"), t, 240 - i);
            app.Append(Labels.Of("__name__", "wk_browser_demo", "instance", "b", "job", "demo"), t, i / 20 % 2 == 0 ? 50 : 150);
        }
        app.Commit();
    }

    [Fact]
    public async Task Query_page_draws_the_range_query_with_uplot_and_tables_the_instant_query()
    {
        var (pw, browser) = await LaunchAsync();
        using var _ = pw;
        await using var __ = browser;
        await using var s = await TestServer.StartAsync();
        AppendKnownData(s);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        // A loaded CI machine (all suites run at once on two cores) can take longer than 30 s to navigate, as the
        // incident UI suite also allows.
        page.SetDefaultNavigationTimeout(60_000);
        var consoleErrors = new List<string>();
        await LoginAsync(page, s.BaseAddress);
        // The browser's own favicon request is not the page's business.
        page.Console += (_, m) => { if (m.Type == "error" && !m.Location.Contains("/favicon.ico", StringComparison.Ordinal)) consoleErrors.Add(m.Text + " " + m.Location); };
        page.PageError += (_, e) => consoleErrors.Add(e);

        await page.GotoAsync(new Uri(s.BaseAddress, "/query?expr=wk_browser_demo&range=1h&step=&tab=graph").ToString());
        await page.WaitForSelectorAsync("#wk-graph[data-state=drawn]", new PageWaitForSelectorOptions { Timeout = 15_000 });

        Assert.Equal("2", await page.GetAttributeAsync("#wk-graph", "data-series"));
        // uPlot drew its canvas: it has a size and a good share of painted pixels (axes, grid, two lines).
        var painted = await page.EvaluateAsync<int[]>("""
            () => {
              const c = document.querySelector('#wk-graph .uplot canvas');
              if (!c) return [0, 0, 0];
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
              return [c.width, c.height, n];
            }
            """);
        Assert.True(painted[0] > 600 && painted[1] > 300, $"canvas is {painted[0]}x{painted[1]}");
        Assert.True(painted[2] > 2000, $"only {painted[2]} painted pixels");
        var legend = await page.Locator("#wk-graph .u-legend .u-label").AllInnerTextsAsync();
        // The label both series share is said once above the chart, not on every legend row.
        Assert.Contains("wk_browser_demo{instance=\"a\"}", legend);
        Assert.Contains("wk_browser_demo{instance=\"b\"}", legend);
        Assert.Equal("Common to all series: job=\"demo\"", await page.Locator("#wk-graph .wk-common").InnerTextAsync());
        // Without hovering, the legend shows each series' last value (not "--").
        var values = await page.Locator("#wk-graph .u-legend .u-series:not(:first-child) .u-value").AllInnerTextsAsync();
        Assert.Equal(2, values.Count);
        Assert.All(values, v => Assert.Matches("^[0-9]+$", v));
        Assert.InRange(int.Parse(values[0], System.Globalization.CultureInfo.InvariantCulture), 236, 240);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("query-graph.png"), FullPage = true });

        await page.ClickAsync("nav.wk-tabs a:text('Table')");
        await page.WaitForURLAsync(u => u.Contains("tab=table", StringComparison.Ordinal));
        Assert.Equal("wk_browser_demo", await page.InputValueAsync("#wk-expr"));
        var rows = await page.Locator("table.wk-result tbody tr").AllInnerTextsAsync();
        Assert.Equal(2, rows.Count);
        Assert.Equal("wk_browser_demo{instance=\"a\", job=\"demo\"}\t240", rows[0]);
        Assert.Equal("wk_browser_demo{instance=\"b\", job=\"demo\"}\t50", rows[1]);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("query-table.png"), FullPage = true });

        // Dark mode: the chart follows the page's colours.
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        await page.GotoAsync(new Uri(s.BaseAddress, "/query?expr=wk_browser_demo&range=1h&step=&tab=graph").ToString());
        await page.WaitForSelectorAsync("#wk-graph[data-state=drawn]", new PageWaitForSelectorOptions { Timeout = 15_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("query-graph-dark.png"), FullPage = true });
        // The page's own security policy (scripts only from the app) let everything run.
        Assert.True(consoleErrors.Count == 0, string.Join("\n", consoleErrors));
    }

    [Fact]
    public async Task Graph_shows_the_apis_parse_error_with_its_position()
    {
        var (pw, browser) = await LaunchAsync();
        using var _ = pw;
        await using var __ = browser;
        await using var s = await TestServer.StartAsync();
        var page = await browser.NewPageAsync();
        page.SetDefaultNavigationTimeout(60_000);
        await LoginAsync(page, s.BaseAddress);

        await page.GotoAsync(new Uri(s.BaseAddress, "/query?expr=" + Uri.EscapeDataString("sum(rate(wk_x[5m]) by") + "&tab=graph").ToString());
        await page.WaitForSelectorAsync("#wk-graph[data-state=error]", new PageWaitForSelectorOptions { Timeout = 15_000 });

        var alert = await page.Locator("#wk-graph [role=alert]").InnerTextAsync();
        Assert.Contains("Parse error: invalid parameter \"query\": parse error at char", alert);
        var caret = await page.Locator("#wk-graph pre.wk-caret").InnerTextAsync();
        Assert.Matches(@"^sum\(rate\(wk_x\[5m\]\) by\n *\^$", caret);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("graph-parse-error.png") });
        TestContext.Current.TestOutputHelper?.WriteLine(alert);
    }

    [Fact]
    public async Task Targets_page_shows_each_job_with_its_state()
    {
        var (pw, browser) = await LaunchAsync();
        using var _ = pw;
        await using var __ = browser;
        await using var s = await TestServer.StartAsync();
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (runtime.Scrape?.ActiveTargets() is not { Count: > 0 } && DateTime.UtcNow < deadline) await Task.Delay(20, TestContext.Current.CancellationToken);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        s.Time.Advance(TimeSpan.FromSeconds(15));
        while (runtime.Scrape!.ActiveTargets().Any(t => t.Health == Metrics.Scrape.TargetHealth.Unknown) && DateTime.UtcNow < deadline)
            await Task.Delay(50, TestContext.Current.CancellationToken);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        page.SetDefaultNavigationTimeout(60_000);
        await LoginAsync(page, s.BaseAddress);

        await page.GotoAsync(new Uri(s.BaseAddress, "/targets").ToString());

        Assert.Equal("Targets · Watchkeeper", await page.TitleAsync());
        var api = page.Locator("section[data-job=api-service]");
        Assert.Equal("api-service (1/1 up)", (await api.Locator("h2").InnerTextAsync()).Trim());
        Assert.Equal("UP", await api.Locator(".wk-state").InnerTextAsync());
        // Up is green, as the state badge's colour says.
        Assert.Equal("rgb(27, 127, 59)", await api.Locator(".wk-state").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("targets.png"), FullPage = true });
    }
}
