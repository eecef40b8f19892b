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

    // ---- label functions --------------------------------------------------------------------

    private List<Elem> LabelReplace(Call c, long t)
    {
        var v = Eval(c.Args[0], t).Vec!;
        var dst = Eval(c.Args[1], t).Str!;
        var repl = Eval(c.Args[2], t).Str!;
        var src = Eval(c.Args[3], t).Str!;
        var pattern = Eval(c.Args[4], t).Str!;
        if (!_regexCache.TryGetValue(pattern, out var cached))
        {
            try
            {
                var (plain, names, groups) = Re2Groups.Translate(pattern);
                var compiled = new Regex("^(?s:" + plain + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(5));
                cached = (compiled, groups + 1, names);
                _regexCache[pattern] = cached;
            }
            catch (ArgumentException ex) { throw new QueryException("invalid regular expression in label_replace(): " + ex.Message); }
        }
        var re = cached.Regex;
        if (!Fmt.IsValidLabelName(dst)) throw new QueryException("invalid destination label name in label_replace(): " + dst);
        var res = new List<Elem>(v.Count);
        foreach (var e in v)
        {
            var m = re.Match(e.Labels.GetOrEmpty(src));
            if (!m.Success) { res.Add(e); continue; }
            var value = ExpandTemplate(repl, m, cached.GroupCount, cached.GroupNames);
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


    /// <summary>Go regexp.Expand semantics: $1, ${1}, $name, ${name}, $$; $name takes the longest word.</summary>
    private readonly Dictionary<string, (Regex Regex, int GroupCount, Dictionary<string, int> GroupNames)> _regexCache = new(StringComparer.Ordinal);

    private static bool IsWord(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool AllDigits(string s)
    {
        foreach (var c in s) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    private static string ExpandTemplate(string template, Match m, int groupCount, Dictionary<string, int> groupNames)
    {
        if (!template.Contains('$', StringComparison.Ordinal)) return template;
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
                    var word = true;
                    foreach (var x in inner) if (!IsWord(x)) { word = false; break; }
                    if (word) { name = inner; end = close; }
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
            if (AllDigits(name))
            {
                if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var num) || num >= groupCount) continue;
                g = m.Groups[num];
            }
            else
            {
                if (!groupNames.TryGetValue(name, out var gi)) continue;
                g = m.Groups[gi];
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

    private static readonly string[] LeLabel = ["le"];

    /// <summary>
    /// Classic bucket series grouped by their labels without "le", for one histogram argument. The input series at
    /// each position of the last vector and their group are kept from one evaluation to the next, so a range query
    /// parses "le" and hashes labels once per series instead of once per series and step, and the bucket lists are
    /// reused. <see cref="Order"/> holds the groups present in the current evaluation, in order of first appearance.
    /// </summary>
    private sealed class BucketGroups
    {
        private Labels?[] _inputs = [];
        private int[] _slots = [];
        private double[] _uppers = [];
        private readonly Dictionary<Labels, (int Group, double Upper)> _byLabels = [];
        private readonly Dictionary<Labels, int> _groupIndex = [];
        private readonly List<Labels> _keys = [];
        private readonly List<List<Bucket>> _buckets = [];
        private readonly List<int> _stamps = [];
        private int _eval;

        public readonly List<int> Order = [];

        public Labels Key(int g) => _keys[g];

        public List<Bucket> Buckets(int g) => _buckets[g];

        public void Begin(int count)
        {
            _eval++;
            Order.Clear();
            if (_inputs.Length < count)
            {
                Array.Resize(ref _inputs, count);
                Array.Resize(ref _slots, count);
                Array.Resize(ref _uppers, count);
            }
        }

        public bool TryPosition(int i, Labels labels, out int group, out double upper)
        {
            if (ReferenceEquals(_inputs[i], labels))
            {
                group = _slots[i];
                upper = _uppers[i];
                return true;
            }
            if (_byLabels.TryGetValue(labels, out var known))
            {
                (group, upper) = known;
                SetPosition(i, labels, group, upper);
                return true;
            }
            group = -1;
            upper = 0;
            return false;
        }

        /// <summary>Records a newly parsed series: its group (by labels without "le"), or -1 when "le" is bad.</summary>
        public int Remember(int i, Labels labels, Labels? key, double upper)
        {
            var group = -1;
            if (key is not null && !_groupIndex.TryGetValue(key, out group))
            {
                group = _keys.Count;
                _groupIndex[key] = group;
                _keys.Add(key);
                _buckets.Add([]);
                _stamps.Add(0);
            }
            _byLabels[labels] = (group, upper);
            SetPosition(i, labels, group, upper);
            return group;
        }

        private void SetPosition(int i, Labels labels, int group, double upper)
        {
            _inputs[i] = labels;
            _slots[i] = group;
            _uppers[i] = upper;
        }

        public void Add(int group, double upper, double count)
        {
            var list = _buckets[group];
            if (_stamps[group] != _eval)
            {
                _stamps[group] = _eval;
                list.Clear();
                Order.Add(group);
            }
            list.Add(new Bucket(upper, count));
        }

        /// <summary>Takes a group out of the current evaluation (a native histogram has the same labels); false if absent.</summary>
        public bool Remove(Labels key)
        {
            if (!_groupIndex.TryGetValue(key, out var g) || _stamps[g] != _eval) return false;
            _stamps[g] = 0;
            return Order.Remove(g);
        }
    }

    private readonly Dictionary<Expr, BucketGroups> _bucketGroups = new(ReferenceEqualityComparer.Instance);

    /// <summary>Groups classic bucket series by their labels without "le"; bad or missing "le" is warned about and skipped.</summary>
    private BucketGroups GroupBuckets(Expr arg, List<Elem> v)
    {
        if (!_bucketGroups.TryGetValue(arg, out var groups)) _bucketGroups[arg] = groups = new BucketGroups();
        groups.Begin(v.Count);
        for (var i = 0; i < v.Count; i++)
        {
            var e = v[i];
            if (e.H is not null) continue;
            if (!groups.TryPosition(i, e.Labels, out var group, out var upper))
            {
                var le = e.Labels.Get("le");
                if (le is not null && TryParseBound(le, out upper))
                    group = groups.Remember(i, e.Labels, DropLabels(e.Labels, LeLabel, false), upper);
                else
                {
                    groups.Remember(i, e.Labels, null, 0);
                    Warn($"bucket label \"le\" is missing or has a malformed value of \"{le ?? ""}\" for metric name \"{e.Labels.Name ?? ""}\"{PosText(arg)}");
                }
            }
            if (group >= 0) groups.Add(group, upper, e.V);
        }
        return groups;
    }

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
        var groups = GroupBuckets(c.Args[1], v);
        var res = new List<Elem>(groups.Order.Count);
        NativeHistogramResults(c.Args[1], v, groups, res, h => HistogramMath.Quantile(q, h));
        foreach (var g in groups.Order)
        {
            var key = groups.Key(g);
            var r = BucketQuantile(q, groups.Buckets(g), out var forced);
            if (forced) Info($"input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"{key.Name ?? ""}\"{PosText(c.Args[1])}");
            res.Add(new Elem(key, r, true));
        }
        return res;
    }

    /// <summary>Adds one result per native (custom-bucket) histogram element, unless a classic histogram has the same labels.</summary>
    private void NativeHistogramResults(Expr arg, List<Elem> v, BucketGroups classic, List<Elem> res, Func<FloatHistogram, double> f)
    {
        foreach (var e in v)
        {
            if (e.H is not { } h || !h.UsesCustomBuckets) continue;
            var key = e.Labels;
            if (classic.Remove(key))
            {
                Warn($"vector contains a mix of classic and native histograms for metric name \"{e.Labels.Name ?? ""}\"{PosText(arg)}");
                continue;
            }
            res.Add(new Elem(key, f(h), true));
        }
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
        var groups = GroupBuckets(c.Args[0], v);
        var res = new List<Elem>(groups.Order.Count * qs.Count);
        foreach (var e in v)
        {
            if (e.H is not { } h || !h.UsesCustomBuckets) continue;
            var key = e.Labels;
            if (key.Has(label)) throw new QueryException($"label {Fmt.Quote(label)} already exists in the input series {Fmt.LabelSet(key)}");
            foreach (var q in qs) res.Add(new Elem(SetLabel(key, label, Fmt.QuantileLabel(q)), HistogramMath.Quantile(q, h), true));
        }
        foreach (var g in groups.Order)
        {
            var key = groups.Key(g);
            if (key.Has(label)) throw new QueryException($"label {Fmt.Quote(label)} already exists in the input series {Fmt.LabelSet(key)}");
            foreach (var q in qs)
            {
                var r = BucketQuantile(q, [.. groups.Buckets(g)], out var forced);
                if (forced) Info($"input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"\"{PosText(c.Args[0])}");
                res.Add(new Elem(SetLabel(key, label, Fmt.QuantileLabel(q)), r, true));
            }
        }
        return res;
    }

    /// <summary>Sorts by upper bound, merges equal bounds and makes counts non-decreasing, in place.</summary>
    private static List<Bucket> PrepareBuckets(List<Bucket> buckets, out bool forced)
    {
        forced = false;
        buckets.Sort(static (a, b) => a.Upper.CompareTo(b.Upper));
        // Merge buckets with the same upper bound.
        var span = CollectionsMarshal.AsSpan(buckets);
        var n = 0;
        foreach (var b in span)
        {
            if (n > 0 && span[n - 1].Upper == b.Upper) span[n - 1] = new Bucket(b.Upper, span[n - 1].Count + b.Count);
            else span[n++] = b;
        }
        buckets.RemoveRange(n, buckets.Count - n);
        span = span[..n];
        // Make cumulative counts non-decreasing; tiny float differences are flattened silently.
        var prev = n > 0 ? span[0].Count : 0;
        for (var i = 1; i < n; i++)
        {
            var cur = span[i].Count;
            if (cur == prev) continue;
            if (Math.Abs(cur - prev) <= 1e-12 * Math.Max(Math.Abs(cur), Math.Abs(prev)))
            {
                span[i] = span[i] with { Count = prev };
                continue;
            }
            if (cur < prev)
            {
                span[i] = span[i] with { Count = prev };
                forced = true;
                continue;
            }
            prev = cur;
        }
        return buckets;
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
        var groups = GroupBuckets(c.Args[2], v);
        var res = new List<Elem>(groups.Order.Count);
        NativeHistogramResults(c.Args[2], v, groups, res, h => BucketFraction(lower, upper, [.. HistogramMath.Cumulative(h).Select(x => new Bucket(x.Upper, x.Count))]));
        foreach (var g in groups.Order) res.Add(new Elem(groups.Key(g), BucketFraction(lower, upper, groups.Buckets(g)), true));
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
