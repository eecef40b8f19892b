using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

internal sealed partial class Evaluator
{
    private readonly Dictionary<(BinaryExpr, bool), Dictionary<Labels, Labels>> _sigCache = [];
    private readonly Dictionary<BinaryExpr, Dictionary<Labels, Labels>> _resultCache = new(ReferenceEqualityComparer.Instance);

    private Val EvalBinary(BinaryExpr b, long t)
    {
        var lhs = Eval(b.Lhs, t);
        // Short-circuit: an empty left side of "and"/"unless" needs no right side.
        if (lhs.Kind == ValueKind.Vector && lhs.Vec!.Count == 0 && b.Op is BinaryOp.And or BinaryOp.Unless)
            return Val.OfVector([]);
        var rhs = Eval(b.Rhs, t);
        if (lhs.Kind == ValueKind.Scalar && rhs.Kind == ValueKind.Scalar)
        {
            var (v, keep) = ScalarOp(b.Op, lhs.Scalar, rhs.Scalar);
            if (BinaryExpr.IsComparison(b.Op)) v = keep ? 1 : 0;
            return Val.OfScalar(v);
        }
        if (lhs.Kind == ValueKind.Vector && rhs.Kind == ValueKind.Vector)
        {
            return b.Op switch
            {
                BinaryOp.And => Val.OfVector(SetAnd(b, lhs.Vec!, rhs.Vec!)),
                BinaryOp.Or => Val.OfVector(SetOr(b, lhs.Vec!, rhs.Vec!)),
                BinaryOp.Unless => Val.OfVector(SetUnless(b, lhs.Vec!, rhs.Vec!)),
                _ => Val.OfVector(VectorVector(b, lhs.Vec!, rhs.Vec!)),
            };
        }
        // Vector and scalar.
        var swap = lhs.Kind == ValueKind.Scalar;
        var vec = swap ? rhs.Vec! : lhs.Vec!;
        var sc = swap ? lhs.Scalar : rhs.Scalar;
        var res = new List<Elem>(vec.Count);
        var cmp = BinaryExpr.IsComparison(b.Op);
        foreach (var el in vec)
        {
            if (el.H is not null)
            {
                if (cmp) Info("ignored histogram in comparison operation" + PosText(b));
                else if ((swap ? HistOp(b.Op, sc, null, 0, el.H) : HistOp(b.Op, 0, el.H, sc, null)) is { } h) res.Add(new Elem(el.Labels, 0, true, h));
                continue;
            }
            var (v, keep) = swap ? ScalarOp(b.Op, sc, el.V) : ScalarOp(b.Op, el.V, sc);
            if (cmp)
            {
                if (b.ReturnBool) res.Add(new Elem(el.Labels, keep ? 1 : 0, true));
                else if (keep) res.Add(new Elem(el.Labels, el.V, el.DropName));
            }
            else res.Add(new Elem(el.Labels, v, true));
        }
        AddSamples(res.Count);
        return Val.OfVector(res);
    }

    /// <summary>Applies an arithmetic or comparison operator; for comparisons, Keep tells whether it holds.</summary>
    internal static (double V, bool Keep) ScalarOp(BinaryOp op, double l, double r) => op switch
    {
        BinaryOp.Add => (l + r, true),
        BinaryOp.Sub => (l - r, true),
        BinaryOp.Mul => (l * r, true),
        BinaryOp.Div => (l / r, true),
        BinaryOp.Mod => (l % r, true),
        BinaryOp.Pow => (Math.Pow(l, r), true),
        BinaryOp.Atan2 => (Math.Atan2(l, r), true),
        BinaryOp.Eq => (l, l == r),
        BinaryOp.Ne => (l, l != r),
        BinaryOp.Gt => (l, l > r),
        BinaryOp.Lt => (l, l < r),
        BinaryOp.Ge => (l, l >= r),
        BinaryOp.Le => (l, l <= r),
        _ => throw new QueryException("operator " + BinaryExpr.OpText(op) + " not allowed here"),
    };

    /// <summary>The labels two sides are matched on, cached per node and side.</summary>
    private Labels Signature(BinaryExpr b, bool rightSide, Labels l)
    {
        var key = (b, rightSide);
        if (!_sigCache.TryGetValue(key, out var cache)) _sigCache[key] = cache = [];
        if (cache.TryGetValue(l, out var sig)) return sig;
        var m = b.Matching;
        if (m is not null && m.On) sig = KeepLabels(l, m.MatchingLabels);
        else sig = DropLabels(l, m?.MatchingLabels ?? [], true);
        cache[l] = sig;
        return sig;
    }

    internal static Labels KeepLabels(Labels l, IReadOnlyList<string> names)
    {
        var span = l.AsSpan();
        var count = 0;
        foreach (var x in span) if (Contains(names, x.Name)) count++;
        if (count == span.Length) return l;
        var arr = new Label[count];
        var j = 0;
        foreach (var x in span) if (Contains(names, x.Name)) arr[j++] = x;
        return Labels.FromSorted(arr);
    }

