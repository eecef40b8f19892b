using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// <c>/query?expr=...&amp;range=1h&amp;step=&amp;tab=table|graph</c>: a PromQL console. The Table tab is an
/// instant query evaluated here, so it works without JavaScript; the Graph tab draws the range query
/// from <c>/prometheus/api/v1/query_range</c> with uPlot (query.js).
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

    public static IResult Handle(HttpContext http, MetricsRuntime runtime, string? expr, string? range, string? step, string? tab)
    {
        var ctx = new PageContext(http);
        var model = Build(runtime, ctx.Now.ToUnixTimeMilliseconds(), expr, range, step, tab, http.RequestAborted);
        return Pages.Render<QueryView>(new()
        {
            [nameof(QueryView.Ctx)] = ctx,
            [nameof(QueryView.Model)] = model,
            [nameof(QueryView.Title)] = model.Expr.Length == 0 ? "Query" : "Query: " + Truncate(model.Expr, 60),
        });
    }

    /// <summary>Reads the form, falls back to sane range and step values (saying so), and runs the Table tab's instant query.</summary>
    internal static QueryModel Build(MetricsRuntime runtime, long nowMs, string? expr, string? range, string? step, string? tab, CancellationToken ct)
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

        QueryResult? result = null;
        string? parseError = null;
        var parsePosition = -1;
        if (expr.Length > 0 && !graph)
        {
            try
            {
                result = runtime.Engine.Instant(runtime.Querier, expr, nowMs, ct);
            }
            catch (ParseException p)
            {
                parseError = p.Message;
                parsePosition = p.Position;
            }
            catch (QueryException q)
            {
                return new QueryModel(expr, graph, rangeText, stepText, rangeMs, stepMs, nowMs, problems, null, null, -1,
                    $"Query failed ({q.Kind.ToString().ToLowerInvariant()}):", q.Message);
            }
        }
        return new QueryModel(expr, graph, rangeText, stepText, rangeMs, stepMs, nowMs, problems, result, parseError, parsePosition, null, null);
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

/// <summary>What the /query page shows: the form's values, the range and step used, and the Table tab's result or error.</summary>
public sealed record QueryModel(string Expr, bool Graph, string RangeText, string StepText, long RangeMs, long StepMs, long NowMs, IReadOnlyList<string> Problems,
    QueryResult? Result, string? ParseError, int ParsePosition, string? QueryErrorTitle, string? QueryError)
{
    public static IReadOnlyList<string> Ranges { get; } = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "1w"];
}
