using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Data loading: the time span each selector needs, loading (whole, thinned or streamed) before the first step.</summary>
internal sealed partial class Evaluator
{
    private double StepSeconds => _interval / 1000.0;
    private double RangeSeconds => (_end - _start) / 1000.0;

    private long Off(VectorSelector vs) => vs.OffsetExpr is { } d ? d.EvalMs(StepSeconds, RangeSeconds) : vs.OffsetMs;
    private long Off(SubqueryExpr sq) => sq.OffsetExpr is { } d ? d.EvalMs(StepSeconds, RangeSeconds) : sq.OffsetMs;
    private long Rng(MatrixSelector ms) => ms.RangeExpr is { } d ? Positive(d.EvalMs(StepSeconds, RangeSeconds), "range") : ms.RangeMs;
    private long Rng(SubqueryExpr sq) => sq.RangeExpr is { } d ? Positive(d.EvalMs(StepSeconds, RangeSeconds), "subquery range") : sq.RangeMs;

    private long Stp(SubqueryExpr sq)
    {
        var step = sq.StepExpr is { } d ? Positive(d.EvalMs(StepSeconds, RangeSeconds), "subquery step") : sq.StepMs;
        return step > 0 ? step : (long)_opts.DefaultSubqueryStep.TotalMilliseconds;
    }

    private static long Positive(long ms, string what) =>
        ms > 0 ? ms : throw new QueryException($"{what} must be positive, got {Expr.FormatDuration(ms)}");

    private long AtTime(AtModifier at, long t) => at.Kind switch
    {
        AtKind.Timestamp => at.Ms,
        AtKind.Start => _start,
        AtKind.End => _end,
        _ => t,
    };

    /// <summary>Computes the time span every selector needs over the evaluation window [mint, maxt].</summary>
    private void Prepare(Expr e, long mint, long maxt)
    {
        switch (e)
        {
            case VectorSelector vs:
                {
                    if (_subqueryDepth == 0 && vs.Modifier == RangeModifier.None) _thin.Add(vs);
                    else _thinBlocked.Add(vs);
                    var lo = vs.At.IsSet ? AtTime(vs.At, 0) : mint;
                    var hi = vs.At.IsSet ? AtTime(vs.At, 0) : maxt;
                    Extend(vs, TSub(TSub(lo, Off(vs)), _lookback), TAdd(TSub(hi, Off(vs)), vs.Modifier == RangeModifier.Smoothed ? _lookback : 0));
                    return;
                }
            case MatrixSelector ms:
                {
                    var vs = ms.Selector;
                    var lo = vs.At.IsSet ? AtTime(vs.At, 0) : mint;
                    var hi = vs.At.IsSet ? AtTime(vs.At, 0) : maxt;
                    Extend(vs, TSub(TSub(TSub(lo, Off(vs)), Rng(ms)), vs.Modifier != RangeModifier.None ? _lookback : 0),
                        TAdd(TSub(hi, Off(vs)), vs.Modifier == RangeModifier.Smoothed ? _lookback : 0));
                    return;
                }
            case SubqueryExpr sq:
                {
                    var lo = sq.At.IsSet ? AtTime(sq.At, 0) : mint;
                    var hi = sq.At.IsSet ? AtTime(sq.At, 0) : maxt;
                    _subqueryDepth++;
                    Prepare(sq.Inner, TSub(TSub(lo, Off(sq)), Rng(sq)), TSub(hi, Off(sq)));
                    _subqueryDepth--;
                    return;
                }
            case AggregateExpr a when FusableCall(a) is { } fusable:
                {
                    Prepare(fusable, mint, maxt);
                    var fsc = _streamed[fusable];
                    fsc.FuseWith = a;
                    _fused[a] = fsc;
                    return;
                }
            case Call call when _subqueryDepth == 0 && StreamableSelector(call) is { } ms:
                {
                    var vs = ms.Selector;
                    var lo = vs.At.IsSet ? AtTime(vs.At, 0) : mint;
                    var hi = vs.At.IsSet ? AtTime(vs.At, 0) : maxt;
                    if (!_streamed.TryGetValue(call, out var sc)) _streamed[call] = sc = new StreamedCall(ms);
                    sc.Min = Math.Min(sc.Min, TSub(TSub(lo, Off(vs)), Rng(ms)));
                    sc.Max = Math.Max(sc.Max, TSub(hi, Off(vs)));
                    return;
                }
            case Call { Func.Name: "info" } call:
                {
                    Prepare(call.Args[0], mint, maxt);
                    var infoSel = InfoSelector(call);
                    var (lo, hi) = InfoTimeRange(call, mint, maxt);
                    Extend(infoSel, TSub(lo, _lookback), hi);
                    return;
                }
            default:
                foreach (var c in ExprWalker.Children(e)) Prepare(c, mint, maxt);
                return;
        }
    }

