using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Server.Dashboards;

/// <summary>Reductions of a series (Grafana's calcs): last, lastNotNull, first, min, max, mean, sum, count.</summary>
public readonly record struct SeriesStats(double Last, double LastNotNull, double First, double Min, double Max, double Mean, double Sum, int Count)
{
    public static SeriesStats Of(double[] values)
    {
        double min = double.NaN, max = double.NaN, sum = 0, first = double.NaN, lastNotNull = double.NaN;
        var n = 0;
        foreach (var v in values)
        {
            if (double.IsNaN(v)) continue;
            if (n == 0) { first = v; min = v; max = v; }
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            lastNotNull = v;
            n++;
        }
        return new SeriesStats(values.Length > 0 ? values[^1] : double.NaN, lastNotNull, first, min, max, n > 0 ? sum / n : double.NaN, n > 0 ? sum : double.NaN, n);
    }

    /// <summary>A calc by its Grafana id; unknown ids read as lastNotNull.</summary>
    public double Get(string calc) => calc switch
    {
        "last" => Last,
        "first" or "firstNotNull" => First,
        "min" => Min,
        "max" => Max,
        "mean" or "avg" => Mean,
        "sum" or "total" => Sum,
        "count" => Count,
        "range" => Max - Min,
        "delta" or "diff" => LastNotNull - First,
        _ => LastNotNull,
    };

    public static string Label(string calc) => calc switch
    {
        "lastNotNull" or "current" => "Last",
        "last" => "Last *",
        "mean" or "avg" => "Mean",
        "min" => "Min",
        "max" => "Max",
        "sum" or "total" => "Total",
        "first" or "firstNotNull" => "First",
        "count" => "Count",
        "range" => "Range",
        "delta" or "diff" => "Delta",
        var c => c,
    };
}

/// <summary>One series of a panel on the panel's time grid (NaN where there is no sample).</summary>
public sealed record SeriesData(string Name, Labels Labels, string RefId, double[] Values, SeriesStats Stats);

/// <summary>A histogram heatmap: bucket upper bounds (<c>le</c>) and, per time step, the count in each bucket.</summary>
public sealed record HeatmapData(IReadOnlyList<string> Buckets, double[][] Counts, double MaxCount);

/// <summary>A table of instant results: the label columns and one row per series.</summary>
public sealed record TableData(IReadOnlyList<string> Columns, IReadOnlyList<string> ValueColumns, IReadOnlyList<(Labels Labels, double[] Values)> Rows);

/// <summary>What a panel shows for one view: its series on the time grid, or its table, heatmap, or errors.</summary>
public sealed record PanelResult(Panel Panel, string Title, long StartMs, long StepMs, int Points, IReadOnlyList<SeriesData> Series, int TotalSeries,
    IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings, TableData? Table, HeatmapData? Heatmap, IReadOnlyList<string> Queries)
{
    public long TimeAt(int i) => StartMs + i * StepMs;
}

/// <summary>
/// Evaluates a dashboard's panels in process with the PromQL engine: each target's expression with the variables
/// interpolated, as a range query over the panel's grid (step = <c>$__interval</c>, ending at the end of the range),
/// or as an instant query at the end of the range (<c>instant</c> targets, tables, and stat/gauge/bar gauge panels
/// reduced to their last value).
/// </summary>
public static partial class PanelData
{
    /// <summary>A range result's series as one value per step (NaN where it has none; a histogram counts as its count).</summary>
    internal static double[] StepValues(MatrixSeries s, long startMs, long stepMs, int points)
    {
        var vals = new double[points];
        Array.Fill(vals, double.NaN);
        foreach (var p in s.Floats)
        {
            var k = (int)((p.T - startMs) / stepMs);
            if ((uint)k < (uint)points) vals[k] = p.V;
        }
        foreach (var p in s.Histograms)
        {
            var k = (int)((p.T - startMs) / stepMs);
            if ((uint)k < (uint)points) vals[k] = p.H.Count;
        }
        return vals;
    }

    public const int MaxSeriesPerPanel = 200;
    public const int MaxPoints = 11_000;

    [GeneratedRegex(@"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")]
    private static partial Regex LegendRef();

