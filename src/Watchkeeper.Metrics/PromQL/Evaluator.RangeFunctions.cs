using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

internal sealed partial class Evaluator
{
    private Val EvalRangeFunction(Call c, long t)
    {
        if (_streamed.TryGetValue(c, out var streamed)) return StreamedValue(streamed, t);
        var name = c.Func.Name;
        double p0 = 0, p1 = 0;
        Expr rangeArg;
        switch (name)
        {
            case "quantile_over_time":
                p0 = Eval(c.Args[0], t).Scalar;
                rangeArg = c.Args[1];
                if (double.IsNaN(p0) || p0 < 0 || p0 > 1)
                    Warn($"quantile value should be between 0 and 1, got {Fmt.FloatG(p0)}{PosText(c.Args[0])}");
                break;
            case "predict_linear":
                p0 = Eval(c.Args[1], t).Scalar;
                rangeArg = c.Args[0];
                break;
            case "holt_winters":
            case "double_exponential_smoothing":
                p0 = Eval(c.Args[1], t).Scalar;
                p1 = Eval(c.Args[2], t).Scalar;
                rangeArg = c.Args[0];
                if (p0 <= 0 || p0 >= 1 || double.IsNaN(p0)) throw new QueryException($"invalid smoothing factor. Expected: 0 < sf < 1, got: {Fmt.FloatG(p0)}");
                if (p1 <= 0 || p1 >= 1 || double.IsNaN(p1)) throw new QueryException($"invalid trend factor. Expected: 0 < tf < 1, got: {Fmt.FloatG(p1)}");
                break;
            default:
                rangeArg = c.Args[0];
                break;
        }
        if (EvalExtendedRange(c, rangeArg, t) is { } extended) return Val.OfVector(extended);
        var (series, rangeStart, rangeEnd) = EvalRangeArg(rangeArg, t);
        var res = new List<Elem>(series.Count);
        var keepName = name is "last_over_time" or "first_over_time";
        var isCounterFn = name is "rate" or "increase" or "irate";
        string? nonCounterName = null;
        double[]? scratch = null;
        foreach (var s in series)
        {
            var smp = s.Samples.AsSpan();
            if (s.Hist.Count > 0)
            {
                if (FloatOnlyRangeFunctions.Contains(name))
                {
                    // Histograms are ignored; a range holding both kinds is flagged.
                    if (smp.Length == 0) continue;
                    Info($"ignored histograms in a range containing both floats and histograms for metric name \"{s.Labels.Name ?? ""}\"{PosText(rangeArg)}");
                }
                else
                {
                    if (HistogramRangeFunction(name, s, rangeStart, rangeEnd, rangeArg) is { } he)
                        res.Add(he with { DropName = keepName ? s.DropName : true });
                    continue;
                }
            }
            if (!RangeValue(name, smp, s.NoCounterResets, t, rangeStart, rangeEnd, p0, p1, ref scratch, out var v)) continue;
            if (isCounterFn && nonCounterName is null)
            {
                var mn = s.Labels.Name;
                if (mn is not null && !HasCounterSuffix(mn))
                {
                    nonCounterName = mn;
                    Info($"metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"{mn}\"{PosText(rangeArg)}");
                }
            }
            res.Add(new Elem(s.Labels, v, keepName ? s.DropName : true));
        }
        AddSamples(res.Count);
        return Val.OfVector(res);
    }