    private int _subqueryDepth;

    // Instant selectors outside subqueries are only ever read at the query's own steps: they load just the sample each
    // step picks (see LoadThinned) instead of every sample of the lookback windows.
    private readonly HashSet<VectorSelector> _thin = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<VectorSelector> _thinBlocked = new(ReferenceEqualityComparer.Instance);

    /// <summary>A range function over a plain matrix selector, evaluated for every step at load time, series by series.</summary>
    private sealed class StreamedCall(MatrixSelector selector)
    {
        public readonly MatrixSelector Selector = selector;
        public long Min = long.MaxValue, Max = long.MinValue;
        public List<Elem>?[] Steps = [];
        public long[] Samples = [];
        /// <summary>The aggregation over this call, computed while streaming (Evaluator.StreamAggregate.cs), or null.</summary>
        public AggregateExpr? FuseWith;
        public FusedGroups? Fused;
        public bool DropsName;
    }

    private readonly Dictionary<Call, StreamedCall> _streamed = new(ReferenceEqualityComparer.Instance);

    /// <summary>Single-argument float range functions whose value for a series depends only on that series' window.</summary>
    private static readonly HashSet<string> StreamableFunctions = new(StringComparer.Ordinal)
    {
        "rate", "increase", "delta", "irate", "idelta", "deriv", "changes", "resets", "avg_over_time", "sum_over_time",
        "count_over_time", "present_over_time", "last_over_time", "first_over_time", "ts_of_last_over_time",
        "ts_of_first_over_time", "min_over_time", "max_over_time", "ts_of_min_over_time", "ts_of_max_over_time",
        "stddev_over_time", "stdvar_over_time", "mad_over_time",
    };

    /// <summary>
    /// The selector of a call that can be computed by streaming series from the store (top level, not in a subquery,
    /// a plain matrix selector, a float-only store); null otherwise. Such a call never holds every series' samples at
    /// once: each series is decoded, evaluated at every step, and dropped.
    /// </summary>
    private MatrixSelector? StreamableSelector(Call call)
    {
        if (_querier is not IStreamingSeriesQuerier) return null;
        if (call.Args.Count != 1 || !StreamableFunctions.Contains(call.Func.Name)) return null;
        var arg = call.Args[0];
        while (arg is ParenExpr p) arg = p.Inner;
        return arg is MatrixSelector { Selector.Modifier: RangeModifier.None } ms ? ms : null;
    }

    private void Extend(VectorSelector vs, long min, long max)
    {
        if (_ranges.TryGetValue(vs, out var r)) _ranges[vs] = (Math.Min(r.Min, min), Math.Max(r.Max, max));
        else _ranges[vs] = (min, max);
    }

    private long _samplesLoaded;

    /// <summary>
    /// Samples loaded before the first step also count against max samples: unlike Prometheus, which reads them lazily
    /// from chunks, the engine holds them decoded for the whole query.
    /// </summary>
    private void AddLoaded(long n)
    {
        _samplesLoaded += n;
        if (_samplesLoaded > _opts.MaxSamples)
            throw new QueryException(QueryErrorKind.TooManySamples, "query processing would load too many samples into memory in query execution");
    }

