using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary>
/// <c>/query?g0.expr=...&amp;g0.tab=table|graph&amp;g0.range_input=1h&amp;g0.end_input=&amp;g0.moment_input=&amp;g0.step_input=&amp;g0.unit=&amp;g1.expr=...</c>:
/// a PromQL console of one or more query panels (<see cref="QueryPanels"/>), every one evaluated here so the page works
/// without JavaScript. The Table tab is an instant query at the evaluation time (<c>moment_input</c>, empty: now); the
/// Graph tab is the range query ending at <c>end_input</c> (empty: now), drawn by the dashboards' chart and legend
/// (<see cref="Dashboards.Ui.TimeSeriesChart"/>: server SVG, uPlot in the browser) in <c>unit</c>.
/// </summary>
public static class QueryPage
{
    internal const int MaxRows = 1000;

    /// <summary>The most values one graph hands to the page (series × points).</summary>
    internal const int MaxGraphValues = 500_000;

    /// <summary>The legend's columns on the Graph tab (as a dashboard's legend table).</summary>
    internal static readonly string[] LegendCalcs = ["lastNotNull", "min", "max", "mean"];

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

    public static IResult Handle(HttpContext http, MetricsRuntime runtime)
    {
        var req = QueryPanels.Read(http.Request.Query);
        // Add and Remove are buttons of the one form: the page answers with the link of the new set of panels.
        if (req.ChangesPanels && req.Problems.Count == 0) return Results.Redirect(QueryPanels.Url(QueryPanels.Apply(req)));
        var ctx = new PageContext(http);
        var now = ctx.Now.ToUnixTimeMilliseconds();
        var models = req.Panels.Select(p => Build(runtime, now, p, http.RequestAborted)).ToList();
        var first = models.FirstOrDefault(m => m.Expr.Length > 0)?.Expr ?? "";
        return Pages.Render<QueryView>(new()
        {
            [nameof(QueryView.Ctx)] = ctx,
            [nameof(QueryView.Panels)] = models,
            [nameof(QueryView.Inputs)] = req.Panels,
            [nameof(QueryView.Problems)] = req.Problems,
            [nameof(QueryView.Title)] = first.Length == 0 ? "Query" : "Query: " + Truncate(first, 60),
        });
    }

    /// <summary>Reads one panel's form, falls back to sane range and step values (saying so), and runs its query.</summary>
    internal static QueryModel Build(MetricsRuntime runtime, long nowMs, QueryPanelInput input, CancellationToken ct)
    {
        var expr = input.Expr.Trim();
        var graph = input.Graph;
        var problems = new List<string>();
        var endText = input.End.Trim();
        var timeText = input.Time.Trim();
        var unit = UnitChoices.Any(u => u.Id == input.Unit) ? input.Unit : "";
        // The graph's end and the table's evaluation time: empty is now; now-1h, RFC 3339, Unix seconds or 2026-11-02T08:00 (UTC).
        long At(ref string text, string what)
        {
            if (text.Length == 0 || text == "now") { text = ""; return nowMs; }
            var error = "";
            if (text.Length <= 64 && Dashboards.TimeRange.TryParseTime(text, nowMs, roundUp: false, out var ms, out error)) return ms;
            problems.Add(text.Length > 64 ? $"{what} is not a time (it is {text.Length} characters long); using now."
                : $"{what} \"{text}\" is not a time ({error}); using now.");
            text = "";
            return nowMs;
        }
        var endMs = At(ref endText, "End");
        var evalMs = At(ref timeText, "Evaluation time");
        var rangeText = string.IsNullOrWhiteSpace(input.Range) ? "1h" : input.Range.Trim();
        var stepText = input.Step.Trim();
        if (rangeText.Length > 32 || !Duration.TryParse(rangeText, out var rangeD) || rangeD.Value <= TimeSpan.Zero || rangeD.Value > Dashboards.TimeRange.MaxRange)
        {
            problems.Add($"Range \"{Truncate(rangeText, 32)}\" is not a duration up to {Dashboards.TimeRange.MaxRange.TotalDays} days (use e.g. 15m, 1h, 2d); using 1h.");
            rangeText = "1h";
            rangeD = new Duration(TimeSpan.FromHours(1));
        }
        var rangeMs = (long)rangeD.Value.TotalMilliseconds;
        long stepMs;
        if (stepText.Length == 0) stepMs = AutoStep(rangeMs);
        else if (stepText.Length <= 32 && Duration.TryParse(stepText, out var s) && s.Value > TimeSpan.Zero) stepMs = (long)s.Value.TotalMilliseconds;
        else if (stepText.Length <= 32 && double.TryParse(stepText, NumberStyles.Float, CultureInfo.InvariantCulture, out var sec) && sec > 0 && double.IsFinite(sec)) stepMs = Math.Max((long)Math.Round(sec * 1000), 1);
        else
        {
            problems.Add($"Step \"{Truncate(stepText, 32)}\" is not a duration (use e.g. 15s, 1m); using an automatic step.");
            stepText = "";
            stepMs = AutoStep(rangeMs);
        }
        if (rangeMs / stepMs > 11_000)
        {
            problems.Add("That step gives more than 11,000 points per series; using an automatic step.");
            stepText = "";
            stepMs = AutoStep(rangeMs);
        }
        var model = new QueryModel(expr, graph, rangeText, stepText, rangeMs, stepMs, graph ? endMs : evalMs, problems, null, null, -1, null, null)
        {
            EndText = endText, TimeText = timeText, Unit = unit,
        };
        if (expr.Length > QueryPanels.MaxExprLength)
        {
            return model with
            {
                QueryErrorTitle = "Expression too long:",
                QueryError = $"it has {expr.Length:N0} characters and a panel runs at most {QueryPanels.MaxExprLength:N0}. Nothing was evaluated.",
            };
        }
        if (expr.Length == 0) return model;
        try
        {
            return graph
                ? model with { Graph = GraphData(runtime, expr, endMs, rangeMs, stepMs, unit, ct) }
                : model with { Result = runtime.Engine.Instant(runtime.Querier, expr, evalMs, ct) };
        }
        catch (ParseException p)
        {
            return model with { ParseError = p.Message, ParsePosition = p.Position };
        }
        catch (QueryException q)
        {
            return model with { QueryErrorTitle = $"Query failed ({q.Kind.ToString().ToLowerInvariant()}):", QueryError = q.Message };
        }
    }