    /// <summary>
    /// The value of a float range function over one series' samples in a window; false when the function has no
    /// value for them (too few samples, zero time span). <paramref name="noResets"/> lets counter functions skip
    /// the reset scan for a series known never to decrease.
    /// </summary>
    private static bool RangeValue(string name, ReadOnlySpan<Sample> smp, bool noResets, long t, long rangeStart, long rangeEnd,
        double p0, double p1, ref double[]? scratch, out double v)
    {
        v = 0;
        if (smp.Length == 0) return false;
        switch (name)
        {
            case "rate":
            case "increase":
            case "delta":
                if (smp.Length < 2) return false;
                v = ExtrapolatedRate(smp, name != "delta" && !noResets, name != "delta", name == "rate", rangeStart, rangeEnd);
                break;
            case "irate":
            case "idelta":
                {
                    if (smp.Length < 2) return false;
                    var last = smp[^1];
                    var prev = smp[^2];
                    if (name == "idelta") { v = last.V - prev.V; break; }
                    var dv = last.V < prev.V ? last.V : last.V - prev.V;
                    var dt = last.T - prev.T;
                    if (dt == 0) return false;
                    v = dv / (dt / 1000.0);
                    break;
                }
            case "deriv":
                if (smp.Length < 2) return false;
                v = MathUtil.LinearRegression(smp, smp[0].T).Slope;
                break;
            case "predict_linear":
                {
                    if (smp.Length < 2) return false;
                    var (slope, intercept) = MathUtil.LinearRegression(smp, t);
                    v = slope * p0 + intercept;
                    break;
                }
            case "changes":
                {
                    var n = 0;
                    var prev = smp[0].V;
                    for (var i = 1; i < smp.Length; i++)
                    {
                        var cur = smp[i].V;
                        if (cur != prev && !(double.IsNaN(cur) && double.IsNaN(prev))) n++;
                        prev = cur;
                    }
                    v = n;
                    break;
                }
            case "resets":
                {
                    var n = 0;
                    var prev = smp[0].V;
                    for (var i = 1; i < smp.Length; i++)
                    {
                        var cur = smp[i].V;
                        if (cur < prev) n++;
                        prev = cur;
                    }
                    v = n;
                    break;
                }
            case "avg_over_time":
                {
                    var acc = new MathUtil.MeanAccumulator();
                    foreach (var x in smp) acc.Add(x.V);
                    v = acc.Result;
                    break;
                }
            case "sum_over_time":
                {
                    double sum = 0, comp = 0;
                    foreach (var x in smp) (sum, comp) = MathUtil.KahanInc(x.V, sum, comp);
                    v = double.IsInfinity(sum) ? sum : sum + comp;
                    break;
                }
            case "count_over_time": v = smp.Length; break;
            case "present_over_time": v = 1; break;
            case "last_over_time": v = smp[^1].V; break;
            case "first_over_time": v = smp[0].V; break;
            case "ts_of_last_over_time": v = smp[^1].T / 1000.0; break;
            case "ts_of_first_over_time": v = smp[0].T / 1000.0; break;
            case "min_over_time":
            case "max_over_time":
            case "ts_of_min_over_time":
            case "ts_of_max_over_time":
                {
                    var isMax = name is "max_over_time" or "ts_of_max_over_time";
                    var best = smp[0].V;
                    var bestT = smp[0].T;
                    for (var i = 1; i < smp.Length; i++)
                    {
                        var x = smp[i].V;
                        if (isMax ? (x > best || double.IsNaN(best)) : (x < best || double.IsNaN(best)))
                        {
                            best = x;
                            bestT = smp[i].T;
                        }
                        else if (x == best && name.StartsWith("ts_", StringComparison.Ordinal)) bestT = smp[i].T;
                    }
                    v = name.StartsWith("ts_", StringComparison.Ordinal) ? bestT / 1000.0 : best;
                    break;
                }
            case "stddev_over_time":
            case "stdvar_over_time":
                {
                    var acc = new MathUtil.VarianceAccumulator();
                    foreach (var x in smp) acc.Add(x.V);
                    v = name == "stdvar_over_time" ? acc.Variance : Math.Sqrt(acc.Variance);
                    break;
                }
            case "quantile_over_time":
            case "mad_over_time":
                {
                    if (scratch is null || scratch.Length < smp.Length) scratch = new double[Math.Max(smp.Length, 16)];
                    var span = scratch.AsSpan(0, smp.Length);
                    for (var i = 0; i < smp.Length; i++) span[i] = smp[i].V;
                    if (name == "quantile_over_time") { v = MathUtil.Quantile(p0, span); break; }
                    var anyNaN = false;
                    foreach (var x in span) if (double.IsNaN(x)) { anyNaN = true; break; }
                    if (anyNaN) { v = double.NaN; break; }
                    var median = MathUtil.Quantile(0.5, span);
                    for (var i = 0; i < span.Length; i++) span[i] = Math.Abs(span[i] - median);
                    v = MathUtil.Quantile(0.5, span);
                    break;
                }
            case "holt_winters":
            case "double_exponential_smoothing":
                if (smp.Length < 2) return false;
                v = DoubleExponentialSmoothing(smp, p0, p1);
                break;
            default:
                throw new QueryException($"function \"{name}\" is not supported");
        }
        return true;
    }

