using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

internal sealed partial class Evaluator
{
    private readonly Dictionary<AggregateExpr, Dictionary<Labels, Labels>> _groupCache = new(ReferenceEqualityComparer.Instance);

    private Labels GroupKey(AggregateExpr a, Labels l)
    {
        if (!_groupCache.TryGetValue(a, out var cache)) _groupCache[a] = cache = [];
        if (cache.TryGetValue(l, out var key)) return key;
        key = a.Without ? DropLabels(l, a.Grouping, true) : KeepLabels(l, a.Grouping);
        cache[l] = key;
        return key;
    }

    private sealed class AggGroup(Labels key)
    {
        public Labels Key = key;
        public double Value;
        public double C;
        public long Count;
        public MathUtil.MeanAccumulator Mean;
        public MathUtil.VarianceAccumulator Var;
        public List<double>? Values;
        public bool DropName;
        public FloatHistogram? H;
        public bool HasFloat, HasHist, Incompatible;
    }

    private Val EvalAggregate(AggregateExpr a, long t)
    {
        if (_fused.TryGetValue(a, out var fusedCall)) return FusedValue(fusedCall, t);
        double param = 0;
        string? strParam = null;
        if (a.Param is not null)
        {
            var pv = Eval(a.Param, t);
            if (pv.Kind == ValueKind.String) strParam = pv.Str; else param = pv.Scalar;
        }
        var vec = Eval(a.Expr, t).Vec!;
        // Pending name drops are not applied before grouping (as Prometheus does): a group drops its
        // name at the end if any member would have.
        // Only sum, avg, count, group and the limit operators take histograms; the rest ignore them.
        if (a.Op is not (AggregateOp.Sum or AggregateOp.Avg or AggregateOp.Count or AggregateOp.Group or AggregateOp.Limitk or AggregateOp.LimitRatio))
        {
            var anyHist = false;
            foreach (var e in vec) if (e.H is not null) { anyHist = true; break; }
            if (anyHist)
            {
                Info($"ignored histogram in {AggregateExpr.OpName(a.Op)} aggregation{PosText(a)}");
                vec = vec.FindAll(e => e.H is null);
            }
        }
        switch (a.Op)
        {
            case AggregateOp.Topk:
            case AggregateOp.Bottomk:
            case AggregateOp.Limitk:
                {
                    if (double.IsNaN(param)) throw new QueryException("Parameter value is NaN");
                    if (param >= 9.223372036854775807e18 || param <= -9.223372036854775807e18)
                        throw new QueryException($"Scalar value {Fmt.FloatG(param)} overflows int64");
                    var k = (long)param;
                    if (k < 1) return Val.OfVector([]);
                    return Val.OfVector(SelectK(a, vec, k));
                }
            case AggregateOp.LimitRatio:
                {
                    if (double.IsNaN(param)) throw new QueryException("Ratio value is NaN");
                    var r = param;
                    if (r > 1 || r < -1)
                    {
                        var capped = r > 1 ? 1.0 : -1.0;
                        Warn($"ratio value should be between -1 and 1, got {Fmt.FloatG(r)}, capping to {Fmt.FloatG(capped)}{PosText(a.Param!)}");
                        r = capped;
                    }
                    var res = new List<Elem>();
                    if (r == 0) return Val.OfVector(res);
                    foreach (var e in vec)
                    {
                        var offset = RatioOffset(e.Labels);
                        if (r > 0 ? offset < r : offset >= 1 + r) res.Add(e);
                    }
                    return Val.OfVector(res);
                }
            case AggregateOp.Quantile:
                if (double.IsNaN(param) || param < 0 || param > 1)
                    Warn($"quantile value should be between 0 and 1, got {Fmt.FloatG(param)}{PosText(a.Param!)}");
                break;
            case AggregateOp.CountValues:
                if (!Fmt.IsValidLabelName(strParam!)) throw new QueryException("invalid label name " + Fmt.Quote(strParam!));
                return Val.OfVector(CountValues(a, vec, strParam!));
        }

        var groups = new Dictionary<Labels, AggGroup>();
        var order = new List<AggGroup>();
        foreach (var e in vec)
        {
            var key = GroupKey(a, e.Labels);
            if (!groups.TryGetValue(key, out var g))
            {
                g = new AggGroup(key);
                groups[key] = g;
                order.Add(g);
                g.Value = e.V;
                g.Count = 1;
                g.Mean.Add(e.V);
                g.Var.Add(e.V);
                g.DropName = e.DropName;
                if (e.H is not null) { g.HasHist = true; g.H = e.H; } else g.HasFloat = true;
                if (a.Op == AggregateOp.Quantile) g.Values = [e.V];
                continue;
            }
            g.Count++;
            g.DropName |= e.DropName;
            if (e.H is not null)
            {
                g.HasHist = true;
                if (a.Op is AggregateOp.Sum or AggregateOp.Avg)
                {
                    if (g.H is null) g.H = e.H;
                    else if (HistogramMath.Add(g.H, e.H) is { } sum) g.H = sum;
                    else g.Incompatible = true;
                }
                continue;
            }
            g.HasFloat = true;
            switch (a.Op)
            {
                case AggregateOp.Sum: (g.Value, g.C) = MathUtil.KahanInc(e.V, g.Value, g.C); break;
                case AggregateOp.Avg: g.Mean.Add(e.V); break;
                case AggregateOp.Max: if (g.Value < e.V || double.IsNaN(g.Value)) g.Value = e.V; break;
                case AggregateOp.Min: if (g.Value > e.V || double.IsNaN(g.Value)) g.Value = e.V; break;
                case AggregateOp.Stddev:
                case AggregateOp.Stdvar: g.Var.Add(e.V); break;
                case AggregateOp.Quantile: g.Values!.Add(e.V); break;
            }
        }
        var outList = new List<Elem>(order.Count);
        foreach (var g in order)
        {
            if (g.HasHist && a.Op is AggregateOp.Sum or AggregateOp.Avg)
            {
                if (g.HasFloat)
                {
                    Warn($"encountered a mix of histograms and floats for aggregation{PosText(a)}");
                    continue;
                }
                if (g.Incompatible)
                {
                    Warn($"vector contains histograms with incompatible bucket layouts{PosText(a)}");
                    continue;
                }
                outList.Add(new Elem(g.Key, 0, g.DropName && g.Key.Name is not null, a.Op == AggregateOp.Avg ? HistogramMath.Scale(g.H!, 1.0 / g.Count) : g.H));
                continue;
            }
            var v = a.Op switch
            {
                AggregateOp.Sum => g.Value + g.C,
                AggregateOp.Avg => g.Mean.Result,
                AggregateOp.Count => g.Count,
                AggregateOp.Group => 1,
                AggregateOp.Stdvar => g.Var.Variance,
                AggregateOp.Stddev => Math.Sqrt(g.Var.Variance),
                AggregateOp.Quantile => MathUtil.Quantile(param, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(g.Values)),
                _ => g.Value,
            };
            outList.Add(new Elem(g.Key, v, g.DropName && g.Key.Name is not null));
        }
        AddSamples(outList.Count);
        return Val.OfVector(outList);
    }