    private void Load()
    {
        // Streaming sees floats only: a selector that has native histogram samples is loaded whole instead.
        if (_querier is IHistogramQuerier histograms && _streamed.Count > 0)
        {
            foreach (var (call, sc) in _streamed.ToArray())
            {
                var vs = sc.Selector.Selector;
                if (!histograms.SelectHistograms(TAdd(sc.Min, 1), sc.Max, vs.Matchers).Any(static h => h.Samples.Count > 0)) continue;
                _streamed.Remove(call);
                if (sc.FuseWith is not null) _fused.Remove(sc.FuseWith);
                Extend(vs, sc.Min, sc.Max);
            }
        }
        foreach (var (vs, (min, max)) in _ranges)
        {
            CheckCancel();
            if (_querier is IStreamingSeriesQuerier streaming && _thin.Contains(vs) && !_thinBlocked.Contains(vs) &&
                !(_querier is IHistogramQuerier hs && hs.SelectHistograms(TAdd(min, 1), max, vs.Matchers).Any(static h => h.Samples.Count > 0)))
            {
                _data[vs] = LoadThinned(streaming, vs, min, max);
                continue;
            }
            var list = new List<LoadedSeries>();
            // Both the lookback window and range windows are left-open: (min, max].
            Dictionary<Labels, HistogramSample[]>? hist = null;
            if (_querier is IHistogramQuerier hq)
            {
                foreach (var s in hq.SelectHistograms(TAdd(min, 1), max, vs.Matchers))
                {
                    if (s.Samples.Count == 0) continue;
                    hist ??= [];
                    hist[s.Labels] = s.Samples as HistogramSample[] ?? [.. s.Samples];
                }
            }
            foreach (var s in _querier.Select(TAdd(min, 1), max, vs.Matchers))
            {
                var arr = s.Samples as Sample[] ?? [.. s.Samples];
                HistogramSample[]? h = null;
                if (hist is not null && hist.Remove(s.Labels, out var hh)) h = hh;
                if (arr.Length == 0 && h is null) continue;
                list.Add(new LoadedSeries(s.Labels, arr, h ?? []));
                AddLoaded(arr.Length + (h?.Length ?? 0));
            }
            if (hist is not null)
            {
                foreach (var (l, h) in hist)
                {
                    list.Add(new LoadedSeries(l, [], h));
                    AddLoaded(h.Length);
                }
            }
            if (!IsSorted(list)) list.Sort(static (a, b) => a.Labels.CompareTo(b.Labels));
            _data[vs] = [.. list];
        }
        foreach (var (call, sc) in _streamed) Stream(call, sc);
    }

    /// <summary>
    /// Loads, per series, only the samples <see cref="SelectInstant"/> can pick: for each step, the latest sample at or
    /// before the step's evaluation time (the lookback and staleness checks stay in SelectInstant). An instant query
    /// keeps one sample per series instead of the whole lookback window; a range query at most one per step.
    /// </summary>
    private LoadedSeries[] LoadThinned(IStreamingSeriesQuerier querier, VectorSelector vs, long min, long max)
    {
        var off = Off(vs);
        var steps = vs.At.IsSet ? 1 : StepCount;
        var list = new List<LoadedSeries>();
        var picked = new List<Sample>();
        querier.SelectEach(TAdd(min, 1), max, vs.Matchers, (labels, samples) =>
        {
            picked.Clear();
            var j = 0;
            for (var k = 0; k < steps; k++)
            {
                var ts = TSub(AtTime(vs.At, _start + k * _interval), off);
                while (j < samples.Length && samples[j].T <= ts) j++;
                if (j == 0) continue;
                var smp = samples[j - 1];
                if (picked.Count == 0 || picked[^1].T != smp.T) picked.Add(smp);
            }
            if (picked.Count == 0) return;
            list.Add(new LoadedSeries(labels, [.. picked], []));
            AddLoaded(picked.Count);
        });
        return [.. list];
    }

