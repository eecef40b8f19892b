using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>
/// info(v, {selector}): adds the data labels of matching info series (default target_info) to each series of v,
/// joined on the identifying labels instance and job (experimental PromQL).
/// </summary>
internal sealed partial class Evaluator
{
    private static readonly string[] IdentifyingLabels = ["instance", "job"];
    private readonly Dictionary<Call, VectorSelector> _infoSelectors = new(ReferenceEqualityComparer.Instance);

    private static IReadOnlyList<LabelMatcher> InfoArgMatchers(Call c) =>
        c.Args.Count > 1 && c.Args[1] is VectorSelector vs ? vs.Matchers : [];

    /// <summary>
    /// The __name__ matchers choosing info metrics: target_info by default; with only negative matchers, any
    /// metric named *_info that they do not exclude.
    /// </summary>
    private static List<LabelMatcher> NameMatchers(Call c)
    {
        var list = new List<LabelMatcher>();
        var positive = false;
        foreach (var m in InfoArgMatchers(c))
        {
            if (m.Name != Labels.MetricName) continue;
            list.Add(m);
            positive |= m.Type is MatchOp.Equal or MatchOp.Regex;
        }
        if (list.Count == 0) list.Add(new LabelMatcher(MatchOp.Equal, Labels.MetricName, "target_info"));
        else if (!positive) list.Add(new LabelMatcher(MatchOp.Regex, Labels.MetricName, ".+_info"));
        return list;
    }

    /// <summary>The selector for the info series: name matchers (default target_info), "_info" names only, plus data matchers.</summary>
    private VectorSelector InfoSelector(Call c)
    {
        if (_infoSelectors.TryGetValue(c, out var sel)) return sel;
        var matchers = NameMatchers(c);
        foreach (var m in InfoArgMatchers(c)) if (m.Name != Labels.MetricName) matchers.Add(m);
        sel = new VectorSelector(null, matchers) { Pos = c.Pos };
        _infoSelectors[c] = sel;
        return sel;
    }

    /// <summary>The time the base series' samples come from: @ and offset of the selector or subquery feeding info().</summary>
    private long InfoTime(Expr e, long t)
    {
        while (true)
        {
            switch (e)
            {
                case ParenExpr p: e = p.Inner; continue;
                case UnaryExpr u: e = u.Operand; continue;
                case AggregateExpr a: e = a.Expr; continue;
                case VectorSelector vs: return TSub(AtTime(vs.At, t), Off(vs));
                case MatrixSelector ms: return TSub(AtTime(ms.Selector.At, t), Off(ms.Selector));
                case SubqueryExpr sq:
                    t = TSub(AtTime(sq.At, t), Off(sq));
                    e = sq.Inner;
                    continue;
                case Call c:
                    {
                        Expr? next = null;
                        foreach (var arg in c.Args) if (arg.Type is ValueKind.Vector or ValueKind.Matrix) { next = arg; break; }
                        if (next is null) return t;
                        e = next;
                        continue;
                    }
                default: return t;
            }
        }
    }

    private (long Min, long Max) InfoTimeRange(Call c, long mint, long maxt)
    {
        var a = InfoTime(c.Args[0], mint);
        var b = InfoTime(c.Args[0], maxt);
        return (Math.Min(a, b), Math.Max(a, b));
    }

    private List<Elem> EvalInfo(Call c, long t)
    {
        var baseVec = Eval(c.Args[0], t).Vec!;
        var nameMatchers = NameMatchers(c);
        var dataMatchers = new List<LabelMatcher>();
        foreach (var m in InfoArgMatchers(c)) if (m.Name != Labels.MetricName) dataMatchers.Add(m);
        var dropIfUnmatched = dataMatchers.Exists(m => !m.MatchesEmpty);

        // Info series present at t (value = sample timestamp, used to pick the latest of conflicting series).
        var sel = InfoSelector(c);
        var at = InfoTime(c.Args[0], t);
        foreach (var h in SelectInstant(sel, at, false))
            if (h.H is not null) throw new QueryException($"this info metric is a native histogram, info metrics should be float type: {Fmt.LabelSet(h.Labels)}");
        var infos = SelectInstant(sel, at, true);
        var byId = new Dictionary<(string, string), List<Elem>>();
        foreach (var i in infos)
        {
            var key = (i.Labels.GetOrEmpty("instance"), i.Labels.GetOrEmpty("job"));
            if (!byId.TryGetValue(key, out var list)) byId[key] = list = [];
            list.Add(i);
        }

        var res = new List<Elem>(baseVec.Count);
        foreach (var el in baseVec)
        {
            if (el.Labels.Name is { } n && nameMatchers.TrueForAll(m => m.Matches(n)))
            {
                res.Add(el); // info series themselves are not enriched
                continue;
            }
            if (!byId.TryGetValue((el.Labels.GetOrEmpty("instance"), el.Labels.GetOrEmpty("job")), out var candidates))
            {
                if (!dropIfUnmatched) res.Add(el);
                continue;
            }
            // One series per info metric name: the one with the latest sample.
            var chosen = new Dictionary<string, Elem>(StringComparer.Ordinal);
            foreach (var ci in candidates)
            {
                var name = ci.Labels.GetOrEmpty(Labels.MetricName);
                if (!chosen.TryGetValue(name, out var cur) || ci.V > cur.V) chosen[name] = ci;
            }
            var added = new List<Label>(el.Labels.Count + 4);
            added.AddRange(el.Labels);
            foreach (var ci in chosen.Values)
            {
                foreach (var l in ci.Labels)
                {
                    if (l.Name == Labels.MetricName || Array.IndexOf(IdentifyingLabels, l.Name) >= 0) continue;
                    if (dataMatchers.Count > 0 && !dataMatchers.Exists(m => m.Name == l.Name)) continue;
                    var existing = added.FindIndex(x => x.Name == l.Name);
                    if (existing >= el.Labels.Count && added[existing].Value != l.Value)
                        throw new QueryException($"conflicting label: {l.Name} has values {Fmt.Quote(added[existing].Value)} and {Fmt.Quote(l.Value)} in different info metrics for {Fmt.LabelSet(el.Labels)}");
                    if (existing >= 0) continue;
                    added.Add(l);
                }
            }
            res.Add(new Elem(added.Count == el.Labels.Count ? el.Labels : Labels.From(added), el.V, el.DropName, el.H));
        }
        CheckUniqueLabels(res);
        return res;
    }
}