    public static PanelResult Evaluate(Panel panel, IReadOnlyList<ResolvedVariable> vars, TimeRange range, Engine engine, ISeriesQuerier querier,
        long scrapeIntervalMs, CancellationToken ct)
    {
        var maxPoints = panel.MaxDataPoints ?? Math.Max(panel.Pos.W * 25, 100);
        var title = Variables.Interpolate(panel.Title, vars, range, 60_000, scrapeIntervalMs);
        var errors = new List<string>();
        var warnings = new List<string>();
        var queries = new List<string>();
        var raw = new List<(string RefId, string Legend, Labels Labels, double[] Values)>();
        var instantRows = new List<(string RefId, Labels Labels, double V)>();

        var minInterval = panel.Interval;
        var intervalMs = Variables.IntervalMs(range, maxPoints, minInterval, scrapeIntervalMs);
        var stepMs = Math.Max(intervalMs, (range.RangeMs + MaxPoints - 1) / MaxPoints);
        // The grid ends at the end of the range, so the last point (stats, legends' "last") is the value now.
        var endMs = range.ToMs;
        var startMs = endMs - (endMs - range.FromMs) / stepMs * stepMs;
        var points = (int)((endMs - startMs) / stepMs) + 1;
        var instantPanel = panel.Type is "table" or "table-old";
        // A stat, gauge or bar gauge that shows the last value needs one point, not the range (no sparkline is drawn).
        var lastOnly = panel.IsReduced && panel.ReduceCalc is "lastNotNull" or "last" or "current";

        foreach (var t in panel.Targets)
        {
            if (t.Hide || t.Expr.Trim().Length == 0) continue;
            var tInterval = t.Interval.Length > 0 ? Variables.IntervalMs(range, maxPoints, t.Interval, scrapeIntervalMs) : intervalMs;
            var expr = Variables.Interpolate(t.Expr, vars, range, tInterval, scrapeIntervalMs);
            queries.Add(expr);
            try
            {
                if (t.Instant || instantPanel || lastOnly)
                {
                    var r = engine.Instant(querier, expr, range.ToMs, ct);
                    warnings.AddRange(r.Warnings);
                    switch (r.Value)
                    {
                        case VectorResult v:
                            foreach (var s in v.Samples)
                            {
                                instantRows.Add((t.RefId, s.Labels, s.H is null ? s.V : s.H.Count));
                                var vals = new double[points];
                                Array.Fill(vals, double.NaN);
                                vals[^1] = s.H is null ? s.V : s.H.Count;
                                raw.Add((t.RefId, t.LegendFormat, s.Labels, vals));
                            }
                            break;
                        case ScalarResult s:
                            instantRows.Add((t.RefId, Labels.Empty, s.V));
                            var sv = new double[points];
                            Array.Fill(sv, double.NaN);
                            sv[^1] = s.V;
                            raw.Add((t.RefId, t.LegendFormat, Labels.Empty, sv));
                            break;
                    }
                }
                else
                {
                    var r = engine.Range(querier, expr, startMs, endMs, stepMs, ct);
                    warnings.AddRange(r.Warnings);
                    if (r.Value is MatrixResult m)
                    {
                        foreach (var s in m.Series)
                        {
                            var vals = StepValues(s, startMs, stepMs, points);
                            raw.Add((t.RefId, t.LegendFormat, s.Labels, vals));
                        }
                    }
                }
            }
            catch (ParseException e)
            {
                errors.Add($"Query {t.RefId}: parse error: {e.Message}");
            }
            catch (QueryException e)
            {
                errors.Add($"Query {t.RefId}: {e.Message}");
            }
        }

        var common = CommonLabels(raw.Select(r => r.Labels).ToList());
        var series = raw.Take(MaxSeriesPerPanel)
            .Select(r => new SeriesData(Name(r.Legend, r.Labels, common, raw.Count, queries.FirstOrDefault() ?? ""), r.Labels, r.RefId, r.Values, SeriesStats.Of(r.Values)))
            .ToList();

        TableData? table = instantPanel ? Table(instantRows, panel.Targets.Count(t => !t.Hide) > 1) : null;
        HeatmapData? heatmap = panel.Type == "heatmap" ? Heatmap(series, points) : null;
        return new PanelResult(panel, title, startMs, stepMs, points, series, raw.Count, errors, warnings.Distinct().ToList(), table, heatmap, queries);
    }

