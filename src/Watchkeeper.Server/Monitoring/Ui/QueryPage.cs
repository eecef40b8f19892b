using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// <c>/query?expr=...&amp;range=1h&amp;step=&amp;end=&amp;unit=&amp;tab=table|graph&amp;time=</c>: a PromQL console. The Table
/// tab is an instant query evaluated here at <c>time</c> (empty: now), so it works without JavaScript; the Graph tab draws
/// the range query ending at <c>end</c> (empty: now) from <c>/prometheus/api/v1/query_range</c> with uPlot (query.js),
/// its y-axis in <c>unit</c> (Grafana's unit ids, as on dashboards).
/// </summary>
public static class QueryPage
{
    internal const int MaxRows = 1000;

    /// <summary>The operations manual's dashboard expressions (section 1.2).</summary>
    internal static readonly (string Title, string Expr)[] Examples =
    [
        ("Platform health", """up{job=~"api-service|web-interface"}"""),
        ("API response time (p95)", "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m]))"),
        ("5xx error rate", """rate(http_requests_total{status=~"5.."}[5m])"""),
    ];

    /// <summary>The y-axis units offered on the Graph tab.</summary>
    internal static readonly (string Id, string Label)[] UnitChoices =
    [
        ("", "short"), ("s", "seconds"), ("ms", "milliseconds"), ("percent", "percent (0-100)"), ("percentunit", "percent (0.0-1.0)"),
        ("bytes", "bytes"), ("Bps", "bytes/s"), ("reqps", "requests/s"), ("ops", "operations/s"), ("none", "none"),
    ];

    public static IResult Handle(HttpContext http, MetricsRuntime runtime, string? expr, string? range, string? step, string? tab, QueryTimes? times = null)
    {
        var ctx = new PageContext(http);
        var model = Build(runtime, ctx.Now.ToUnixTimeMilliseconds(), expr, range, step, tab, http.RequestAborted, times);
        return Pages.Render<QueryView>(new()
        {
            [nameof(QueryView.Ctx)] = ctx,
            [nameof(QueryView.Model)] = model,
            [nameof(QueryView.Title)] = model.Expr.Length == 0 ? "Query" : "Query: " + Truncate(model.Expr, 60),
        });
    }

    /// <summary>Reads the form, falls back to sane range and step values (saying so), and runs the Table tab's instant query.</summary>
    internal static QueryModel Build(MetricsRuntime runtime, long nowMs, string? expr, string? range, string? step, string? tab, CancellationToken ct, QueryTimes? times = null)
    {
        expr = expr?.Trim() ?? "";
        var graph = tab == "graph";
        var problems = new List<string>();
        var endText = times?.End?.Trim() ?? "";
        var timeText = times?.Time?.Trim() ?? "";
        var unit = UnitChoices.Any(u => u.Id == times?.Unit) ? times!.Unit! : "";
        // The graph's end and the table's evaluation time: empty is now; now-1h, RFC 3339, Unix seconds or 2026-11-02T08:00 (UTC).
        long At(ref string text, string what)
        {
            if (text.Length == 0 || text == "now") { text = ""; return nowMs; }
            if (Dashboards.TimeRange.TryParseTime(text, nowMs, roundUp: false, out var ms, out var error)) return ms;
            problems.Add($"{what} \"{text}\" is not a time ({error}); using now.");
            text = "";
            return nowMs;
        }
        var endMs = At(ref endText, "End");
        var evalMs = At(ref timeText, "Evaluation time");
        var rangeText = string.IsNullOrWhiteSpace(range) ? "1h" : range.Trim();
        var stepText = step?.Trim() ?? "";
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

        QueryResult? result = null;
        string? parseError = null;
        var parsePosition = -1;
        if (expr.Length > 0 && !graph)
        {
            try
            {
                result = runtime.Engine.Instant(runtime.Querier, expr, evalMs, ct);
            }
            catch (ParseException p)
            {
                parseError = p.Message;
                parsePosition = p.Position;
            }
            catch (QueryException q)
            {
                return new QueryModel(expr, graph, rangeText, stepText, rangeMs, stepMs, graph ? endMs : evalMs, problems, null, null, -1,
                    $"Query failed ({q.Kind.ToString().ToLowerInvariant()}):", q.Message) { EndText = endText, TimeText = timeText, Unit = unit };
            }
        }
        return new QueryModel(expr, graph, rangeText, stepText, rangeMs, stepMs, graph ? endMs : evalMs, problems, result, parseError, parsePosition, null, null)
        {
            EndText = endText, TimeText = timeText, Unit = unit,
        };
    }

    /// <summary>About 250 points across the range, in whole seconds, at least one second (as Prometheus's UI picks).</summary>
    internal static long AutoStep(long rangeMs) => Math.Max(rangeMs / 250 / 1000, 1) * 1000;

    /// <summary>A native histogram as its count and sum (the graph draws float series only).</summary>
    internal static string HistogramText(FloatHistogram h) =>
        $"histogram: count {PrometheusApi.FormatValue(h.Count)}, sum {PrometheusApi.FormatValue(h.Sum)}";

    /// <summary>The line of the expression that holds <paramref name="position"/> and a caret line under it, or null.</summary>
    internal static string? Caret(string expr, int position)
    {
        if (position < 0 || position > expr.Length) return null;
        var lineStart = expr.LastIndexOf('\n', Math.Max(position - 1, 0)) + 1;
        if (position == 0) lineStart = 0;
        var lineEnd = expr.IndexOf('\n', position);
        var line = expr[lineStart..(lineEnd < 0 ? expr.Length : lineEnd)];
        return line + "\n" + new string(' ', position - lineStart) + "^";
    }

    /// <summary>A label value as PromQL writes it inside quotes.</summary>
    internal static string Escape(string v) => v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    internal static string Seconds(long ms) => (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}

/// <summary>The graph's end time, the table's evaluation time and the graph's y-axis unit, as typed in the form.</summary>
public sealed record QueryTimes(string? End, string? Time, string? Unit);

/// <summary>What the /query page shows: the form's values, the range and step used, and the Table tab's result or error.
/// <see cref="NowMs"/> is the graph's end or the table's evaluation time.</summary>
public sealed record QueryModel(string Expr, bool Graph, string RangeText, string StepText, long RangeMs, long StepMs, long NowMs, IReadOnlyList<string> Problems,
    QueryResult? Result, string? ParseError, int ParsePosition, string? QueryErrorTitle, string? QueryError)
{
    public static IReadOnlyList<string> Ranges { get; } = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "1w"];
    public string EndText { get; init; } = "";
    public string TimeText { get; init; } = "";
    public string Unit { get; init; } = "";
}
