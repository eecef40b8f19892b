using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Monitoring;

namespace Watchkeeper.Server.Tests;

public sealed class MonitoringUiTests
{
    /// <summary>An unreachable target (down), one dropped by relabeling, and a label value that is markup.</summary>
    private const string ExtraScrapeConfigs = """
        scrape_configs:
          - job_name: unreachable
            static_configs:
              - targets: ["127.0.0.1:1"]
                labels: {team: "<b>ops</b>"}
          - job_name: filtered
            static_configs:
              - targets: ["127.0.0.1:2", "127.0.0.1:3"]
            relabel_configs:
              - action: drop
                source_labels: [__address__]
                regex: "127\\.0\\.0\\.1:2"
        """;

    private static Task<TestServer> StartWithTargetsAsync() =>
        TestServer.StartAsync(editConfig: y => y.Replace("scrape_configs: []", ExtraScrapeConfigs, StringComparison.Ordinal));

    /// <summary>
    /// Once every loop has started, moves the fake clock past everyone's slot in the first interval and waits
    /// (in real time) for the scrapes. The clock stands still while a scrape runs, so no scrape times out.
    /// </summary>
    public static async Task<IReadOnlyList<TargetState>> ScrapeAllOnceAsync(TestServer s, int expectedTargets)
    {
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var ct = TestContext.Current.CancellationToken;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (runtime.Scrape?.ActiveTargets().Count != expectedTargets)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("scrape loops did not start");
            await Task.Delay(20, ct);
        }
        // Warm the server's own scrape endpoints first, so a first (cold) scrape on a busy machine is not
        // still running when the fake clock moves past its timeout.
        using (var warm = s.Client())
            foreach (var path in new[] { "/metrics", "/-/node/metrics", "/-/demo/api-service/metrics", "/-/demo/web-interface/metrics" })
                await warm.GetAsync(path, ct);
        await Task.Delay(200, ct);
        while (DateTime.UtcNow < deadline)
        {
            s.Time.Advance(TimeSpan.FromSeconds(15));
            for (var i = 0; i < 160; i++)
            {
                var targets = runtime.Scrape.ActiveTargets();
                if (targets.All(t => t.Health != TargetHealth.Unknown)) return targets;
                await Task.Delay(50, ct);
            }
        }
        throw new TimeoutException("targets were not all scraped: " + string.Join(", ", runtime.Scrape.ActiveTargets().Select(t => t.Job + "=" + t.Health)));
    }

    [Fact]
    public async Task Targets_page_lists_every_target_by_job_with_health_labels_and_errors()
    {
        await using var s = await StartWithTargetsAsync();
        var targets = await ScrapeAllOnceAsync(s, expectedTargets: 6);
        using var c = s.Client(await s.UserTokenAsync("viewer"));

        var html = await c.GetStringAsync("/targets", TestContext.Current.CancellationToken);

        Assert.Contains("Targets · Watchkeeper</title>", html);
        foreach (var job in targets.Select(t => t.Job).Distinct())
            Assert.Contains($"data-job=\"{job}\"", html);
        Assert.Contains("""<span class="wk-job-name">api-service</span> <span class="wk-count wk-up">(1/1 up)</span>""", html);
        Assert.Contains("""<span class="wk-job-name">web-interface</span> <span class="wk-count wk-up">(1/1 up)</span>""", html);
        Assert.Contains("""<span class="wk-job-name">unreachable</span> <span class="wk-count wk-down">(0/1 up)</span>""", html);
        Assert.Contains("""<span class="wk-job-name">filtered</span> <span class="wk-count wk-down">(0/1 up)</span> <span class="wk-muted">1 dropped</span>""", html);
        Assert.Contains("1 dropped by relabeling", html);
        var up = targets.Count(t => t.Health == TargetHealth.Up);
        Assert.Equal(4, up);
        Assert.Contains("<strong>4/6</strong> targets up in 6 jobs", html);
        Assert.Contains("http://127.0.0.1:1/metrics", html);
        Assert.Contains("""<span class="wk-state wk-down">DOWN</span>""", html);
        Assert.Contains("""<span class="wk-state wk-up">UP</span>""", html);
        var downError = targets.Single(t => t.Job == "unreachable").LastError;
        Assert.False(string.IsNullOrEmpty(downError));
        Assert.Contains(System.Text.Encodings.Web.HtmlEncoder.Default.Encode(downError), html);
        // Label values are text, never markup.
        Assert.DoesNotContain("<b>ops</b>", html);
        Assert.Contains("&lt;b&gt;ops&lt;/b&gt;", html);
        Assert.Matches(@"<time datetime=""2026-11-02T09:00:\d\d\.\d{3}Z""[^>]*>(just now|\d+s ago)</time>", html);
        Assert.Contains("href=\"/incidents\"", html);
        Assert.Contains("href=\"/query\"", html);

        var unhealthy = await c.GetStringAsync("/targets?state=unhealthy", TestContext.Current.CancellationToken);
        Assert.Contains("data-job=\"unreachable\"", unhealthy);
        Assert.DoesNotContain("data-job=\"api-service\"", unhealthy);

        // The landing page puts the services with targets down first, with the failing endpoint and its error.
        var overview = await c.GetStringAsync("/", TestContext.Current.CancellationToken);
        Assert.Contains("4/6 healthy", overview.Replace("<span class=\"muted small\">", "", StringComparison.Ordinal));
        var unreachable = overview.IndexOf("<li data-job=\"unreachable\"><span class=\"flag bad\">DOWN</span> <b>unreachable</b> · 1 of 1 target down", StringComparison.Ordinal);
        Assert.True(unreachable > 0, overview);
        Assert.Contains("<li data-job=\"filtered\">", overview);
        Assert.Contains(System.Text.Encodings.Web.HtmlEncoder.Default.Encode(downError), overview);
        Assert.DoesNotContain("<li data-job=\"api-service\">", overview);
        Assert.Matches("Up: [a-z, -]*api-service", overview);
    }

    [Theory]
    [InlineData(0.4, "just now")]
    [InlineData(12.9, "12s ago")]
    [InlineData(185, "3m 5s ago")]
    [InlineData(7800, "2h 10m ago")]
    [InlineData(90000, "1d 1h ago")]
    [InlineData(-3, "in 3s")]
    public void Last_scrape_reads_as_relative_time(double secondsAgo, string expected) =>
        Assert.Equal(expected, Monitoring.Ui.TargetsPage.Relative(TimeSpan.FromSeconds(secondsAgo)));

    [Fact]
    public async Task Query_table_shows_series_and_values_of_the_instant_query()
    {
        await using var s = await TestServer.StartAsync();
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var app = runtime.Store.Appender();
        app.Append(Labels.Of("__name__", "wk_ui_test", "instance", "a", "job", "demo"), now - 10_000, 42);
        app.Append(Labels.Of("__name__", "wk_ui_test", "instance", "b", "job", "demo"), now - 10_000, 0.5);
        app.Commit();
        using var c = s.Client(await s.UserTokenAsync("viewer"));

        var html = await c.GetStringAsync("/query?expr=" + Uri.EscapeDataString("wk_ui_test{job=\"demo\"}") + "&range=1h", TestContext.Current.CancellationToken);

        Assert.Contains(">wk_ui_test{job=&quot;demo&quot;}</textarea>", html);
        Assert.Contains("instant vector · 2 results", html);
        Assert.Contains("""<tr><td class="mono"><b>wk_ui_test</b>{<span class="wk-ln">instance</span>=&quot;a&quot;, <span class="wk-ln">job</span>=&quot;demo&quot;}</td><td class="mono">42</td></tr>""", html);
        Assert.Contains(""">0.5</td></tr>""", html);
        // Range and step belong to the Graph tab; the Table tab has its evaluation time instead.
        Assert.DoesNotContain("<select name=\"g0.range_input\">", html);
        Assert.Contains("""<input type="hidden" name="g0.range_input" value="1h" />""", html);
        Assert.Contains("<label>Evaluation time <input name=\"g0.moment_input\" value=\"\" placeholder=\"now\"", html);
        var earlier = await c.GetStringAsync("/query?expr=wk_ui_test&time=" + Uri.EscapeDataString(DateTimeOffset.FromUnixTimeMilliseconds(now - 600_000).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)), TestContext.Current.CancellationToken);
        Assert.Contains("Empty result: no series matched at this time.", earlier);
        Assert.Contains("evaluated at " + DateTimeOffset.FromUnixTimeMilliseconds(now - 600_000).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC", earlier);
        // The manual's dashboard expressions are one click away.
        Assert.Contains("histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))", html);
        Assert.Contains("/query?expr=up%7Bjob%3D~%22api-service%7Cweb-interface%22%7D", html);
        Assert.Contains("rate(http_requests_total{status=~&quot;5..&quot;}[5m])", html);

        var scalar = await c.GetStringAsync("/query?expr=" + Uri.EscapeDataString("sum(wk_ui_test) * 2"), TestContext.Current.CancellationToken);
        Assert.Contains("<td class=\"mono\">85</td>", scalar);
    }

    [Fact]
    public async Task Query_graph_tab_is_drawn_on_the_server_for_uplot_to_take_over()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());

        var html = await c.GetStringAsync("/query?expr=" + Uri.EscapeDataString("rate(x{a=\"<b>\"}[5m])") + "&range=30m&step=&tab=graph", TestContext.Current.CancellationToken);

        var end = s.Time.GetUtcNow();
        Assert.Contains("range query · 30m ending " + end.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC · step 7s", html);
        Assert.Contains(">rate(x{a=&quot;&lt;b&gt;&quot;}[5m])</textarea>", html);
        Assert.Contains("Empty result: no series matched in this range.", html);
        Assert.Contains("data-uplot=\"bundled\"", html);
        Assert.Contains("<select name=\"g0.range_input\">", html);
        Assert.Contains("<label>End <input name=\"g0.end_input\"", html);
        var ended = await c.GetStringAsync("/query?expr=vector(1)&range=30m&tab=graph&unit=s&end=" + (end.ToUnixTimeSeconds() - 3600), TestContext.Current.CancellationToken);
        Assert.Contains("ending " + end.AddHours(-1).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC", ended);
        Assert.Contains("<td class=\"num\">1 s</td>", ended);
        Assert.Matches("""<script src="/lib/uplot/uPlot\.iife\.min\.js\?v=[0-9a-f]{12}" defer></script>""", html);
        Assert.Matches("""<link rel="stylesheet" href="/lib/uplot/uPlot\.min\.css\?v=[0-9a-f]{12}" />""", html);
        Assert.Contains("<a href=\"/query?expr=rate", html);
        Assert.Contains("&amp;g0.tab=graph&amp;g0.range_input=30m\" aria-current=\"page\">Graph</a>", html);
    }

    [Fact]
    public async Task Query_parse_error_is_shown_with_its_position()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());

        var html = await c.GetStringAsync("/query?expr=" + Uri.EscapeDataString("sum(rate(x[5m]) by"), TestContext.Current.CancellationToken);

        Assert.Contains("<strong>Parse error:</strong> parse error at char", html);
        Assert.Matches(@"<pre class=""wk-caret"">sum\(rate\(x\[5m\]\) by&#xA; *\^</pre>", html);
    }

    [Fact]
    public async Task Query_page_encodes_the_expression()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());

        var html = await c.GetStringAsync("/query?expr=" + Uri.EscapeDataString("</textarea><script>alert(1)</script>"), TestContext.Current.CancellationToken);

        Assert.DoesNotContain("<script>alert(1)", html);
        Assert.Contains("&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;", html);
    }

    [Fact]
    public async Task Pages_send_the_ui_security_headers_and_refresh_only_when_asked()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminTokenAsync());

        var r = await c.GetAsync("/targets?refresh=15", TestContext.Current.CancellationToken);
        var q = await c.GetAsync("/query?expr=up", TestContext.Current.CancellationToken);

        Assert.Equal("15", r.Headers.GetValues("Refresh").Single());
        Assert.False(q.Headers.Contains("Refresh"));
        foreach (var page in new[] { r, q })
        {
            Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
            Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        }
    }

    [Theory]
    [InlineData("/targets")]
    [InlineData("/query?expr=up")]
    public async Task Anonymous_visitors_are_sent_to_login(string path)
    {
        await using var s = await TestServer.StartAsync();
        using var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };

        var r = await c.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        // The redirect is relative (never built from the Host header): resolve it against the server.
        var location = new Uri(s.BaseAddress, r.Headers.Location!);
        Assert.Equal("/login", location.AbsolutePath);
        Assert.Contains("ReturnUrl=" + Uri.EscapeDataString(path), location.Query);
    }

    [Fact]
    public async Task Page_assets_are_served_without_login_and_cached_by_version()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client();
        using var admin = s.Client(await s.AdminTokenAsync());
        var page = await admin.GetStringAsync("/query?tab=graph", TestContext.Current.CancellationToken);
        var url = System.Text.RegularExpressions.Regex.Match(page, """/lib/uplot/uPlot\.iife\.min\.js\?v=[0-9a-f]+""").Value;

        var r = await c.GetAsync(url, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/javascript", r.Content.Headers.ContentType!.MediaType);
        Assert.Contains("immutable", r.Headers.CacheControl!.ToString());
        Assert.StartsWith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */", await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("/lib/uplot/nope.js", TestContext.Current.CancellationToken)).StatusCode);
    }
}