    /// <summary>Steps of a range query (1 for an instant query); the engine has checked that it fits its point limit.</summary>
    private int StepCount => _interval > 0 ? (int)(unchecked((ulong)(_end - _start)) / (ulong)_interval) + 1 : 1;

    private int StepIndex(long t) => _interval > 0 ? (int)(unchecked((ulong)(t - _start)) / (ulong)_interval) : 0;

    /// <summary>Evaluates a streamable call at every step, one series at a time, keeping only the results.</summary>
    private void Stream(Call call, StreamedCall sc)
    {
        CheckCancel();
        var ms = sc.Selector;
        var vs = ms.Selector;
        var name = call.Func.Name;
        var steps = StepCount;
        sc.Steps = new List<Elem>?[steps];
        sc.Samples = new long[steps];
        var range = Rng(ms);
        var off = Off(vs);
        // Every series sees the same windows: their ends (non-decreasing with the step) and starts, computed once.
        var stepEnd = new long[steps];
        var stepStart = new long[steps];
        for (var k = 0; k < steps; k++)
        {
            stepEnd[k] = TSub(AtTime(vs.At, _start + k * _interval), off);
            stepStart[k] = TSub(stepEnd[k], range);
        }
        var keepName = name is "last_over_time" or "first_over_time";
        sc.DropsName = !keepName;
        var fused = sc.FuseWith is { } agg ? sc.Fused = new FusedGroups(agg, steps) : null;
        var isCounterFn = name is "rate" or "increase" or "irate";
        var rateKind = name switch { "rate" => 1, "increase" => 2, _ => 0 };
        var counterInfo = new bool[steps];
        double[]? scratch = null;
        Sample[] clean = [];
        long produced = 0;
        var visited = 0;
        if (steps == 1 && rateKind != 0 && _querier is ICounterWindowQuerier windows && stepStart[0] == sc.Min && stepEnd[0] == sc.Max)
        {
            // An instant rate/increase: one window per series, summarized by the store (chunks wholly inside it that
            // never decrease are not decoded). The same values as the loop below, which sees every sample.
            var start = stepStart[0];
            var ts = stepEnd[0];
            string? counterName = null;
            windows.SelectCounterWindows(TAdd(sc.Min, 1), sc.Max, vs.Matchers, (labels, w) =>
            {
                if ((++visited & 1023) == 0) CheckCancel();
                sc.Samples[0] += w.Count;
                if (w.Count < 2) return;
                var v = ExtrapolatedRate(w, rateKind == 1, start, ts);
                // Series of one metric usually share its name string: it is checked once, not once per series.
                if (!counterInfo[0] && labels.Name is { } mn && !ReferenceEquals(mn, counterName))
                {
                    if (HasCounterSuffix(mn)) counterName = mn;
                    else
                    {
                        counterInfo[0] = true;
                        Info($"metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"{mn}\"{PosText(call.Args[0])}");
                    }
                }
                if (fused is not null)
                {
                    var group = fused.Group(GroupKey(fused.Expr, labels), steps);
                    fused.Add(fused.Arrays(group), group, 0, v);
                }
                else (sc.Steps[0] ??= []).Add(new Elem(labels, v, !keepName));
                if (++produced > _opts.MaxSamples)
                    throw new QueryException(QueryErrorKind.TooManySamples, "query processing would load too many samples into memory in query execution");
            });
            return;
        }
        ((IStreamingSeriesQuerier)_querier).SelectEach(TAdd(sc.Min, 1), sc.Max, vs.Matchers, (labels, samples) =>
        {
            if ((++visited & 1023) == 0) CheckCancel();
            // Stale markers are not samples for range functions.
            var stale = 0;
            foreach (var smp in samples) if (StaleNaN.Is(smp.V)) stale++;
            ReadOnlySpan<Sample> f = samples;
            if (stale > 0)
            {
                if (clean.Length < samples.Length) clean = new Sample[samples.Length];
                var j = 0;
                foreach (var smp in samples) if (!StaleNaN.Is(smp.V)) clean[j++] = smp;
                f = clean.AsSpan(0, j);
            }
            if (f.Length == 0) return;
            var noResets = NeverDecreases(f);
            var nonCounter = isCounterFn && labels.Name is { } mn && !HasCounterSuffix(mn);
            int lo = 0, hi = 0;
            var group = -1;
            var groupArrays = default(GroupArrays);
            var firstT = f[0].T;
            var lastT = f[^1].T;
            // The first step whose window end reaches the series' first sample.
            int k0 = 0, k1 = steps;
            while (k0 < k1)
            {
                var mid = (k0 + k1) >>> 1;
                if (stepEnd[mid] < firstT) k0 = mid + 1; else k1 = mid;
            }
            for (var k = k0; k < steps; k++)
            {
                var t = _start + k * _interval;
                var ts = stepEnd[k];
                var start = stepStart[k];
                if (start >= lastT) break;
                AdvanceWindow(f, start, ts, ref lo, ref hi);
                if (hi <= lo) continue;
                sc.Samples[k] += hi - lo;
                double v;
                if (rateKind != 0)
                {
                    // rate/increase without RangeValue's per-call dispatch on the function name (same computation).
                    if (hi - lo < 2) continue;
                    v = ExtrapolatedRate(f[lo..hi], !noResets, true, rateKind == 1, start, ts);
                }
                else if (!RangeValue(name, f[lo..hi], noResets, t, start, ts, 0, 0, ref scratch, out v)) continue;
                if (nonCounter && !counterInfo[k])
                {
                    counterInfo[k] = true;
                    Info($"metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"{labels.Name}\"{PosText(call.Args[0])}");
                }
                if (fused is not null)
                {
                    // The group is looked up once per series, at its first value (groups appear with their first member).
                    if (group < 0)
                    {
                        group = fused.Group(GroupKey(fused.Expr, labels), steps);
                        groupArrays = fused.Arrays(group);
                    }
                    fused.Add(groupArrays, group, k, v);
                }
                else (sc.Steps[k] ??= []).Add(new Elem(labels, v, !keepName));
                if (++produced > _opts.MaxSamples)
                    throw new QueryException(QueryErrorKind.TooManySamples, "query processing would load too many samples into memory in query execution");
            }
        });
    }

