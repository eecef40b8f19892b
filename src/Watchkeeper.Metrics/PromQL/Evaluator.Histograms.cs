using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

internal sealed partial class Evaluator
{
    // ---- classic histograms -----------------------------------------------------------------

    private readonly record struct Bucket(double Upper, double Count);

    private static readonly string[] LeLabel = ["le"];

    /// <summary>
    /// Classic bucket series grouped by their labels without "le", for one histogram argument. The input series at
    /// each position of the last vector and their group are kept from one evaluation to the next, so a range query
    /// parses "le" and hashes labels once per series instead of once per series and step, and the bucket lists are
    /// reused. <see cref="Order"/> holds the groups present in the current evaluation, in order of first appearance.
    /// A series is matched to its group without building its label set without "le" (<see cref="WithoutLe"/>); only
    /// a new group builds one.
    /// </summary>
    private sealed class BucketGroups
    {
        /// <summary>1 while a query uses it (a shared instance is used by one query at a time).</summary>
        public int InUse;
        private Labels?[] _inputs = [];
        private int[] _slots = [];
        private double[] _uppers = [];
        private readonly Dictionary<Labels, (int Group, double Upper)> _byLabels = [];
        private readonly Dictionary<Labels, int> _groupIndex = new(WithoutLe.Instance);
        private readonly Dictionary<string, (bool Ok, double Upper)> _bounds = new(StringComparer.Ordinal);
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
            // Kept across queries, groups and memorized series of a churning selection would pile up: start over when
            // they are far more than the last evaluation used.
            if (_keys.Count > 1024 && _keys.Count > 4 * Order.Count) Clear();
            if (_byLabels.Count > 1024 && _byLabels.Count > 4 * count) _byLabels.Clear();
            Order.Clear();
            if (_inputs.Length < count)
            {
                Array.Resize(ref _inputs, count);
                Array.Resize(ref _slots, count);
                Array.Resize(ref _uppers, count);
            }
        }

        private void Clear()
        {
            Array.Clear(_inputs);
            _byLabels.Clear();
            _groupIndex.Clear();
            _bounds.Clear();
            _keys.Clear();
            _buckets.Clear();
            _stamps.Clear();
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

        /// <summary>The upper bound of an "le" value, parsed once per distinct string; false when malformed.</summary>
        public bool TryBound(string le, out double upper)
        {
            if (_bounds.TryGetValue(le, out var known))
            {
                upper = known.Upper;
                return known.Ok;
            }
            var ok = TryParseBound(le, out upper);
            if (_bounds.Count < 4096) _bounds[le] = (ok, upper);
            return ok;
        }

        /// <summary>Records a newly parsed series: its group (by labels without "le"), or -1 when "le" is bad (not valid).</summary>
        public int Remember(int i, Labels labels, bool valid, double upper)
        {
            var group = -1;
            if (valid && !_groupIndex.TryGetValue(labels, out group))
            {
                group = _keys.Count;
                _groupIndex[labels] = group;
                _keys.Add(DropLabels(labels, LeLabel, false));
                _buckets.Add([]);
                _stamps.Add(0);
            }
            // From the second evaluation on (a range query, a subquery) a series that moved to another position is
            // found by its labels; a single evaluation needs no such memory.
            if (_eval > 1) _byLabels[labels] = (group, upper);
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

    /// <summary>Label sets compared and hashed as if they had no "le" label.</summary>
    private sealed class WithoutLe : IEqualityComparer<Labels>
    {
        public static readonly WithoutLe Instance = new();

        public bool Equals(Labels? x, Labels? y)
        {
            if (ReferenceEquals(x, y)) return true;
            if (x is null || y is null) return false;
            var a = x.AsSpan();
            var b = y.AsSpan();
            int i = 0, j = 0;
            while (true)
            {
                if (i < a.Length && a[i].Name == "le") i++;
                if (j < b.Length && b[j].Name == "le") j++;
                if (i == a.Length || j == b.Length) return i == a.Length && j == b.Length;
                if (!string.Equals(a[i].Name, b[j].Name, StringComparison.Ordinal) || !string.Equals(a[i].Value, b[j].Value, StringComparison.Ordinal)) return false;
                i++;
                j++;
            }
        }

        public int GetHashCode(Labels obj)
        {
            var h = new HashCode();
            foreach (var l in obj.AsSpan())
            {
                if (l.Name == "le") continue;
                h.Add(l.Name, StringComparer.Ordinal);
                h.Add(l.Value, StringComparer.Ordinal);
            }
            return h.ToHashCode();
        }
    }

    private readonly Dictionary<Expr, BucketGroups> _bucketGroups = new(ReferenceEqualityComparer.Instance);
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Expr, object>? _sharedGroups;
    private List<BucketGroups>? _borrowedGroups;

    /// <summary>
    /// The grouping for a histogram argument. An instant query takes the one the engine keeps for that parsed
    /// expression (a rule's next evaluation then finds every series at its position and hashes nothing), unless
    /// another query holds it; a range query keeps its own for its steps.
    /// </summary>
    private BucketGroups GroupsFor(Expr arg)
    {
        if (_bucketGroups.TryGetValue(arg, out var groups)) return groups;
        groups = new BucketGroups();
        if (_sharedGroups is not null)
        {
            var shared = (BucketGroups)_sharedGroups.GetValue(arg, static _ => new BucketGroups());
            if (Interlocked.CompareExchange(ref shared.InUse, 1, 0) == 0)
            {
                groups = shared;
                (_borrowedGroups ??= []).Add(shared);
            }
        }
        _bucketGroups[arg] = groups;
        return groups;
    }

    private void ReturnSharedGroups()
    {
        if (_borrowedGroups is null) return;
        foreach (var g in _borrowedGroups) Volatile.Write(ref g.InUse, 0);
        _borrowedGroups = null;
    }

    /// <summary>Groups classic bucket series by their labels without "le"; bad or missing "le" is warned about and skipped.</summary>
    private BucketGroups GroupBuckets(Expr arg, List<Elem> v)
    {
        var groups = GroupsFor(arg);
        groups.Begin(v.Count);
        for (var i = 0; i < v.Count; i++)
        {
            var e = v[i];
            if (e.H is not null) continue;
            if (!groups.TryPosition(i, e.Labels, out var group, out var upper))
            {
                var le = e.Labels.Get("le");
                group = groups.Remember(i, e.Labels, le is not null && groups.TryBound(le, out upper), upper);
            }
            if (group >= 0) groups.Add(group, upper, e.V);
            else Warn($"bucket label \"le\" is missing or has a malformed value of \"{e.Labels.Get("le") ?? ""}\" for metric name \"{e.Labels.Name ?? ""}\"{PosText(arg)}");
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
