using System.Globalization;
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
                    return Val.OfScalar(v.Count == 1 ? v[0].V : double.NaN);
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
            case "label_join": return Val.OfVector(LabelJoin(c, t));
            case "sort":
            case "sort_desc":
                {
                    if (_isRangeQuery) Warn("sort is ineffective for range queries since results are always ordered by labels" + PosText(c));
                    var v = Eval(c.Args[0], t).Vec!;
                    var desc = name == "sort_desc";
                    var res = new List<Elem>(v);
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
                Eval(c.Args[0], t);
                return Val.OfVector([]); // native histograms are not stored
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
        foreach (var e in v) res.Add(new Elem(e.Labels, f(e.V), true));
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

    // ---- label functions --------------------------------------------------------------------

    private List<Elem> LabelReplace(Call c, long t)
    {
        var v = Eval(c.Args[0], t).Vec!;
        var dst = Eval(c.Args[1], t).Str!;
        var repl = Eval(c.Args[2], t).Str!;
        var src = Eval(c.Args[3], t).Str!;
        var pattern = Eval(c.Args[4], t).Str!;
        Regex re;
        try { re = new Regex("^(?s:" + GoRegex(pattern) + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5)); }
        catch (ArgumentException ex) { throw new QueryException("invalid regular expression in label_replace(): " + ex.Message); }
        if (!Fmt.IsValidLabelName(dst)) throw new QueryException("invalid destination label name in label_replace(): " + dst);
        var res = new List<Elem>(v.Count);
        foreach (var e in v)
        {
            var m = re.Match(e.Labels.GetOrEmpty(src));
            if (!m.Success) { res.Add(e); continue; }
            var value = ExpandTemplate(repl, m, re);
            var drop = e.DropName && dst != Labels.MetricName;
            res.Add(new Elem(SetLabel(e.Labels, dst, value), e.V, drop));
        }
        CheckUniqueLabels(res);
        return res;
    }

    private static void CheckUniqueLabels(List<Elem> res)
    {
        if (res.Count < 2) return;
        var seen = new HashSet<Labels>();
        foreach (var e in res)
            if (!seen.Add(e.Labels)) throw new QueryException("vector cannot contain metrics with the same labelset");
    }

    private List<Elem> LabelJoin(Call c, long t)
    {
        var v = Eval(c.Args[0], t).Vec!;
        var dst = Eval(c.Args[1], t).Str!;
        var sep = Eval(c.Args[2], t).Str!;
        var srcs = new List<string>();
        for (var i = 3; i < c.Args.Count; i++)
        {
            var s = Eval(c.Args[i], t).Str!;
            if (!Fmt.IsValidLabelName(s)) throw new QueryException("invalid source label name in label_join(): " + s);
            srcs.Add(s);
        }
        if (!Fmt.IsValidLabelName(dst)) throw new QueryException("invalid destination label name in label_join(): " + dst);
        var res = new List<Elem>(v.Count);
        var sb = new StringBuilder();
        foreach (var e in v)
        {
            sb.Clear();
            for (var i = 0; i < srcs.Count; i++)
            {
                if (i > 0) sb.Append(sep);
                sb.Append(e.Labels.GetOrEmpty(srcs[i]));
            }
            var drop = e.DropName && dst != Labels.MetricName;
            res.Add(new Elem(SetLabel(e.Labels, dst, sb.ToString()), e.V, drop));
        }
        CheckUniqueLabels(res);
        return res;
    }

    private static Labels SetLabel(Labels l, string name, string value)
    {
        var cur = l.Get(name);
        if (cur == value || (cur is null && value.Length == 0)) return l;
        var list = new List<Label>(l.Count + 1);
        foreach (var x in l) if (x.Name != name) list.Add(x);
        if (value.Length > 0) list.Add(new Label(name, value));
        return Labels.From(list);
    }

    /// <summary>Translates RE2-only syntax to .NET: named groups (?P&lt;n&gt;...).</summary>
    internal static string GoRegex(string p) => p.Replace("(?P<", "(?<", StringComparison.Ordinal);

    /// <summary>Go regexp.Expand semantics: $1, ${1}, $name, ${name}, $$; $name takes the longest word.</summary>
    private static string ExpandTemplate(string template, Match m, Regex re)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var ch = template[i];
            if (ch != '$' || i + 1 >= template.Length) { sb.Append(ch); continue; }
            var nx = template[i + 1];
            if (nx == '$') { sb.Append('$'); i++; continue; }
            string? name = null;
            var end = i;
            if (nx == '{')
            {
                var close = template.IndexOf('}', i + 2);
                if (close > i + 2)
                {
                    var inner = template[(i + 2)..close];
                    if (inner.All(x => char.IsAsciiLetterOrDigit(x) || x == '_')) { name = inner; end = close; }
                }
            }
            else
            {
                var j = i + 1;
                while (j < template.Length && (char.IsAsciiLetterOrDigit(template[j]) || template[j] == '_')) j++;
                if (j > i + 1) { name = template[(i + 1)..j]; end = j - 1; }
            }
            if (name is null) { sb.Append(ch); continue; }
            i = end;
            Group g;
            if (name.All(char.IsAsciiDigit))
            {
                if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var num) || num >= re.GetGroupNumbers().Length) continue;
                g = m.Groups[num];
            }
            else
            {
                if (Array.IndexOf(re.GetGroupNames(), name) < 0) continue;
                g = m.Groups[name];
            }
            if (g.Success) sb.Append(g.Value);
        }
        return sb.ToString();
    }

    /// <summary>Natural order: digit runs compare numerically.</summary>
    internal static int NaturalCompare(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                var si = i; var sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                var na = a[si..i].TrimStart('0');
                var nb = b[sj..j].TrimStart('0');
                if (na.Length != nb.Length) return na.Length.CompareTo(nb.Length);
                var c = string.CompareOrdinal(na, nb);
                if (c != 0) return c;
                continue;
            }
            if (a[i] != b[j]) return a[i].CompareTo(b[j]);
            i++; j++;
        }
        return (a.Length - i).CompareTo(b.Length - j);
    }

    // ---- classic histograms -----------------------------------------------------------------

    private readonly record struct Bucket(double Upper, double Count);

    private Dictionary<Labels, List<Bucket>>? GroupBuckets(Expr arg, List<Elem> v, out List<Labels> order)
    {
        order = [];
        var groups = new Dictionary<Labels, List<Bucket>>();
        foreach (var e in v)
        {
            // A range query sees the same bucket series at every step: parse `le` and build the group key once.
            if (!_bucketKeys.TryGetValue(e.Labels, out var info))
            {
                var bound = e.Labels.Get("le");
                info = bound is not null && TryParseBound(bound, out var ub) ? new BucketKey(DropLabels(e.Labels, ["le"], true), ub) : new BucketKey(null, 0);
                _bucketKeys[e.Labels] = info;
            }
            if (info.Group is not { } key)
            {
                Warn($"bucket label \"le\" is missing or has a malformed value of \"{e.Labels.Get("le") ?? ""}\" for metric name \"{e.Labels.Name ?? ""}\"{PosText(arg)}");
                continue;
            }
            if (!groups.TryGetValue(key, out var list)) { groups[key] = list = []; order.Add(key); }
            list.Add(new Bucket(info.Upper, e.V));
        }
        return groups;
    }

    /// <summary>A bucket series' group (its labels without <c>le</c> and name; null when <c>le</c> is missing or malformed) and bound.</summary>
    private readonly record struct BucketKey(Labels? Group, double Upper);

    private readonly Dictionary<Labels, BucketKey> _bucketKeys = [];

    private static bool TryParseBound(string s, out double v)
    {
        var t = s.Trim();
        if (t.Equals("+Inf", StringComparison.OrdinalIgnoreCase) || t.Equals("Inf", StringComparison.OrdinalIgnoreCase)) { v = double.PositiveInfinity; return true; }
        if (t.Equals("-Inf", StringComparison.OrdinalIgnoreCase)) { v = double.NegativeInfinity; return true; }
        if (t.Equals("NaN", StringComparison.OrdinalIgnoreCase)) { v = double.NaN; return true; }
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && t.Length == s.Length;
    }

    private List<Elem> HistogramQuantile(Call c, long t)
    {
        var q = Eval(c.Args[0], t).Scalar;
        var v = Eval(c.Args[1], t).Vec!;
        if (double.IsNaN(q) || q < 0 || q > 1)
            Warn($"quantile value should be between 0 and 1, got {Fmt.FloatG(q)}{PosText(c.Args[0])}");
        var groups = GroupBuckets(c.Args[1], v, out var order)!;
        var res = new List<Elem>(order.Count);
        foreach (var key in order)
        {
            var buckets = groups[key];
            var r = BucketQuantile(q, buckets, out var forced);
            if (forced) Info($"input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"{v.Find(e => DropLabels(e.Labels, ["le"], true) == key).Labels.Name ?? ""}\"{PosText(c.Args[1])}");
            res.Add(new Elem(key, r));
        }
        return res;
    }

    private List<Elem> HistogramQuantiles(Call c, long t)
    {
        var v = Eval(c.Args[0], t).Vec!;
        var label = Eval(c.Args[1], t).Str!;
        if (!Fmt.IsValidLabelName(label) || label == "le" || label == Labels.MetricName)
            throw new QueryException("invalid quantile label name " + Fmt.Quote(label));
        var qs = new List<double>();
        for (var i = 2; i < c.Args.Count; i++)
        {
            var q = Eval(c.Args[i], t).Scalar;
            if (double.IsNaN(q) || q < 0 || q > 1)
                Warn($"quantile value should be between 0 and 1, got {Fmt.FloatG(q)}{PosText(c.Args[i])}");
            qs.Add(q);
        }
        var groups = GroupBuckets(c.Args[0], v, out var order)!;
        var res = new List<Elem>(order.Count * qs.Count);
        foreach (var key in order)
        {
            if (key.Has(label)) throw new QueryException($"label {Fmt.Quote(label)} already exists in the input series {Fmt.LabelSet(key)}");
            foreach (var q in qs)
            {
                var r = BucketQuantile(q, [.. groups[key]], out var forced);
                if (forced) Info($"input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"\"{PosText(c.Args[0])}");
                res.Add(new Elem(SetLabel(key, label, Fmt.FloatPlain(q)), r));
            }
        }
        return res;
    }

    private static List<Bucket> PrepareBuckets(List<Bucket> buckets, out bool forced)
    {
        forced = false;
        buckets.Sort(static (a, b) => a.Upper.CompareTo(b.Upper));
        // Merge buckets with the same upper bound.
        var merged = new List<Bucket>(buckets.Count);
        foreach (var b in buckets)
        {
            if (merged.Count > 0 && merged[^1].Upper == b.Upper) merged[^1] = new Bucket(b.Upper, merged[^1].Count + b.Count);
            else merged.Add(b);
        }
        // Make cumulative counts non-decreasing; tiny float differences are flattened silently.
        var prev = merged.Count > 0 ? merged[0].Count : 0;
        for (var i = 1; i < merged.Count; i++)
        {
            var cur = merged[i].Count;
            if (cur == prev) continue;
            if (Math.Abs(cur - prev) <= 1e-12 * Math.Max(Math.Abs(cur), Math.Abs(prev)))
            {
                merged[i] = merged[i] with { Count = prev };
                continue;
            }
            if (cur < prev)
            {
                merged[i] = merged[i] with { Count = prev };
                forced = true;
                continue;
            }
            prev = cur;
        }
        return merged;
    }

    private static double BucketQuantile(double q, List<Bucket> input, out bool forced)
    {
        forced = false;
        if (double.IsNaN(q)) return double.NaN;
        if (q < 0) return double.NegativeInfinity;
        if (q > 1) return double.PositiveInfinity;
        if (input.Count == 0) return double.NaN;
        input.Sort(static (a, b) => a.Upper.CompareTo(b.Upper));
        if (!double.IsPositiveInfinity(input[^1].Upper)) return double.NaN;
        var b = PrepareBuckets(input, out forced);
        if (b.Count < 2) return double.NaN;
        var observations = b[^1].Count;
        if (observations == 0) return double.NaN;
        var rank = q * observations;
        var idx = 0;
        while (idx < b.Count && b[idx].Count < rank) idx++;
        if (idx >= b.Count - 1) return b[^2].Upper;
        if (idx == 0 && b[0].Upper <= 0) return b[0].Upper;
        var bucketStart = 0.0;
        var bucketEnd = b[idx].Upper;
        var count = b[idx].Count;
        if (idx > 0)
        {
            bucketStart = b[idx - 1].Upper;
            count -= b[idx - 1].Count;
            rank -= b[idx - 1].Count;
        }
        return bucketStart + (bucketEnd - bucketStart) * (rank / count);
    }

    private List<Elem> HistogramFraction(Call c, long t)
    {
        var lower = Eval(c.Args[0], t).Scalar;
        var upper = Eval(c.Args[1], t).Scalar;
        var v = Eval(c.Args[2], t).Vec!;
        var groups = GroupBuckets(c.Args[2], v, out var order)!;
        var res = new List<Elem>(order.Count);
        foreach (var key in order) res.Add(new Elem(key, BucketFraction(lower, upper, groups[key])));
        return res;
    }

    private static double BucketFraction(double lower, double upper, List<Bucket> input)
    {
        if (input.Count == 0) return double.NaN;
        input.Sort(static (a, b) => a.Upper.CompareTo(b.Upper));
        if (!double.IsPositiveInfinity(input[^1].Upper)) return double.NaN;
        var b = PrepareBuckets(input, out _);
        if (double.IsNaN(lower) || double.IsNaN(upper)) return double.NaN;
        var total = b[^1].Count;
        if (total == 0) return double.NaN;
        if (lower >= upper) return 0;
        // Observations in a bucket of infinite width sit at its infinite end; finite buckets interpolate linearly.
        // The first bucket starts at 0 when its upper bound is positive, else at -Inf.
        double Rank(double x)
        {
            for (var i = 0; i < b.Count; i++)
            {
                var hi = b[i].Upper;
                if (x >= hi) continue;
                var lo = i == 0 ? (hi > 0 ? 0 : double.NegativeInfinity) : b[i - 1].Upper;
                var before = i == 0 ? 0 : b[i - 1].Count;
                if (x <= lo) return before;
                if (double.IsNegativeInfinity(lo)) return b[i].Count;
                if (double.IsPositiveInfinity(hi)) return before;
                return before + (b[i].Count - before) * (x - lo) / (hi - lo);
            }
            return total;
        }
        return (Rank(upper) - Rank(lower)) / total;
    }
}