    private static readonly HashSet<string> FloatOnlyRangeFunctions = new(StringComparer.Ordinal)
    {
        "deriv", "predict_linear", "holt_winters", "double_exponential_smoothing", "min_over_time", "max_over_time",
        "stddev_over_time", "stdvar_over_time", "quantile_over_time", "mad_over_time", "ts_of_min_over_time", "ts_of_max_over_time",
    };

    /// <summary>Range functions over a series holding histogram samples (possibly mixed with floats).</summary>
    private Elem? HistogramRangeFunction(string name, RangeElem s, long rangeStart, long rangeEnd, Expr arg)
    {
        var h = s.Hist.AsSpan();
        var f = s.Samples.AsSpan();
        var total = h.Length + f.Length;
        switch (name)
        {
            case "count_over_time": return new Elem(s.Labels, total);
            case "present_over_time": return new Elem(s.Labels, 1);
            case "last_over_time":
                if (f.Length > 0 && f[^1].T > h[^1].T) return new Elem(s.Labels, f[^1].V);
                return new Elem(s.Labels, 0, false, h[^1].H);
            case "first_over_time":
                if (f.Length > 0 && f[0].T < h[0].T) return new Elem(s.Labels, f[0].V);
                return new Elem(s.Labels, 0, false, h[0].H);
            case "ts_of_last_over_time": return new Elem(s.Labels, Math.Max(h[^1].T, f.Length > 0 ? f[^1].T : long.MinValue) / 1000.0);
            case "ts_of_first_over_time": return new Elem(s.Labels, Math.Min(h[0].T, f.Length > 0 ? f[0].T : long.MaxValue) / 1000.0);
            case "resets":
            case "changes":
                {
                    // Walk floats and histograms merged in time order; a switch between the two counts too.
                    int i = 0, j = 0, n = 0;
                    double? prevF = null;
                    FloatHistogram? prevH = null;
                    while (i < f.Length || j < h.Length)
                    {
                        if (j >= h.Length || (i < f.Length && f[i].T < h[j].T))
                        {
                            var cur = f[i++].V;
                            if (prevH is not null) n++;
                            else if (prevF is { } p && (name == "resets" ? cur < p : cur != p && !(double.IsNaN(cur) && double.IsNaN(p)))) n++;
                            prevF = cur; prevH = null;
                        }
                        else
                        {
                            var cur = h[j++].H;
                            if (prevF is not null) n++;
                            else if (prevH is not null && (name == "resets" ? HistogramMath.DetectReset(prevH, cur) : !HistogramMath.Equal(prevH, cur))) n++;
                            prevH = cur; prevF = null;
                        }
                    }
                    return new Elem(s.Labels, n);
                }
            case "sum_over_time":
            case "avg_over_time":
                {
                    if (f.Length > 0)
                    {
                        Warn($"encountered a mix of histograms and floats for metric name \"{s.Labels.Name ?? ""}\"{PosText(arg)}");
                        return null;
                    }
                    var acc = h[0].H;
                    for (var k = 1; k < h.Length; k++)
                    {
                        if (HistogramMath.Add(acc, h[k].H) is not { } next)
                        {
                            Warn($"vector contains histograms with incompatible bucket layouts for metric name \"{s.Labels.Name ?? ""}\"{PosText(arg)}");
                            return null;
                        }
                        acc = next;
                    }
                    return new Elem(s.Labels, 0, false, name == "avg_over_time" ? HistogramMath.Scale(acc, 1.0 / h.Length) : acc);
                }
            case "rate":
            case "increase":
            case "delta":
                {
                    if (f.Length > 0)
                    {
                        Warn($"encountered a mix of histograms and floats for metric name \"{s.Labels.Name ?? ""}\"{PosText(arg)}");
                        return null;
                    }
                    if (h.Length < 2) return null;
                    var first = h[0];
                    var last = h[^1];
                    var result = HistogramMath.Add(last.H, first.H, -1);
                    if (result is null) return null;
                    if (name != "delta")
                    {
                        for (var k = 1; k < h.Length; k++)
                        {
                            if (!HistogramMath.DetectReset(h[k - 1].H, h[k].H)) continue;
                            result = HistogramMath.Add(result, h[k - 1].H);
                            if (result is null) return null;
                        }
                    }
                    var durationToStart = (first.T - rangeStart) / 1000.0;
                    var durationToEnd = (rangeEnd - last.T) / 1000.0;
                    var sampled = (last.T - first.T) / 1000.0;
                    var avg = sampled / (h.Length - 1);
                    if (durationToStart >= avg * 1.1) durationToStart = avg / 2;
                    if (durationToEnd >= avg * 1.1) durationToEnd = avg / 2;
                    var factor = (sampled + durationToStart + durationToEnd) / sampled;
                    if (name == "rate") factor /= (rangeEnd - rangeStart) / 1000.0;
                    return new Elem(s.Labels, 0, false, HistogramMath.Scale(result, factor));
                }
            default:
                return null;
        }
    }

