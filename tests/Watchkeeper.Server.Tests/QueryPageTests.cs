using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Monitoring.Ui;

namespace Watchkeeper.Server.Tests;

/// <summary>/query with several panels in the URL (Prometheus's g0.expr=..&amp;g1.expr=..), its limits, and the metadata API's limits.</summary>
public sealed partial class QueryPageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [GeneratedRegex("<textarea [^>]*name=\"(g\\d+\\.expr)\"")]
    private static partial Regex ExprBox();

    private static long AppendSeries(TestServer s)
    {
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var app = runtime.Store.Appender();
        for (var t = now - 3_600_000; t <= now; t += 15_000)
        {
            app.Append(Labels.Of("__name__", "wk_qp", "instance", "a", "job", "demo"), t, 42);
            app.Append(Labels.Of("__name__", "wk_qp", "instance", "b", "job", "demo"), t, t < now - 1_800_000 ? 1 : 3);
        }
        app.Commit();
        return now;
    }

    private static string Utc(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Several_panels_each_keep_their_own_expression_tab_and_times_in_the_url()
    {
        await using var s = await TestServer.StartAsync();
        var now = AppendSeries(s);
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        var evalAt = now - 2_400_000;
        var endAt = now - 600_000;

        var html = await c.GetStringAsync("/query?g0.expr=" + Uri.EscapeDataString("wk_qp{instance=\"b\"}") + "&g0.tab=table&g0.moment_input=" + Utc(evalAt)
            + "&g1.expr=wk_qp&g1.tab=graph&g1.range_input=30m&g1.end_input=" + Utc(endAt) + "&g1.unit=s", Ct);

        Assert.Equal(["g0.expr", "g1.expr"], ExprBox().Matches(html).Select(m => m.Groups[1].Value));
        // Panel 0: the instant query at its evaluation time (40 minutes ago, when b was 1).
        Assert.Contains("evaluated at " + DateTimeOffset.FromUnixTimeMilliseconds(evalAt).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC", html);
        Assert.Contains("""<span class="wk-ln">job</span>=&quot;demo&quot;}</td><td class="mono">1</td>""", html);
        Assert.Contains("<label>Evaluation time <input name=\"g0.moment_input\" value=\"" + Utc(evalAt) + "\"", html);
        // Panel 1: the range query ending at its end time, drawn on the server with the dashboards' chart and legend.
        Assert.Contains("range query · 30m ending " + DateTimeOffset.FromUnixTimeMilliseconds(endAt).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC", html);
        Assert.Contains("<label>End <input name=\"g1.end_input\" value=\"" + Utc(endAt) + "\"", html);
        Assert.Contains("<option value=\"30m\" selected>30m</option>", html);
        Assert.Contains("<svg class=\"wk-svg\"", html);
        Assert.Contains("""<th>Series</th><th class="num">Last</th><th class="num">Min</th><th class="num">Max</th><th class="num">Mean</th>""", html);
        // Labels all series share are said once; the legend's values are in the panel's unit (seconds).
        Assert.Contains("Common to all series: job=&quot;demo&quot;", html);
        Assert.Contains("wk_qp{instance=&quot;a&quot;}</td><td class=\"num\">42 s</td>", html);
        Assert.Contains("data-chart=\"{&quot;unit&quot;:&quot;s&quot;", html);
        // Each panel's tabs switch only that panel, keeping the other in the link.
        Assert.Contains("href=\"/query?g0.expr=wk_qp%7Binstance%3D%22b%22%7D&amp;g0.tab=table&amp;g0.moment_input=" + Uri.EscapeDataString(Utc(evalAt))
            + "&amp;g1.expr=wk_qp&amp;g1.tab=table&amp;g1.range_input=30m", html);
        // The graph's end moves back or forward by its range.
        Assert.Contains("g1.end_input=" + Uri.EscapeDataString(Utc(endAt - 1_800_000)), html);
        Assert.Contains("<button type=\"submit\" name=\"add\" value=\"1\"", html);
        Assert.Contains("<button type=\"submit\" name=\"remove\" value=\"1\"", html);
    }

    [Fact]
    public async Task Single_query_links_of_earlier_versions_open_as_the_first_panel()
    {
        await using var s = await TestServer.StartAsync();
        AppendSeries(s);
        using var c = s.Client(await s.UserTokenAsync("viewer"));

        var html = await c.GetStringAsync("/query?expr=wk_qp&range=15m&tab=graph&unit=reqps", Ct);

        Assert.Equal(["g0.expr"], ExprBox().Matches(html).Select(m => m.Groups[1].Value));
        Assert.Contains(">wk_qp</textarea>", html);
        Assert.Contains("<option value=\"15m\" selected>15m</option>", html);
        Assert.Contains("<option value=\"reqps\" selected>requests/s</option>", html);
        Assert.Contains("42 req/s", html);
        // Prometheus 2's tab numbers: 0 is the graph, 1 the table.
        var prom2 = await c.GetStringAsync("/query?g0.expr=wk_qp&g0.tab=1", Ct);
        Assert.Contains("instant vector · 2 results", prom2);
    }

    [Fact]
    public async Task Add_and_remove_answer_with_the_link_of_the_new_panels()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        using var raw = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };
        raw.DefaultRequestHeaders.Authorization = c.DefaultRequestHeaders.Authorization;

        var added = await raw.GetAsync("/query?g0.expr=up&g0.tab=graph&g0.range_input=6h&add=1", Ct);
        var removed = await raw.GetAsync("/query?g0.expr=a&g0.tab=table&g1.expr=b&g1.tab=graph&remove=0", Ct);
        var last = await raw.GetAsync("/query?g0.expr=a&g0.tab=table&remove=0", Ct);

        Assert.Equal(HttpStatusCode.Redirect, added.StatusCode);
        Assert.Equal("/query?g0.expr=up&g0.tab=graph&g0.range_input=6h&g1.expr=&g1.tab=table&g1.range_input=6h", added.Headers.Location!.OriginalString);
        Assert.Equal("/query?g0.expr=b&g0.tab=graph", removed.Headers.Location!.OriginalString);
        // A page always keeps one panel.
        Assert.Equal("/query?g0.expr=&g0.tab=table", last.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Hostile_urls_are_cut_to_the_limits_with_a_clear_message()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        var many = string.Join("&", Enumerable.Range(0, 14).Select(i => $"g{i}.expr=vector({i})&g{i}.tab=table"));
        var longExpr = "sum(" + new string('x', QueryPanels.MaxExprLength) + ")";

        var tooMany = await c.GetStringAsync("/query?" + many, Ct);
        var tooLong = await c.GetStringAsync("/query?g0.expr=" + longExpr + "&g0.tab=graph", Ct);
        var badTimes = await c.GetStringAsync("/query?g0.expr=up&g0.tab=graph&g0.range_input=soon&g0.end_input=yesterday&g0.step_input=-5s&remove=7", Ct);

        Assert.Equal(QueryPanels.MaxPanels, ExprBox().Count(tooMany));
        Assert.Contains("This link has 14 query panels; a page shows at most 10, so the panels after the 10th were left out.", tooMany);
        Assert.DoesNotContain("name=\"add\"", tooMany);
        Assert.Contains("A page holds at most 10 panels.", tooMany);
        Assert.Contains("<strong>Expression too long:</strong> it has 4,101 characters and a panel runs at most 4,096. Nothing was evaluated.", tooLong);
        Assert.Contains($"maxlength=\"{QueryPanels.MaxExprLength}\"", tooLong);
        Assert.Contains("Range &quot;soon&quot; is not a duration up to 400 days (use e.g. 15m, 1h, 2d); using 1h.", badTimes);
        Assert.Contains("End &quot;yesterday&quot; is not a time", badTimes);
        Assert.Contains("Step &quot;-5s&quot; is not a duration (use e.g. 15s, 1m); using an automatic step.", badTimes);
        Assert.Contains("There is no panel 7 to remove.", badTimes);
    }

    [Fact]
    public async Task Metadata_api_takes_limit_and_limit_per_metric_as_prometheus_3()
    {
        await using var s = await TestServer.StartAsync();
        await MonitoringUiTests.ScrapeAllOnceAsync(s, expectedTargets: 4);
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        async Task<(HttpStatusCode, JsonElement)> Get(string q)
        {
            using var r = await c.GetAsync("/prometheus/api/v1/metadata" + q, Ct);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync(Ct));
            return (r.StatusCode, doc.RootElement.Clone());
        }

        var (_, all) = await Get("");
        var (_, two) = await Get("?limit=2&limit_per_metric=1");
        var (_, none) = await Get("?limit=0");
        var (_, negative) = await Get("?limit=-1");
        var (badStatus, bad) = await Get("?limit=some");
        var (badPerStatus, badPer) = await Get("?limit_per_metric=few");

        var families = all.GetProperty("data").EnumerateObject().Count();
        Assert.True(families > 2, $"{families} metric families with metadata");
        Assert.Equal(2, two.GetProperty("data").EnumerateObject().Count());
        Assert.All(two.GetProperty("data").EnumerateObject(), p => Assert.Equal(1, p.Value.GetArrayLength()));
        Assert.Empty(none.GetProperty("data").EnumerateObject());
        Assert.Equal(families, negative.GetProperty("data").EnumerateObject().Count());
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Equal("limit must be a number", bad.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badPerStatus);
        Assert.Equal("limit_per_metric must be a number", badPer.GetProperty("error").GetString());
    }
}
