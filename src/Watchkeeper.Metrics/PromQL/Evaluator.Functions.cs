using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

internal sealed partial class Evaluator
{
    private Val EvalCall(Call c, long t)
    {
        var name = c.Func.Name;
        switch (name)
        {
            case "time": return Val.OfScalar(t / 1000.0);
            case "pi": return Val.OfScalar(Math.PI);
            case "step": return Val.OfScalar(_interval / 1000.0);
            case "range": return Val.OfScalar((_end - _start) / 1000.0);
            case "start": return Val.OfScalar(_start / 1000.0);
            case "end": return Val.OfScalar(_end / 1000.0);
            case "min_of": return Val.OfScalar(GoMin(Eval(c.Args[0], t).Scalar, Eval(c.Args[1], t).Scalar));
            case "max_of": return Val.OfScalar(GoMax(Eval(c.Args[0], t).Scalar, Eval(c.Args[1], t).Scalar));
            case "histogram_quantiles": return Val.OfVector(HistogramQuantiles(c, t));
            case "vector": return Val.OfVector([new Elem(Labels.Empty, Eval(c.Args[0], t).Scalar)]);
            case "scalar":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    var found = double.NaN;
                    var floats = 0;
                    foreach (var e in v) if (e.H is null) { floats++; found = e.V; }
                    return Val.OfScalar(floats == 1 ? found : double.NaN);
                }
            case "timestamp":
                {
                    var arg = c.Args[0];
                    while (arg is ParenExpr p) arg = p.Inner;
                    if (arg is VectorSelector vs)
                    {
                        var sel = SelectInstant(vs, t, true);
                        for (var i = 0; i < sel.Count; i++) sel[i] = sel[i] with { DropName = true };
                        return Val.OfVector(sel);
                    }
                    var v = Eval(c.Args[0], t).Vec!;
                    return Val.OfVector(Map(v, _ => t / 1000.0));
                }
            case "absent":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    if (v.Count > 0) return Val.OfVector([]);
                    return Val.OfVector([new Elem(AbsentLabels(c.Args[0]), 1)]);
                }
            case "absent_over_time":
                {
                    var (m, _, _) = EvalRangeArg(c.Args[0], t);
                    if (m.Count > 0) return Val.OfVector([]);
                    return Val.OfVector([new Elem(AbsentLabels(c.Args[0]), 1)]);
                }
            case "label_replace": return Val.OfVector(LabelReplace(c, t));
            case "info": return Val.OfVector(EvalInfo(c, t));
            case "label_join": return Val.OfVector(LabelJoin(c, t));
            case "sort":
            case "sort_desc":
                {
                    if (_isRangeQuery) Warn("sort is ineffective for range queries since results are always ordered by labels" + PosText(c));
                    var v = Eval(c.Args[0], t).Vec!;
                    var desc = name == "sort_desc";
                    var res = v.FindAll(static e => e.H is null); // histograms have no order
                    res.Sort((x, y) =>
                    {
                        if (double.IsNaN(x.V)) return double.IsNaN(y.V) ? 0 : 1;
                        if (double.IsNaN(y.V)) return -1;
                        return desc ? y.V.CompareTo(x.V) : x.V.CompareTo(y.V);
                    });
                    return Val.OfVector(res);
                }
            case "sort_by_label":
            case "sort_by_label_desc":
                {
                    if (_isRangeQuery) Warn("sort is ineffective for range queries since results are always ordered by labels" + PosText(c));
                    var v = Eval(c.Args[0], t).Vec!;
                    var names = new List<string>();
                    for (var i = 1; i < c.Args.Count; i++) names.Add(Eval(c.Args[i], t).Str!);
                    var desc = name == "sort_by_label_desc";
                    var res = new List<Elem>(v);
                    res.Sort((x, y) =>
                    {
                        var r = 0;
                        foreach (var n in names)
                        {
                            r = NaturalCompare(x.Labels.GetOrEmpty(n), y.Labels.GetOrEmpty(n));
                            if (r != 0) break;
                        }
                        if (r == 0) r = x.Labels.CompareTo(y.Labels);
                        return desc ? -r : r;
                    });
                    return Val.OfVector(res);
                }
            case "histogram_quantile": return Val.OfVector(HistogramQuantile(c, t));
            case "histogram_fraction": return Val.OfVector(HistogramFraction(c, t));
            case "histogram_count" or "histogram_sum" or "histogram_avg" or "histogram_stddev" or "histogram_stdvar":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    var res = new List<Elem>(v.Count);
                    foreach (var e in v)
                    {
                        if (e.H is not { } h) continue;
                        double r = name switch
                        {
                            "histogram_count" => h.Count,
                            "histogram_sum" => h.Sum,
                            "histogram_avg" => h.Sum / h.Count,
                            "histogram_stdvar" => HistogramMath.Variance(h),
                            _ => Math.Sqrt(HistogramMath.Variance(h)),
                        };
                        res.Add(new Elem(e.Labels, r, true));
                    }
                    return Val.OfVector(res);
                }
        }

        // Instant-vector math functions.
        Func<double, double>? f = name switch
        {
            "abs" => Math.Abs,
            "ceil" => Math.Ceiling,
            "floor" => Math.Floor,
            "exp" => Math.Exp,
            "sqrt" => Math.Sqrt,
            "ln" => Math.Log,
            "log2" => Math.Log2,
            "log10" => Math.Log10,
            "sgn" => static x => double.IsNaN(x) ? x : x > 0 ? 1 : x < 0 ? -1 : 0,
            "acos" => Math.Acos, "acosh" => Math.Acosh, "asin" => Math.Asin, "asinh" => Math.Asinh,
            "atan" => Math.Atan, "atanh" => Math.Atanh, "cos" => Math.Cos, "cosh" => Math.Cosh,
            "sin" => Math.Sin, "sinh" => Math.Sinh, "tan" => Math.Tan, "tanh" => Math.Tanh,
            "deg" => static x => x * 180 / Math.PI,
            "rad" => static x => x * Math.PI / 180,
            _ => null,
        };
        if (f is not null) return Val.OfVector(Map(Eval(c.Args[0], t).Vec!, f));

        switch (name)
        {
            case "clamp":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    var min = Eval(c.Args[1], t).Scalar;
                    var max = Eval(c.Args[2], t).Scalar;
                    if (max < min) return Val.OfVector([]);
                    return Val.OfVector(Map(v, x => GoMax(min, GoMin(max, x))));
                }
            case "clamp_max":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    var max = Eval(c.Args[1], t).Scalar;
                    return Val.OfVector(Map(v, x => GoMin(max, x)));
                }
            case "clamp_min":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    var min = Eval(c.Args[1], t).Scalar;
                    return Val.OfVector(Map(v, x => GoMax(min, x)));
                }
            case "round":
                {
                    var v = Eval(c.Args[0], t).Vec!;
                    var to = c.Args.Count > 1 ? Eval(c.Args[1], t).Scalar : 1;
                    var inv = 1 / to;
                    return Val.OfVector(Map(v, x => Math.Floor(x * inv + 0.5) / inv));
                }
            case "day_of_month" or "day_of_week" or "day_of_year" or "days_in_month" or "hour" or "minute" or "month" or "year":
                {
                    var v = c.Args.Count == 0 ? [new Elem(Labels.Empty, t / 1000.0)] : Eval(c.Args[0], t).Vec!;
                    var res = new List<Elem>(v.Count);
                    foreach (var e in v)
                    {
                        if (e.H is not null) continue;
                        if (double.IsNaN(e.V) || double.IsInfinity(e.V)) { res.Add(new Elem(e.Labels, double.NaN, true)); continue; }
                        var dt = DateTimeOffset.UnixEpoch.AddSeconds(Math.Truncate(e.V)).UtcDateTime;
                        double r = name switch
                        {
                            "day_of_month" => dt.Day,
                            "day_of_week" => (int)dt.DayOfWeek,
                            "day_of_year" => dt.DayOfYear,
                            "days_in_month" => DateTime.DaysInMonth(dt.Year, dt.Month),
                            "hour" => dt.Hour,
                            "minute" => dt.Minute,
                            "month" => dt.Month,
                            _ => dt.Year,
                        };
                        res.Add(new Elem(e.Labels, r, true));
                    }
                    return Val.OfVector(res);
                }
        }

        return EvalRangeFunction(c, t);
    }

    private static double GoMax(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b);
    private static double GoMin(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Min(a, b);

    private List<Elem> Map(List<Elem> v, Func<double, double> f)
    {
        var res = new List<Elem>(v.Count);
        foreach (var e in v) if (e.H is null) res.Add(new Elem(e.Labels, f(e.V), true));
        AddSamples(res.Count);
        return res;
    }

    /// <summary>Labels for absent(): the equality matchers of a selector argument, except names matched more than once.</summary>
    private static Labels AbsentLabels(Expr arg)
    {
        while (arg is ParenExpr p) arg = p.Inner;
        IReadOnlyList<LabelMatcher>? ms = arg switch
        {
            VectorSelector vs => vs.Matchers,
            MatrixSelector m => m.Selector.Matchers,
            _ => null,
        };
        if (ms is null) return Labels.Empty;
        var list = new List<Label>();
        var dup = new HashSet<string>();
        foreach (var m in ms)
        {
            if (m.Name == Labels.MetricName) continue;
            if (m.Type == MatchOp.Equal && !list.Exists(l => l.Name == m.Name)) list.Add(new Label(m.Name, m.Value));
            else if (list.Exists(l => l.Name == m.Name)) dup.Add(m.Name);
        }
        list.RemoveAll(l => dup.Contains(l.Name));
        return Labels.From(list);
    }
}