    /// <summary>rate/increase/delta: the change over the window, extrapolated towards the window edges.</summary>
    /// <param name="scanResets">False when the caller knows the samples never decrease (the scan would add nothing).</param>
    internal static double ExtrapolatedRate(ReadOnlySpan<Sample> s, bool scanResets, bool isCounter, bool isRate, long rangeStart, long rangeEnd)
    {
        var first = s[0];
        var last = s[^1];
        var result = last.V - first.V;
        if (scanResets)
        {
            var prev = first.V;
            for (var i = 1; i < s.Length; i++)
            {
                var cur = s[i].V;
                if (cur < prev) result += prev;
                prev = cur;
            }
        }
        return Extrapolate(result, first, last, s.Length, isCounter, isRate, rangeStart, rangeEnd);
    }

    /// <summary>rate/increase from a store's <see cref="CounterWindow"/>: the same sums in the same order as the scan above.</summary>
    internal static double ExtrapolatedRate(CounterWindow w, bool isRate, long rangeStart, long rangeEnd)
    {
        var result = w.Last.V - w.First.V;
        foreach (var prev in w.Resets) result += prev;
        return Extrapolate(result, w.First, w.Last, w.Count, true, isRate, rangeStart, rangeEnd);
    }

    private static double Extrapolate(double result, Sample first, Sample last, int count, bool isCounter, bool isRate, long rangeStart, long rangeEnd)
    {
        var durationToStart = (first.T - rangeStart) / 1000.0;
        var durationToEnd = (rangeEnd - last.T) / 1000.0;
        var sampledInterval = (last.T - first.T) / 1000.0;
        var avgBetween = sampledInterval / (count - 1);
        var threshold = avgBetween * 1.1;
        if (durationToStart >= threshold) durationToStart = avgBetween / 2;
        if (isCounter && result > 0 && first.V >= 0)
        {
            var durationToZero = sampledInterval * (first.V / result);
            if (durationToZero < durationToStart) durationToStart = durationToZero;
        }
        if (durationToEnd >= threshold) durationToEnd = avgBetween / 2;
        var factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
        if (isRate) factor /= (rangeEnd - rangeStart) / 1000.0;
        return result * factor;
    }

    private static double DoubleExponentialSmoothing(ReadOnlySpan<Sample> s, double sf, double tf)
    {
        double s0 = 0, s1 = s[0].V;
        var b = s[1].V - s[0].V;
        for (var i = 1; i < s.Length; i++)
        {
            var x = sf * s[i].V;
            if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
            var y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        return s1;
    }
}