    /// <summary>The precomputed result of a streamed call at step <paramref name="t"/>.</summary>
    private Val StreamedValue(StreamedCall sc, long t)
    {
        var k = StepIndex(t);
        AddSamples(sc.Samples[k]);
        var res = sc.Steps[k] ?? [];
        AddSamples(res.Count);
        return Val.OfVector(res);
    }

    /// <summary>Moves window bounds forward to (start, end]: lo is the first sample after start, hi the first after end.</summary>
    private static void AdvanceWindow(ReadOnlySpan<Sample> f, long start, long end, ref int lo, ref int hi)
    {
        while (lo < f.Length && f[lo].T <= start) lo++;
        if (hi < lo) hi = lo;
        while (hi < f.Length && f[hi].T <= end) hi++;
    }

    private static bool NeverDecreases(ReadOnlySpan<Sample> f)
    {
        for (var i = 1; i < f.Length; i++)
            if (!(f[i].V >= f[i - 1].V)) return false;
        return true;
    }

    /// <summary>Whether a metric name looks like a counter's, as <c>rate</c> and friends expect (else an info is given).</summary>
    private static bool HasCounterSuffix(string name) =>
        name.EndsWith("_total", StringComparison.Ordinal) || name.EndsWith("_sum", StringComparison.Ordinal) ||
        name.EndsWith("_count", StringComparison.Ordinal) || name.EndsWith("_bucket", StringComparison.Ordinal);

    private static bool IsSorted(List<LoadedSeries> list)
    {
        for (var i = 1; i < list.Count; i++)
            if (list[i - 1].Labels.CompareTo(list[i].Labels) >= 0) return false;
        return true;
    }
}