    private List<Elem> SelectK(AggregateExpr a, List<Elem> vec, long k)
    {
        var groups = new Dictionary<Labels, List<Elem>>();
        var order = new List<List<Elem>>();
        foreach (var e in vec)
        {
            var key = GroupKey(a, e.Labels);
            if (!groups.TryGetValue(key, out var g)) { groups[key] = g = []; order.Add(g); }
            if (a.Op == AggregateOp.Limitk && g.Count >= k) continue;
            g.Add(e);
        }
        var res = new List<Elem>();
        foreach (var g in order)
        {
            if (a.Op == AggregateOp.Topk)
                g.Sort(static (x, y) => double.IsNaN(x.V) ? (double.IsNaN(y.V) ? 0 : 1) : double.IsNaN(y.V) ? -1 : y.V.CompareTo(x.V));
            else if (a.Op == AggregateOp.Bottomk)
                g.Sort(static (x, y) => double.IsNaN(x.V) ? (double.IsNaN(y.V) ? 0 : 1) : double.IsNaN(y.V) ? -1 : x.V.CompareTo(y.V));
            var n = (int)Math.Min(k, g.Count);
            for (var i = 0; i < n; i++) res.Add(g[i]);
        }
        return res;
    }

    private List<Elem> CountValues(AggregateExpr a, List<Elem> vec, string label)
    {
        var counts = new Dictionary<Labels, int>();
        var order = new List<Labels>();
        foreach (var e in vec)
        {
            if (e.H is not null) continue;
            var key = GroupKey(a, e.Labels);
            var lbls = new List<Label>(key.Count + 1);
            foreach (var l in key) if (l.Name != label) lbls.Add(l);
            lbls.Add(new Label(label, Fmt.FloatPlain(e.V)));
            var full = Labels.From(lbls);
            if (counts.TryGetValue(full, out var c)) counts[full] = c + 1;
            else { counts[full] = 1; order.Add(full); }
        }
        var res = new List<Elem>(order.Count);
        foreach (var l in order) res.Add(new Elem(l, counts[l]));
        return res;
    }

    /// <summary>A stable pseudo-random position in [0, 1) for a label set (FNV-1a over names and values).</summary>
    private static double RatioOffset(Labels l)
    {
        var h = 14695981039346656037UL;
        foreach (var x in l)
        {
            foreach (var ch in x.Name) { h ^= ch; h *= 1099511628211UL; }
            h ^= 0xff; h *= 1099511628211UL;
            foreach (var ch in x.Value) { h ^= ch; h *= 1099511628211UL; }
            h ^= 0xff; h *= 1099511628211UL;
        }
        // Finalise (splitmix64) so that similar label sets spread evenly.
        h ^= h >> 30; h *= 0xbf58476d1ce4e5b9UL; h ^= h >> 27; h *= 0x94d049bb133111ebUL; h ^= h >> 31;
        return (h >> 11) * (1.0 / (1UL << 53));
    }
}
