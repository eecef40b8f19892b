using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Tests;
using static Watchkeeper.MonitoringBrowser.Tests.MonitoringBrowser;

namespace Watchkeeper.MonitoringBrowser.Tests;

/// <summary>
/// One server and one Chromium for the class: the built-in targets scraped once (so the metadata API has types and
/// help), and two known series over the last hour, one sample every 15s: a ramp (a) and a square wave (b).
/// </summary>
public sealed class QueryPageServer : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    /// <summary>The time of the last known sample (the fake clock's "now" when they were written).</summary>
    public long DataNowMs { get; private set; }
    private bool _skip;

    public async ValueTask InitializeAsync()
    {
        try
        {
            (Playwright, Browser) = await LaunchAsync();
        }
        catch (Exception e) when (e.GetType().Name.Contains("Skip", StringComparison.Ordinal))
        {
            _skip = true;
            return;
        }
        Server = await TestServer.StartAsync();
        var runtime = Server.Services.GetRequiredService<MetricsRuntime>();
        // Every built-in target scraped once (bounded: 60 s), moving the fake clock past their first slot.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (runtime.Scrape?.ActiveTargets() is not { Count: > 0 } && DateTime.UtcNow < deadline) await Task.Delay(20);
        using (var warm = Server.Client())
            foreach (var path in new[] { "/metrics", "/-/node/metrics", "/-/demo/api-service/metrics", "/-/demo/web-interface/metrics" })
                await warm.GetAsync(path);
        await Task.Delay(200);
        Server.Time.Advance(TimeSpan.FromSeconds(15));
        while (runtime.Scrape!.ActiveTargets().Any(t => t.Health == Metrics.Scrape.TargetHealth.Unknown) && DateTime.UtcNow < deadline)
            await Task.Delay(50);

        DataNowMs = Server.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000 * 1000;
        var app = runtime.Store.Appender();
        for (var t = DataNowMs - 3_600_000; t <= DataNowMs; t += 15_000)
        {
            var i = (DataNowMs - t) / 15_000;
            app.Append(Labels.Of("__name__", "wk_browser_demo", "instance", "a", "job", "demo"), t, 240 - i);
            app.Append(Labels.Of("__name__", "wk_browser_demo", "instance", "b", "job", "demo"), t, i / 20 % 2 == 0 ? 50 : 150);
        }
        app.Commit();
    }

    public void SkipWithoutChromium()
    {
        if (_skip) Assert.Skip("chromium is not on PATH: install Debian's chromium package to run the browser tests.");
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (Server is not null) await Server.DisposeAsync();
    }
}

/// <summary>/query in a real Chromium: panels, the dashboards' chart and legend drawn by uPlot, autocompletion, the metrics explorer, time pickers.</summary>
public sealed class QueryPageBrowserTests(QueryPageServer fx) : IClassFixture<QueryPageServer>
{
    private TestServer S => fx.Server;
    private string Url(string path) => new Uri(S.BaseAddress, path).ToString();

    private static List<string> WatchErrors(IPage page)
    {
        var errors = new List<string>();
        // The browser's own favicon request is not the page's business.
        page.Console += (_, m) => { if (m.Type == "error" && !m.Location.Contains("/favicon.ico", StringComparison.Ordinal)) errors.Add(m.Text + " " + m.Location); };
        page.PageError += (_, e) => errors.Add(e);
        return errors;
    }

    /// <summary>The table's rows as "series\tvalue" (read cell by cell: on a phone the rows are cards).</summary>
    private static Task<List<string>> TableRowsAsync(IPage page, int panel) => RowsAsync(page, $"#wk-panel-{panel} table.wk-result tbody tr");

    private static async Task<List<string>> RowsAsync(IPage page, string rows) =>
        [.. await page.Locator(rows).EvaluateAllAsync<string[]>(
            "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()).join('\\t'))")];

