using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// <c>/query?expr=...&amp;range=1h&amp;step=&amp;tab=table|graph</c>: a PromQL console. The Table tab is an
/// instant query evaluated here, so it works without JavaScript; the Graph tab draws the range query
/// from <c>/prometheus/api/v1/query_range</c> with uPlot (query.js).
/// </summary>
public static class QueryPage
{
    internal const int MaxRows = 1000;
    private static readonly string[] Ranges = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "1w"];

    /// <summary>The operations manual's dashboard expressions (section 1.2).</summary>
    internal static readonly (string Title, string Expr)[] Examples =
    [
        ("Platform health", """up{job=~"api-service|web-interface"}"""),
        ("API response time (p95)", "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))"),
        ("5xx error rate", """rate(http_requests_total{status=~"5.."}[5m])"""),
    ];

    public static IResult Handle(HttpContext http, MetricsRuntime runtime, TimeProvider time, string? expr, string? range, string? step, string? tab)
    {
        var body = MonitoringAssets.Tags("uplot.min.css", "monitoring.css", "uplot.min.js", "query.js")
            + Body(runtime, time.GetUtcNow().ToUnixTimeMilliseconds(), expr, range, step, tab, http.RequestAborted);
        return MonitoringPage.Render(http, string.IsNullOrWhiteSpace(expr) ? "Query" : "Query: " + Truncate(expr.Trim(), 60), body);
    }

    internal static string Body(MetricsRuntime runtime, long nowMs, string? expr, string? range, string? step, string? tab, CancellationToken ct)
    {
        expr = expr?.Trim() ?? "";
        var graph = tab == "graph";
        var rangeText = string.IsNullOrWhiteSpace(range) ? "1h" : range.Trim();
        var stepText = step?.Trim() ?? "";
        var problems = new List<string>();
        if (!Duration.TryParse(rangeText, out var rangeD) || rangeD.Value <= TimeSpan.Zero)
        {
            problems.Add($"Range \"{rangeText}\" is not a duration (use e.g. 15m, 1h, 2d); using 1h.");
            rangeText = "1h";
            rangeD = new Duration(TimeSpan.FromHours(1));
        }
        var rangeMs = (long)rangeD.Value.TotalMilliseconds;
        long stepMs;
        if (stepText.Length == 0) stepMs = AutoStep(rangeMs);
        else if (Duration.TryParse(stepText, out var s) && s.Value > TimeSpan.Zero) stepMs = (long)s.Value.TotalMilliseconds;
        else if (double.TryParse(stepText, NumberStyles.Float, CultureInfo.InvariantCulture, out var sec) && sec > 0 && double.IsFinite(sec)) stepMs = (long)Math.Round(sec * 1000);
        else
        {
            problems.Add($"Step \"{stepText}\" is not a duration (use e.g. 15s, 1m); using an automatic step.");
            stepText = "";
            stepMs = AutoStep(rangeMs);
        }
        if (rangeMs / stepMs > 11_000)
        {
            problems.Add("That step gives more than 11,000 points per series; using an automatic step.");
            stepText = "";
            stepMs = AutoStep(rangeMs);
        }

        var sb = new StringBuilder();
        sb.Append("<h1>Query</h1>");
        Form(sb, expr, rangeText, stepText, graph);
        foreach (var p in problems) sb.Append($"""<p class="wk-warning" role="status">{Html.Encode(p)}</p>""");

        var tabQuery = $"expr={Html.Url(expr)}&range={Html.Url(rangeText)}&step={Html.Url(stepText)}";
        sb.Append("""<nav class="wk-tabs" aria-label="Result view">""");
        sb.Append($"""<a href="/query?{Html.Encode(tabQuery)}&amp;tab=table"{(graph ? "" : " aria-current=\"page\"")}>Table</a>""");
        sb.Append($"""<a href="/query?{Html.Encode(tabQuery)}&amp;tab=graph"{(graph ? " aria-current=\"page\"" : "")}>Graph</a>""");
        sb.Append("</nav>");

        sb.Append("""<section class="wk-panel">""");
        if (expr.Length == 0)
            sb.Append("""<p class="wk-note">Enter a PromQL expression, or start from one of the operations manual's dashboard expressions below.</p>""");
        else if (graph)
            GraphPanel(sb, expr, nowMs, rangeMs, stepMs);
        else
            TablePanel(sb, runtime, expr, nowMs, ct);
        sb.Append("</section>");

        sb.Append("""<section class="wk-examples"><h2>Dashboard expressions (operations manual 1.2)</h2><ul>""");
        foreach (var (title, e) in Examples)
        {
            var href = $"/query?expr={Html.Url(e)}&range={Html.Url(rangeText)}&tab={(graph ? "graph" : "table")}";
            sb.Append($"""<li><a href="{Html.Encode(href)}">{Html.Encode(title)}</a>: <code>{Html.Encode(e)}</code></li>""");
        }
        sb.Append("</ul></section>");
        return sb.ToString();
    }

    /// <summary>About 250 points across the range, in whole seconds, at least one second (as Prometheus's UI picks).</summary>
    internal static long AutoStep(long rangeMs) => Math.Max(rangeMs / 250 / 1000, 1) * 1000;

    private static void Form(StringBuilder sb, string expr, string rangeText, string stepText, bool graph)
    {
        sb.Append("""<form class="wk-query" method="get" action="/query">""");
        sb.Append("""<label for="wk-expr" class="wk-sr">Expression</label>""");
        sb.Append($"""<textarea id="wk-expr" name="expr" rows="{Math.Clamp(expr.Count(c => c == '\n') + 1, 1, 10)}" spellcheck="false" autocomplete="off" placeholder="Expression (press Enter to execute, Shift+Enter for a new line)">{Html.Encode(expr)}</textarea>""");
        sb.Append("""<div class="wk-query-opts"><label>Range <select name="range">""");
        var ranges = Ranges.Contains(rangeText) ? Ranges : [.. Ranges, rangeText];
        foreach (var r in ranges)
            sb.Append($"""<option value="{Html.Encode(r)}"{(r == rangeText ? " selected" : "")}>{Html.Encode(r)}</option>""");
        sb.Append("</select></label>");
        sb.Append($"""<label>Step <input name="step" value="{Html.Encode(stepText)}" placeholder="auto" size="6"></label>""");
        sb.Append($"""<input type="hidden" name="tab" value="{(graph ? "graph" : "table")}">""");
        sb.Append("""<button type="submit">Execute</button></div></form>""");
    }

    private static void TablePanel(StringBuilder sb, MetricsRuntime runtime, string expr, long nowMs, CancellationToken ct)
    {
        QueryResult result;
        try
        {
            result = runtime.Engine.Instant(runtime.Querier, expr, nowMs, ct);
        }
        catch (ParseException p)
        {
            ParseError(sb, expr, p.Message, p.Position);
            return;
        }
        catch (QueryException q)
        {
            sb.Append($"""<div class="wk-error" role="alert"><strong>Query failed ({Html.Encode(q.Kind.ToString().ToLowerInvariant())}):</strong> {Html.Encode(q.Message)}</div>""");
            return;
        }
        foreach (var w in result.Warnings) sb.Append($"""<p class="wk-warning" role="status">Warning: {Html.Encode(w)}</p>""");
        foreach (var i in result.Infos) sb.Append($"""<p class="wk-note">Info: {Html.Encode(i)}</p>""");

        var evalAt = DateTimeOffset.FromUnixTimeMilliseconds(nowMs).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
        switch (result.Value)
        {
            case ScalarResult s:
                Meta(sb, "scalar", 1, evalAt);
                sb.Append($"""<table class="wk-result"><thead><tr><th>Result</th><th>Value</th></tr></thead><tbody><tr><td>scalar</td><td class="mono">{Html.Encode(PrometheusApi.FormatValue(s.V))}</td></tr></tbody></table>""");
                break;
            case StringResult s:
                Meta(sb, "string", 1, evalAt);
                sb.Append($"""<table class="wk-result"><thead><tr><th>Result</th><th>Value</th></tr></thead><tbody><tr><td>string</td><td class="mono">{Html.Encode(s.V)}</td></tr></tbody></table>""");
                break;
            case VectorResult v:
                Meta(sb, "instant vector", v.Samples.Count, evalAt);
                if (v.Samples.Count == 0) { sb.Append("""<p class="wk-note">Empty result: no series matched at this time.</p>"""); break; }
                sb.Append("""<table class="wk-result"><thead><tr><th>Series</th><th>Value</th></tr></thead><tbody>""");
                foreach (var x in v.Samples.Take(MaxRows))
                    sb.Append($"""<tr><td class="mono">{SeriesHtml(x.Labels)}</td><td class="mono">{Html.Encode(x.H is { } h ? HistogramText(h) : PrometheusApi.FormatValue(x.V))}</td></tr>""");
                sb.Append("</tbody></table>");
                Truncated(sb, v.Samples.Count);
                break;
            case MatrixResult m:
                Meta(sb, "range vector", m.Series.Count, evalAt);
                if (m.Series.Count == 0) { sb.Append("""<p class="wk-note">Empty result: no series matched in this range.</p>"""); break; }
                sb.Append("""<table class="wk-result"><thead><tr><th>Series</th><th>Values (value @ Unix time)</th></tr></thead><tbody>""");
                foreach (var x in m.Series.Take(MaxRows))
                {
                    sb.Append($"""<tr><td class="mono">{SeriesHtml(x.Labels)}</td><td class="mono">""");
                    foreach (var p in x.Floats)
                        sb.Append(Html.Encode(PrometheusApi.FormatValue(p.V))).Append(" @").Append((p.T / 1000.0).ToString("0.###", CultureInfo.InvariantCulture)).Append("<br>");
                    foreach (var p in x.Histograms)
                        sb.Append(Html.Encode(HistogramText(p.H))).Append(" @").Append((p.T / 1000.0).ToString("0.###", CultureInfo.InvariantCulture)).Append("<br>");
                    sb.Append("</td></tr>");
                }
                sb.Append("</tbody></table>");
                Truncated(sb, m.Series.Count);
                break;
        }
    }

    /// <summary>A native histogram as its count and sum (the graph draws float series only).</summary>
    internal static string HistogramText(FloatHistogram h) =>
        $"histogram: count {PrometheusApi.FormatValue(h.Count)}, sum {PrometheusApi.FormatValue(h.Sum)}";

    private static void Meta(StringBuilder sb, string kind, int count, string evalAt) =>
        sb.Append(CultureInfo.InvariantCulture, $"""<p class="wk-meta">{Html.Encode(kind)} · {count} {(count == 1 ? "result" : "results")} · evaluated at {Html.Encode(evalAt)}</p>""");

    private static void Truncated(StringBuilder sb, int count)
    {
        if (count > MaxRows)
            sb.Append(CultureInfo.InvariantCulture, $"""<p class="wk-warning">Showing the first {MaxRows} of {count} series; narrow the expression to see the rest.</p>""");
    }

    /// <summary>A parse error with the expression's line and a caret under the failing position.</summary>
    internal static void ParseError(StringBuilder sb, string expr, string message, int position)
    {
        sb.Append($"""<div class="wk-error" role="alert"><strong>Parse error:</strong> {Html.Encode(message)}""");
        if (position >= 0 && position <= expr.Length)
        {
            var lineStart = expr.LastIndexOf('\n', Math.Max(position - 1, 0)) + 1;
            if (position == 0) lineStart = 0;
            var lineEnd = expr.IndexOf('\n', position);
            var line = expr[lineStart..(lineEnd < 0 ? expr.Length : lineEnd)];
            sb.Append($"""<pre class="wk-caret">{Html.Encode(line)}{"\n"}{new string(' ', position - lineStart)}^</pre>""");
        }
        sb.Append("</div>");
    }

    private static void GraphPanel(StringBuilder sb, string expr, long nowMs, long rangeMs, long stepMs)
    {
        var start = nowMs - rangeMs;
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"""<div id="wk-graph" class="wk-graph" data-expr="{Html.Encode(expr)}" data-start="{(start / 1000.0).ToString("0.###", inv)}" data-end="{(nowMs / 1000.0).ToString("0.###", inv)}" data-step="{(stepMs / 1000.0).ToString("0.###", inv)}" data-uplot="{(MonitoringAssets.HasUplot ? "bundled" : "missing")}">""");
        sb.Append(inv, $"""<p class="wk-meta">range query · {Html.Encode(Duration.Format(TimeSpan.FromMilliseconds(rangeMs)))} ending {DateTimeOffset.FromUnixTimeMilliseconds(nowMs).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", inv)} · step {Html.Encode(Duration.Format(TimeSpan.FromMilliseconds(stepMs)))}</p>""");
        sb.Append("""<div class="wk-graph-status" role="status"><noscript>The graph needs JavaScript; the Table tab works without it.</noscript></div>""");
        sb.Append("""<div class="wk-chart"></div></div>""");
    }

    /// <summary>A series as <c>name{label="value", ...}</c> with the name and label names emphasised.</summary>
    internal static string SeriesHtml(Labels l)
    {
        var sb = new StringBuilder();
        if (l.Name is { } n) sb.Append("<b>").Append(Html.Encode(n)).Append("</b>");
        sb.Append('{');
        var first = true;
        foreach (var x in l)
        {
            if (x.Name == Labels.MetricName) continue;
            if (!first) sb.Append(", ");
            first = false;
            sb.Append("<span class=\"wk-ln\">").Append(Html.Encode(x.Name)).Append("</span>=\"").Append(Html.Encode(Escape(x.Value))).Append('"');
        }
        return sb.Append('}').ToString();
    }

    private static string Escape(string v) => v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