    /// <summary>
    /// The Graph tab's range query as a dashboard time-series panel's data: one point per step ending at the end time,
    /// series named without the labels they all share, legend statistics in the chosen unit.
    /// </summary>
    internal static GraphModel GraphData(MetricsRuntime runtime, string expr, long endMs, long rangeMs, long stepMs, string unit, CancellationToken ct)
    {
        var startMs = endMs - rangeMs / stepMs * stepMs;
        var points = (int)((endMs - startMs) / stepMs) + 1;
        var r = runtime.Engine.Range(runtime.Querier, expr, startMs, endMs, stepMs, ct);
        var raw = new List<(Labels Labels, double[] Values)>();
        if (r.Value is MatrixResult m)
        {
            foreach (var s in m.Series)
            {
                var vals = Dashboards.PanelData.StepValues(s, startMs, stepMs, points);
                raw.Add((s.Labels, vals));
            }
        }
        var common = Dashboards.PanelData.CommonLabels(raw.Select(x => x.Labels).ToList());
        // The page carries every drawn value (for the interactive chart): at most 500,000 per panel, fewer series when each has many points.
        var shown = Math.Clamp(MaxGraphValues / points, 1, Dashboards.PanelData.MaxSeriesPerPanel);
        var series = raw.Take(shown)
            .Select(x => new Dashboards.SeriesData(Dashboards.PanelData.Name("", x.Labels, common, raw.Count, expr), x.Labels, "A", x.Values, Dashboards.SeriesStats.Of(x.Values)))
            .ToList();
        var panel = new Dashboards.Panel(0, "timeseries", expr, "", new Dashboards.GridPos(0, 0, 24, 12),
            [new Dashboards.Target("A", expr, "", false, "", "", false)], Dashboards.FieldConfig.Default with { Unit = unit },
            new Dashboards.LegendOptions("table", LegendCalcs), "lastNotNull", "", "", "", null, "", false, []);
        var result = new Dashboards.PanelResult(panel, expr, startMs, stepMs, points, series, raw.Count, [], r.Warnings.Distinct().ToList(), null, null, [expr]);
        var commonText = string.Join(", ", common.Where(l => l.Name != Labels.MetricName).OrderBy(l => l.Name, StringComparer.Ordinal)
            .Select(l => $"{l.Name}=\"{Escape(l.Value)}\""));
        return new GraphModel(result, commonText, r.Infos);
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

/// <summary>The Graph tab's data as a dashboard panel's, the labels every series shares (said once above the chart) and the engine's infos.</summary>
public sealed record GraphModel(Dashboards.PanelResult Result, string CommonLabels, IReadOnlyList<string> Infos);

/// <summary>What one query panel shows: the form's values, the range and step used, and its Table or Graph result or error.
/// <see cref="NowMs"/> is the graph's end or the table's evaluation time.</summary>
public sealed record QueryModel(string Expr, bool IsGraph, string RangeText, string StepText, long RangeMs, long StepMs, long NowMs, IReadOnlyList<string> Problems,
    QueryResult? Result, string? ParseError, int ParsePosition, string? QueryErrorTitle, string? QueryError)
{
    public static IReadOnlyList<string> Ranges { get; } = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "1d", "2d", "1w"];
    public string EndText { get; init; } = "";
    public string TimeText { get; init; } = "";
    public string Unit { get; init; } = "";
    public GraphModel? Graph { get; init; }
}
