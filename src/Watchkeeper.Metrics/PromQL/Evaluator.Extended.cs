using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Experimental anchored/smoothed range selectors.</summary>
internal sealed partial class Evaluator
{
    /// <summary>
    /// The value at <paramref name="x"/>, interpolated linearly between the nearest non-stale samples within the
    /// lookback on either side (or the one that exists). For counters a drop between them is a reset from zero.
    /// Value is NaN (and Found false) when there is no neighbour.
    /// </summary>
    private (double Value, bool Found) Interpolate(Sample[] raw, long x, bool counter)
    {
        var i = UpperBound(raw, x) - 1;
        Sample? prev = null, next = null;
        if (i >= 0 && raw[i].T > TSub(x, _lookback) && !StaleNaN.Is(raw[i].V)) prev = raw[i];
        if (i + 1 < raw.Length && raw[i + 1].T <= TAdd(x, _lookback) && !StaleNaN.Is(raw[i + 1].V)) next = raw[i + 1];
        if (prev is { } p && next is { } n)
        {
            var frac = (double)(x - p.T) / (n.T - p.T);
            if (counter && n.V < p.V) return (n.V * frac, true);
            return (p.V + (n.V - p.V) * frac, true);
        }
        if (prev is { } only) return (only.V, true);
        if (next is { } after) return (after.V, true);
        return (double.NaN, false);
    }

    private static readonly string[] AnchoredFunctions = ["changes", "delta", "increase", "rate", "resets"];
    private static readonly string[] SmoothedFunctions = ["delta", "increase", "rate"];

    /// <summary>Range functions over an anchored or smoothed range selector; null when the argument is a plain one.</summary>
    private List<Elem>? EvalExtendedRange(Call c, Expr rangeArg, long t)
    {
        while (rangeArg is ParenExpr p) rangeArg = p.Inner;
        if (rangeArg is not MatrixSelector ms || ms.Selector.Modifier == RangeModifier.None) return null;
        var name = c.Func.Name;
        var mod = ms.Selector.Modifier;
        var allowed = mod == RangeModifier.Anchored ? AnchoredFunctions : SmoothedFunctions;
        if (Array.IndexOf(allowed, name) < 0)
            throw new QueryException($"{(mod == RangeModifier.Anchored ? "anchored" : "smoothed")} modifier can only be used with: {string.Join(", ", allowed)} - not with {name}");
        var vs = ms.Selector;
        var e = TSub(AtTime(vs.At, t), Off(vs));
        var s = TSub(e, Rng(ms));
        var counter = name is "increase" or "rate";
        var res = new List<Elem>();
        var points = new List<Sample>();
        foreach (var series in _data[vs])
        {
            var raw = series.Samples;
            points.Clear();
            if (mod == RangeModifier.Anchored)
            {
                var first = UpperBound(raw, s);
                var last = UpperBound(raw, e);
                var anchor = first - 1;
                if (anchor >= 0 && raw[anchor].T > TSub(s, _lookback) && !StaleNaN.Is(raw[anchor].V)) points.Add(raw[anchor]);
                var inWindow = 0;
                for (var k = first; k < last; k++)
                {
                    if (StaleNaN.Is(raw[k].V)) continue;
                    points.Add(raw[k]);
                    inWindow++;
                }
                if (inWindow == 0) continue;
            }
            else
            {
                // Needs data inside or on both sides of the window.
                var hasAfterStart = false;
                var hasBeforeEnd = false;
                foreach (var x in raw)
                {
                    if (StaleNaN.Is(x.V)) continue;
                    if (x.T > s) hasAfterStart = true;
                    if (x.T <= e) hasBeforeEnd = true;
                }
                if (!hasAfterStart || !hasBeforeEnd) continue;
                var (sv, sf) = Interpolate(raw, s, counter);
                var (ev, ef) = Interpolate(raw, e, counter);
                if (!sf || !ef) continue;
                points.Add(new Sample(s, sv));
                for (var k = UpperBound(raw, s); k < raw.Length && raw[k].T <= e; k++)
                    if (!StaleNaN.Is(raw[k].V)) points.Add(raw[k]);
                points.Add(new Sample(e, ev));
            }
            double v;
            switch (name)
            {
                case "changes":
                case "resets":
                    {
                        var n = 0;
                        for (var k = 1; k < points.Count; k++)
                        {
                            var a = points[k - 1].V;
                            var b = points[k].V;
                            if (name == "resets" ? b < a : b != a && !(double.IsNaN(a) && double.IsNaN(b))) n++;
                        }
                        v = n;
                        break;
                    }
                case "delta":
                    v = points[^1].V - points[0].V;
                    break;
                default:
                    {
                        var inc = points[^1].V - points[0].V;
                        for (var k = 1; k < points.Count; k++)
                            if (points[k].V < points[k - 1].V) inc += points[k - 1].V;
                        v = name == "rate" ? inc / (Rng(ms) / 1000.0) : inc;
                        break;
                    }
            }
            res.Add(new Elem(series.Labels, v, true));
        }
        AddSamples(res.Count);
        return res;
    }
}