    /// <summary>Labels (name and value) that every series has, when there are at least two series.</summary>
    public static HashSet<Label> CommonLabels(IReadOnlyList<Labels> all)
    {
        if (all.Count < 2) return [];
        var common = new HashSet<Label>(all[0]);
        foreach (var l in all.Skip(1))
        {
            common.IntersectWith(l);
            if (common.Count == 0) break;
        }
        return common;
    }

    /// <summary>
    /// A series' display name: its <c>legendFormat</c> with <c>{{label}}</c> filled in, else its labels without those all
    /// series share (<c>{instance="a"}</c> rather than the full set repeated on every row).
    /// </summary>
    public static string Name(string legendFormat, Labels labels, HashSet<Label> common, int seriesCount, string expr)
    {
        if (legendFormat.Length > 0 && legendFormat != "__auto")
            return LegendRef().Replace(legendFormat, m => labels.GetOrEmpty(m.Groups[1].Value));
        // The metric name stays (it says what is measured); the labels every series shares go.
        var name = labels.Name;
        var rest = labels.Where(l => l.Name != Labels.MetricName && !common.Contains(l)).ToList();
        if (rest.Count == 0) return seriesCount == 1 && labels.Count > 0 ? labels.ToString() : name ?? expr;
        var sb = new StringBuilder(name);
        sb.Append('{');
        for (var i = 0; i < rest.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(rest[i].Name).Append("=\"").Append(rest[i].Value).Append('"');
        }
        return sb.Append('}').ToString();
    }

    private static TableData Table(List<(string RefId, Labels Labels, double V)> rows, bool severalTargets)
    {
        var columns = rows.SelectMany(r => r.Labels.Select(l => l.Name)).Distinct().OrderBy(n => n == Labels.MetricName ? "" : n, StringComparer.Ordinal).ToList();
        var refIds = rows.Select(r => r.RefId).Distinct().ToList();
        var valueColumns = refIds.Count > 1 || severalTargets ? refIds.Select(r => "Value #" + r).ToList() : ["Value"];
        // Several targets: one row per label set, a value column per target (Grafana's "merge" of table results).
        var merged = new Dictionary<Labels, double[]>();
        var order = new List<Labels>();
        foreach (var (refId, labels, v) in rows.Take(MaxSeriesPerPanel * 5))
        {
            var key = refIds.Count > 1 ? labels.WithoutName() : labels;
            if (!merged.TryGetValue(key, out var vals))
            {
                vals = new double[valueColumns.Count];
                Array.Fill(vals, double.NaN);
                merged[key] = vals;
                order.Add(key);
            }
            vals[refIds.Count > 1 ? refIds.IndexOf(refId) : 0] = v;
        }
        if (refIds.Count > 1) columns.Remove(Labels.MetricName);
        return new TableData(columns, valueColumns, order.Select(l => (l, merged[l])).ToList());
    }

    /// <summary>Series with an <c>le</c> label as histogram buckets: sorted by bound, de-accumulated per time step.</summary>
    private static HeatmapData? Heatmap(List<SeriesData> series, int points)
    {
        var buckets = series.Where(s => s.Labels.Has("le"))
            .GroupBy(s => s.Labels.GetOrEmpty("le"))
            .Select(g => (Le: g.Key, Bound: ParseLe(g.Key), Values: SumValues(g.Select(s => s.Values).ToList(), points)))
            .OrderBy(b => b.Bound).ToList();
        if (buckets.Count == 0) return null;
        var counts = new double[points][];
        double max = 0;
        for (var i = 0; i < points; i++)
        {
            counts[i] = new double[buckets.Count];
            var prev = 0.0;
            for (var b = 0; b < buckets.Count; b++)
            {
                var v = buckets[b].Values[i];
                var c = double.IsNaN(v) ? double.NaN : Math.Max(v - prev, 0);
                if (!double.IsNaN(v)) prev = v;
                counts[i][b] = c;
                if (c > max) max = c;
            }
        }
        return new HeatmapData(buckets.Select(b => b.Le).ToList(), counts, max);
    }

    private static double ParseLe(string le) => le == "+Inf" ? double.PositiveInfinity
        : double.TryParse(le, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.MaxValue;

    private static double[] SumValues(List<double[]> all, int points)
    {
        var sum = new double[points];
        for (var i = 0; i < points; i++)
        {
            double s = 0;
            var any = false;
            foreach (var a in all)
                if (!double.IsNaN(a[i])) { s += a[i]; any = true; }
            sum[i] = any ? s : double.NaN;
        }
        return sum;
    }
}