    /// <summary>Picks <paramref name="ms"/> on panel <paramref name="panel"/>'s calendar, whose change submits the panel, and waits for that page.</summary>
    private static async Task PickAsync(IPage page, int panel, string field, long ms)
    {
        var url = new System.Text.RegularExpressions.Regex($@"g{panel}\.{field}=\d");
        await page.Locator($"#wk-panel-{panel} input.wk-picker").FillAsync(Picker(ms));
        await WaitForUrlAsync(page, url.IsMatch, $"picking {Picker(ms)} on panel {panel}");
    }

    private static string Picker(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Graph_is_drawn_by_uplot_with_the_dashboards_legend_and_the_table_tab_lists_the_instant_query()
    {
        fx.SkipWithoutChromium();
        var page = await LoginAsync(fx.Browser, S, 1280, 900);
        var errors = WatchErrors(page);

        await page.GotoAsync(Url("/query?g0.expr=wk_browser_demo&g0.tab=graph&g0.range_input=1h"));
        await page.WaitForSelectorAsync("#wk-query-form[data-charts='1']", new PageWaitForSelectorOptions { Timeout = 15_000 });

        // uPlot drew its canvas over the server's SVG: it has a size and a good share of painted pixels (axes, grid, two lines).
        var painted = await page.EvaluateAsync<int[]>("""
            () => {
              const c = document.querySelector('#wk-graph-0 .uplot canvas');
              if (!c) return [0, 0, 0];
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
              return [c.width, c.height, n];
            }
            """);
        Assert.True(painted[0] > 600 && painted[1] > 250, $"canvas is {painted[0]}x{painted[1]}");
        Assert.True(painted[2] > 2000, $"only {painted[2]} painted pixels");
        // The dashboards' legend: series named without the label they share (said once above), last/min/max/mean.
        var legend = await page.Locator("#wk-graph-0 .wk-legend tbody tr").AllInnerTextsAsync();
        Assert.Equal(2, legend.Count);
        Assert.StartsWith("wk_browser_demo{instance=\"a\"}\t240\t0\t240\t", legend[0], StringComparison.Ordinal);
        Assert.StartsWith("wk_browser_demo{instance=\"b\"}\t50\t50\t150\t", legend[1], StringComparison.Ordinal);
        Assert.Equal(["Series", "Last", "Min", "Max", "Mean"], await page.Locator("#wk-graph-0 .wk-legend thead th").AllInnerTextsAsync());
        Assert.Equal("Common to all series: job=\"demo\"", await page.Locator("#wk-graph-0 .wk-common").InnerTextAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("query-graph.png"), FullPage = true });

        await page.ClickAsync("nav.wk-tabs a:text('Table')");
        await page.WaitForURLAsync(u => u.Contains("g0.tab=table", StringComparison.Ordinal));
        Assert.Equal("wk_browser_demo", await page.InputValueAsync("#wk-expr-0"));
        var rows = await page.Locator("table.wk-result tbody tr").AllInnerTextsAsync();
        Assert.Equal(["wk_browser_demo{instance=\"a\", job=\"demo\"}\t240", "wk_browser_demo{instance=\"b\", job=\"demo\"}\t50"], rows);

        // A parse error names its position and marks it under the expression.
        await page.GotoAsync(Url("/query?g0.expr=" + Uri.EscapeDataString("sum(rate(wk_x[5m]) by") + "&g0.tab=graph"));
        Assert.Contains("Parse error: parse error at char", await page.Locator("#wk-panel-0 [role=alert]").InnerTextAsync());
        Assert.Matches(@"^sum\(rate\(wk_x\[5m\]\) by\n *\^$", await page.Locator("#wk-panel-0 pre.wk-caret").InnerTextAsync());

        // Dark mode: the chart follows the page's colours.
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        await page.GotoAsync(Url("/query?g0.expr=wk_browser_demo&g0.tab=graph"));
        await page.WaitForSelectorAsync("#wk-query-form[data-charts='1']", new PageWaitForSelectorOptions { Timeout = 15_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("query-graph-dark.png"), FullPage = true });
        // The page's own security policy (scripts only from the app) let everything run.
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Theory]
    [InlineData(1440)]
    [InlineData(390)]
    public async Task Autocomplete_explorer_two_panels_evaluation_and_end_time(int width)
    {
        fx.SkipWithoutChromium();
        var page = await LoginAsync(fx.Browser, S, width, width < 600 ? 844 : 900);
        var errors = WatchErrors(page);
        var phone = width < 600;

        await page.GotoAsync(Url("/query"));
        var expr0 = page.Locator("#wk-expr-0");
        // Metric names (and functions) as a name is typed; Enter takes the highlighted suggestion.
        await expr0.PressSequentiallyAsync("wk_brow");
        await page.Locator("#wk-panel-0 .wk-ac li", new() { HasText = "wk_browser_demo" }).WaitForAsync();
        await expr0.PressAsync("Enter");
        Assert.Equal("wk_browser_demo", await expr0.InputValueAsync());
        // Label names after "{" (for this metric), label values after "=".
        await expr0.PressSequentiallyAsync("{");
        await page.Locator("#wk-panel-0 .wk-ac li .wk-ac-text", new() { HasTextRegex = new("^instance$") }).WaitForAsync();
        Assert.Equal(["instance", "job"], await page.Locator("#wk-panel-0 .wk-ac li .wk-ac-text").AllInnerTextsAsync());
        await page.Locator("#wk-panel-0 .wk-ac li .wk-ac-text", new() { HasTextRegex = new("^instance$") }).DispatchEventAsync("mousedown");
        await expr0.PressSequentiallyAsync("=");
        await page.Locator("#wk-panel-0 .wk-ac li .wk-ac-text", new() { HasTextRegex = new("^b$") }).WaitForAsync();
        Assert.Equal(["a", "b"], await page.Locator("#wk-panel-0 .wk-ac li .wk-ac-text").AllInnerTextsAsync());
        await AssertNoHorizontalOverflowAsync(page, $"autocomplete at {width}px");
        if (!phone) await page.ScreenshotAsync(new PageScreenshotOptions { Path = DocsScreenshotPath("query-autocomplete.png") });
        await expr0.PressAsync("ArrowDown");
        await expr0.PressAsync("Enter");
        await expr0.PressSequentiallyAsync("}");
        Assert.Equal("wk_browser_demo{instance=\"b\"}", await expr0.InputValueAsync());
        // Functions too.
        await expr0.PressSequentiallyAsync(" + histogram_qu");
        await page.Locator("#wk-panel-0 .wk-ac li.wk-ac-function .wk-ac-text", new() { HasTextRegex = new("^histogram_quantile$") }).WaitForAsync();
        await expr0.PressAsync("Escape");
        await expr0.FillAsync("wk_browser_demo{instance=\"b\"}");
        await expr0.PressAsync("Enter");
        await page.WaitForURLAsync(u => u.Contains("g0.expr=wk_browser_demo", StringComparison.Ordinal));
        Assert.Equal(["wk_browser_demo{instance=\"b\", job=\"demo\"}\t50"], await TableRowsAsync(page, 0));

        // Evaluation time from the calendar (UTC): 45 minutes earlier the square wave was at 150.
        await PickAsync(page, 0, "moment_input", fx.DataNowMs - 2_700_000);
        Assert.Equal(["wk_browser_demo{instance=\"b\", job=\"demo\"}\t150"], await TableRowsAsync(page, 0));
        Assert.Contains("evaluated at " + DateTimeOffset.FromUnixTimeMilliseconds(fx.DataNowMs - 2_700_000).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC",
            await page.Locator("#wk-panel-0 .wk-meta").InnerTextAsync());

        // A second panel; the explorer lists metric names with type and help from metadata and inserts the chosen one.
        await page.ClickAsync("button[name=add]");
        await page.WaitForURLAsync(u => u.Contains("g1.expr=", StringComparison.Ordinal));
        Assert.Equal(2, await page.Locator("textarea.wk-expr").CountAsync());
        Assert.Equal("wk_browser_demo{instance=\"b\"}", await expr0.InputValueAsync());
        await page.ClickAsync("#wk-panel-1 .wk-explore-open");
        var search = page.Locator("#wk-explorer-search");
        await search.FillAsync("http_requests_total");
        var counter = page.Locator(".wk-explorer-pick[data-metric=http_requests_total]");
        await counter.WaitForAsync();
        Assert.StartsWith("counter", await counter.Locator(".wk-explorer-type").InnerTextAsync(), StringComparison.Ordinal);
        Assert.NotEqual("", await counter.Locator(".wk-explorer-help").InnerTextAsync());
        await search.FillAsync("wk_browser");
        await page.Locator(".wk-explorer-pick[data-metric=wk_browser_demo]").WaitForAsync();
        await AssertNoHorizontalOverflowAsync(page, $"metrics explorer at {width}px");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = (phone ? DocsScreenshotPath("query-explorer-phone.png") : ScreenshotPath("query-explorer.png")) });
        await page.ClickAsync(".wk-explorer-pick[data-metric=wk_browser_demo]");
        Assert.Equal("wk_browser_demo", await page.InputValueAsync("#wk-expr-1"));
        await page.PressAsync("#wk-expr-1", "Enter");
        await page.WaitForURLAsync(u => u.Contains("g1.expr=wk_browser_demo&", StringComparison.Ordinal));

        // Panel 1 as a graph; its end from the calendar, 30 minutes back. Panel 0 keeps its table and evaluation time.
        await page.ClickAsync("#wk-panel-1 nav.wk-tabs a:text('Graph')");
        await page.WaitForSelectorAsync("#wk-query-form[data-charts='1']", new PageWaitForSelectorOptions { Timeout = 15_000 });
        await PickAsync(page, 1, "end_input", fx.DataNowMs - 1_800_000);
        await page.WaitForSelectorAsync("#wk-query-form[data-charts='1']", new PageWaitForSelectorOptions { Timeout = 15_000 });
        Assert.Contains("ending " + DateTimeOffset.FromUnixTimeMilliseconds(fx.DataNowMs - 1_800_000).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC",
            await page.Locator("#wk-graph-1 .wk-meta").First.InnerTextAsync());
        // 30 minutes earlier the ramp's last value was 120 (240 minus 120 steps of 15s).
        Assert.StartsWith("wk_browser_demo{instance=\"a\"}\t120\t", (await RowsAsync(page, "#wk-graph-1 .wk-legend tbody tr"))[0], StringComparison.Ordinal);
        Assert.Equal(["wk_browser_demo{instance=\"b\", job=\"demo\"}\t150"], await TableRowsAsync(page, 0));
        Assert.Contains("g0.moment_input=", page.Url, StringComparison.Ordinal);
        await AssertNoHorizontalOverflowAsync(page, $"two panels at {width}px");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = (phone ? ScreenshotPath("query-panels-phone.png") : DocsScreenshotPath("query-panels.png")), FullPage = true });

        // Removing the first panel keeps the second.
        await page.ClickAsync("#wk-panel-0 button.wk-remove");
        await page.WaitForURLAsync(u => !u.Contains("g1.", StringComparison.Ordinal));
        Assert.Equal("wk_browser_demo", await page.InputValueAsync("#wk-expr-0"));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Fact]
    public async Task Targets_page_shows_each_job_with_its_state()
    {
        fx.SkipWithoutChromium();
        var page = await LoginAsync(fx.Browser, S, 1280, 900);

        await page.GotoAsync(Url("/targets"));

        Assert.Equal("Targets · Watchkeeper", await page.TitleAsync());
        var api = page.Locator("section[data-job=api-service]");
        Assert.Equal("api-service (1/1 up)", (await api.Locator("h2").InnerTextAsync()).Trim());
        Assert.Equal("UP", await api.Locator(".wk-state").InnerTextAsync());
        // Up is green, as the state badge's colour says.
        Assert.Equal("rgb(27, 127, 59)", await api.Locator(".wk-state").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ScreenshotPath("targets.png"), FullPage = true });
        await page.CloseAsync();
    }
}