    internal static Labels DropLabels(Labels l, IReadOnlyList<string> names, bool dropName)
    {
        var span = l.AsSpan();
        var count = 0;
        foreach (var x in span) if (!(Contains(names, x.Name) || (dropName && x.Name == Labels.MetricName))) count++;
        if (count == span.Length) return l;
        var arr = new Label[count];
        var j = 0;
        foreach (var x in span) if (!(Contains(names, x.Name) || (dropName && x.Name == Labels.MetricName))) arr[j++] = x;
        return Labels.FromSorted(arr);
    }

    /// <summary>__name__ and the type-and-unit labels (__type__, __unit__) that travel with it.</summary>
    internal static bool IsNameLike(string n) => n is Labels.MetricName or "__type__" or "__unit__";

    private static bool Contains(IReadOnlyList<string> names, string n)
    {
        for (var i = 0; i < names.Count; i++) if (string.Equals(names[i], n, StringComparison.Ordinal)) return true;
        return false;
    }

    private List<Elem> SetAnd(BinaryExpr b, List<Elem> lhs, List<Elem> rhs)
    {
        var sigs = new HashSet<Labels>();
        foreach (var r in rhs) sigs.Add(Signature(b, true, r.Labels));
        var res = new List<Elem>();
        foreach (var l in lhs) if (sigs.Contains(Signature(b, false, l.Labels))) res.Add(l);
        return res;
    }

    private List<Elem> SetOr(BinaryExpr b, List<Elem> lhs, List<Elem> rhs)
    {
        var sigs = new HashSet<Labels>();
        var res = new List<Elem>(lhs.Count + rhs.Count);
        foreach (var l in lhs) { sigs.Add(Signature(b, false, l.Labels)); res.Add(l); }
        foreach (var r in rhs) if (!sigs.Contains(Signature(b, true, r.Labels))) res.Add(r);
        return res;
    }

    private List<Elem> SetUnless(BinaryExpr b, List<Elem> lhs, List<Elem> rhs)
    {
        var sigs = new HashSet<Labels>();
        foreach (var r in rhs) sigs.Add(Signature(b, true, r.Labels));
        var res = new List<Elem>();
        foreach (var l in lhs) if (!sigs.Contains(Signature(b, false, l.Labels))) res.Add(l);
        return res;
    }

    private List<Elem> VectorVector(BinaryExpr b, List<Elem> lhsIn, List<Elem> rhsIn)
    {
        var m = b.Matching ?? new VectorMatching();
        if ((lhsIn.Count == 0 || rhsIn.Count == 0) && !m.HasFill) return [];

        var card = m.Card;
        var swapped = card == MatchCardinality.OneToMany;
        var many = swapped ? rhsIn : lhsIn;
        var one = swapped ? lhsIn : rhsIn;
        // The "one" side must have unique signatures.
        var oneBySig = new Dictionary<Labels, Elem>(one.Count);
        foreach (var o in one)
        {
            var sig = Signature(b, !swapped, o.Labels);
            if (oneBySig.TryGetValue(sig, out var dup))
            {
                var pair = new[] { Fmt.LabelSet(o.Labels), Fmt.LabelSet(dup.Labels) };
                Array.Sort(pair, StringComparer.Ordinal);
                throw new QueryException($"found duplicate series for the match group {Fmt.LabelSet(sig)} on the {(swapped ? "left" : "right")} hand-side of the operation: [{pair[0]}, {pair[1]}];many-to-many matching not allowed: matching labels must be unique on one side");
            }
            oneBySig[sig] = o;
        }
        var cmp = BinaryExpr.IsComparison(b.Op);
        var res = new List<Elem>(many.Count);
        HashSet<Labels>? matchedSigs = card == MatchCardinality.OneToOne ? new(many.Count) : null;
        HashSet<Labels>? outLabels = card != MatchCardinality.OneToOne ? new(many.Count) : null;
        foreach (var ls in many)
        {
            var sig = Signature(b, swapped, ls.Labels);
            if (!oneBySig.TryGetValue(sig, out var rs)) continue;
            if (matchedSigs is not null && !matchedSigs.Add(sig))
                throw new QueryException("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
            var (fl, fr) = swapped ? (rs.V, ls.V) : (ls.V, rs.V);
            FloatHistogram? hist = null;
            if (ls.H is not null && rs.H is not null && b.Op is BinaryOp.Eq or BinaryOp.Ne)
            {
                // Histograms compare for (in)equality only.
                var same = HistogramMath.Equal(ls.H, rs.H);
                var holds = b.Op == BinaryOp.Eq ? same : !same;
                var lhsEl = swapped ? rs : ls;
                if (b.ReturnBool) res.Add(new Elem(ResultMetric(ls.Labels, rs.Labels, m, card), holds ? 1 : 0, true));
                else if (holds) res.Add(new Elem(ResultMetric(ls.Labels, rs.Labels, m, card), 0, ls.DropName, lhsEl.H));
                continue;
            }
            if (ls.H is not null || rs.H is not null)
            {
                if (cmp) { Info("ignored histogram in comparison operation" + PosText(b)); continue; }
                var (lh, rh) = swapped ? (rs.H, ls.H) : (ls.H, rs.H);
                hist = HistOp(b.Op, fl, lh, fr, rh);
                if (hist is null) continue;
            }
            var (v, keep) = ScalarOp(b.Op, fl, fr);
            var drop = ls.DropName;
            if (cmp)
            {
                if (b.ReturnBool) { v = keep ? 1 : 0; drop = true; }
                else if (!keep) continue;
            }
            else drop = true;
            Labels metric;
            if (m.Include.Count == 0)
            {
                // The result labels depend only on the "many" side here: cache them per node.
                if (!_resultCache.TryGetValue(b, out var rc)) _resultCache[b] = rc = [];
                if (!rc.TryGetValue(ls.Labels, out metric!)) rc[ls.Labels] = metric = ResultMetric(ls.Labels, rs.Labels, m, card);
            }
            else metric = ResultMetric(ls.Labels, rs.Labels, m, card);
            if (outLabels is not null && !outLabels.Add(metric))
                throw new QueryException("multiple matches for labels: grouping labels must ensure unique matches");
            res.Add(new Elem(metric, hist is null ? v : 0, drop, hist));
        }
        if (m.HasFill) AddFilled(b, m, card, swapped, many, oneBySig, res, outLabels ?? matchedSigs!);
        AddSamples(res.Count);
        return res;
    }

    /// <summary>
    /// fill modifiers: fill_right(v) stands in for a missing "one" side, fill_left(v) for a missing "many" side
    /// (a filled many side yields one series carrying the match group's labels).
    /// </summary>
    private void AddFilled(BinaryExpr b, VectorMatching m, MatchCardinality card, bool swapped, List<Elem> many,
        Dictionary<Labels, Elem> oneBySig, List<Elem> res, HashSet<Labels> seen)
    {
        var cmp = BinaryExpr.IsComparison(b.Op);
        var matchedOne = new HashSet<Labels>();
        foreach (var ls in many)
        {
            var sig = Signature(b, swapped, ls.Labels);
            if (oneBySig.ContainsKey(sig)) { matchedOne.Add(sig); continue; }
            if (m.FillRight is not { } fillOne) continue;
            var (fl, fr) = swapped ? (fillOne, ls.V) : (ls.V, fillOne);
            var (v, keep) = ScalarOp(b.Op, fl, fr);
            var drop = ls.DropName;
            if (cmp)
            {
                if (b.ReturnBool) { v = keep ? 1 : 0; drop = true; }
                else if (!keep) continue;
            }
            else drop = true;
            var metric = ResultMetric(ls.Labels, Labels.Empty, m, card);
            if (card != MatchCardinality.OneToOne && !seen.Add(metric))
                throw new QueryException("multiple matches for labels: grouping labels must ensure unique matches");
            res.Add(new Elem(metric, v, drop));
        }
        if (m.FillLeft is not { } fillMany) return;
        foreach (var (sig, rs) in oneBySig)
        {
            if (matchedOne.Contains(sig)) continue;
            var (fl, fr) = swapped ? (rs.V, fillMany) : (fillMany, rs.V);
            var (v, keep) = ScalarOp(b.Op, fl, fr);
            if (cmp)
            {
                if (b.ReturnBool) v = keep ? 1 : 0;
                else if (!keep) continue;
            }
            res.Add(new Elem(sig, v, true));
        }
    }

    /// <summary>Arithmetic involving custom-bucket histograms: h+h, h-h, h*f, f*h, h/f. Null when undefined.</summary>
    internal static FloatHistogram? HistOp(BinaryOp op, double lf, FloatHistogram? lh, double rf, FloatHistogram? rh)
    {
        if (lh is not null && rh is not null)
            return op switch
            {
                BinaryOp.Add => HistogramMath.Add(lh, rh),
                BinaryOp.Sub => HistogramMath.Add(lh, rh, -1),
                _ => null,
            };
        if (lh is not null)
            return op switch
            {
                BinaryOp.Mul => HistogramMath.Scale(lh, rf),
                BinaryOp.Div => HistogramMath.Scale(lh, 1 / rf),
                _ => null,
            };
        if (rh is not null && op == BinaryOp.Mul) return HistogramMath.Scale(rh, lf);
        return null;
    }

    private static Labels ResultMetric(Labels many, Labels one, VectorMatching m, MatchCardinality card)
    {
        var l = many;
        if (card == MatchCardinality.OneToOne)
        {
            if (m.On) l = KeepLabels(l, m.MatchingLabels);
            else if (m.MatchingLabels.Count > 0) l = DropLabels(l, m.MatchingLabels, false);
        }
        if (m.Include.Count == 0) return l;
        var list = new List<Label>(l.Count + m.Include.Count);
        foreach (var x in l) if (!Contains(m.Include, x.Name)) list.Add(x);
        foreach (var name in m.Include)
        {
            var v = one.Get(name);
            if (!string.IsNullOrEmpty(v)) list.Add(new Label(name, v));
        }
        return Labels.From(list);
    }
}
