using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>
/// Evaluates PromQL against an <see cref="ISeriesQuerier"/>. Thread-safe: each call gets its own evaluator state.
/// Times are Unix milliseconds.
/// </summary>
public sealed class Engine(EngineOptions? options = null, TimeProvider? timeProvider = null)
{
    public EngineOptions Options { get; } = options ?? new EngineOptions();

    /// <summary>Clock for query timeouts (inject a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; } = timeProvider ?? TimeProvider.System;

    /// <summary>Parses and evaluates <paramref name="query"/> at <paramref name="timeMs"/>.</summary>
    public QueryResult Instant(ISeriesQuerier querier, string query, long timeMs, CancellationToken cancellationToken = default)
        => Instant(querier, Parser.Parse(query), timeMs, cancellationToken);

    /// <summary>Evaluates an instant query. The value is a scalar, string, vector or (for range expressions) matrix.</summary>
    public QueryResult Instant(ISeriesQuerier querier, Expr expr, long timeMs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(querier);
        ArgumentNullException.ThrowIfNull(expr);
        using var ev = new Evaluator(querier, Options, TimeProvider, timeMs, timeMs, 0, cancellationToken);
        return ev.RunInstant(expr);
    }

    /// <summary>Parses and evaluates a range query.</summary>
    public QueryResult Range(ISeriesQuerier querier, string query, long startMs, long endMs, long stepMs, CancellationToken cancellationToken = default)
        => Range(querier, Parser.Parse(query), startMs, endMs, stepMs, cancellationToken);

    /// <summary>Evaluates <paramref name="expr"/> at every step in [start, end]; the value is always a <see cref="MatrixResult"/>.</summary>
    public QueryResult Range(ISeriesQuerier querier, Expr expr, long startMs, long endMs, long stepMs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(querier);
        ArgumentNullException.ThrowIfNull(expr);
        if (stepMs <= 0) throw new QueryException("zero or negative query resolution step widths are not accepted");
        if (endMs < startMs) throw new QueryException("end timestamp must not be before start time");
        if (expr.Type is not (ValueKind.Scalar or ValueKind.Vector))
            throw new QueryException($"invalid expression type \"{Parser.TypeName(expr.Type)}\" for range query, must be Scalar or instant Vector");
        using var ev = new Evaluator(querier, Options, TimeProvider, startMs, endMs, stepMs, cancellationToken);
        return ev.RunRange(expr);
    }
}

/// <summary>An element of an instant vector during evaluation. DropName defers removal of __name__ to the end.</summary>
internal readonly record struct Elem(Labels Labels, double V, bool DropName = false, FloatHistogram? H = null);

/// <summary>A series of a range vector at one evaluation step.</summary>
/// <param name="NoCounterResets">The float samples never decrease, so counter functions can skip the reset scan.</param>
internal readonly record struct RangeElem(Labels Labels, ArraySegment<Sample> Samples, bool DropName = false, ArraySegment<HistogramSample> Hist = default,
    bool NoCounterResets = false)
{
    public int Total => Samples.Count + Hist.Count;
}

/// <summary>An evaluated value at one step.</summary>
internal readonly struct Val
{
    public readonly ValueKind Kind;
    public readonly double Scalar;
    public readonly string? Str;
    public readonly List<Elem>? Vec;
    public readonly List<RangeElem>? Mat;

    private Val(ValueKind kind, double scalar, string? str, List<Elem>? vec, List<RangeElem>? mat)
    {
        Kind = kind; Scalar = scalar; Str = str; Vec = vec; Mat = mat;
    }

    public static Val OfScalar(double v) => new(ValueKind.Scalar, v, null, null, null);
    public static Val OfString(string s) => new(ValueKind.String, 0, s, null, null);
    public static Val OfVector(List<Elem> v) => new(ValueKind.Vector, 0, null, v, null);
    public static Val OfMatrix(List<RangeElem> m) => new(ValueKind.Matrix, 0, null, null, m);
}

/// <summary>A series loaded once per query for a selector, reused at every step.</summary>
internal sealed class LoadedSeries(Labels labels, Sample[] samples, HistogramSample[] hist)
{
    public Labels Labels { get; } = labels;
    public Sample[] Samples { get; } = samples;
    public HistogramSample[] Hist { get; } = hist;
}

internal sealed partial class Evaluator : IDisposable
{
    private readonly ISeriesQuerier _querier;
    private readonly EngineOptions _opts;
    private readonly long _start, _end, _interval;
    private readonly long _lookback;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _ct;
    private readonly CancellationToken _callerCt;
    private readonly Dictionary<VectorSelector, (long Min, long Max)> _ranges = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<VectorSelector, LoadedSeries[]> _data = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Labels, Labels> _dropNameCache = [];
    private readonly List<string> _warnings = [];
    private readonly List<string> _infos = [];
    private long _samplesInStep;
    private long _samplesTotalHeld;
    private bool _isRangeQuery;

    private readonly CancellationTokenSource? _timeoutCts;

    public Evaluator(ISeriesQuerier querier, EngineOptions opts, TimeProvider clock, long start, long end, long interval, CancellationToken ct)
    {
        _querier = querier;
        _opts = opts;
        _start = start;
        _end = end;
        _interval = interval;
        _lookback = (long)opts.LookbackDelta.TotalMilliseconds;
        _callerCt = ct;
        if (opts.Timeout > TimeSpan.Zero && opts.Timeout != Timeout.InfiniteTimeSpan)
        {
            _timeoutCts = new CancellationTokenSource(opts.Timeout, clock);
            _cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _timeoutCts.Token);
        }
        else _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _ct = _cts.Token;
    }

    public void Dispose()
    {
        _cts.Dispose();
        _timeoutCts?.Dispose();
    }

    private void Warn(string msg)
    {
        if (_warnings.Count >= 100) return;
        msg = "PromQL warning: " + msg;
        if (!_warnings.Contains(msg)) _warnings.Add(msg);
    }

    private void Info(string msg)
    {
        if (_infos.Count >= 100) return;
        msg = "PromQL info: " + msg;
        if (!_infos.Contains(msg)) _infos.Add(msg);
    }

    private static string PosText(Expr e) => $" (1:{e.Pos + 1})";

    private void CheckCancel()
    {
        if (!_ct.IsCancellationRequested) return;
        throw Cancelled();
    }

    private QueryException Cancelled() => _callerCt.IsCancellationRequested
        ? new QueryException(QueryErrorKind.Canceled, "query was canceled in query execution")
        : new QueryException(QueryErrorKind.Timeout, "query timed out in query execution");

    private void AddSamples(long n)
    {
        _samplesInStep += n;
        if (_samplesInStep + _samplesTotalHeld > _opts.MaxSamples)
            throw new QueryException(QueryErrorKind.TooManySamples, "query processing would load too many samples into memory in query execution");
    }

    // ---- entry points -------------------------------------------------------------------------

    public QueryResult RunInstant(Expr expr)
    {
        try
        {
            Prepare(expr, _start, _end);
            Load();
            var v = Eval(expr, _start);
            QueryValue result = v.Kind switch
            {
                ValueKind.Scalar => new ScalarResult(_start, v.Scalar),
                ValueKind.String => new StringResult(_start, v.Str!),
                ValueKind.Vector => new VectorResult(FinishVector(v.Vec!, _start)),
                _ => new MatrixResult(FinishMatrix(v.Mat!)),
            };
            return new QueryResult(result, _warnings, _infos);
        }
        catch (OperationCanceledException)
        {
            throw Cancelled();
        }
    }

    public QueryResult RunRange(Expr expr)
    {
        _isRangeQuery = true;
        try
        {
            Prepare(expr, _start, _end);
            Load();
            var series = new Dictionary<Labels, SeriesAcc>();
            for (var t = _start; t <= _end; t += _interval)
            {
                CheckCancel();
                _samplesInStep = 0;
                var v = Eval(expr, t);
                if (v.Kind == ValueKind.Scalar)
                {
                    AddPoint(series, Labels.Empty, t, v.Scalar, null);
                    continue;
                }
                // Duplicate label sets after dropping names are caught by AddPoint (same series, same step).
                foreach (var e in v.Vec!) AddPoint(series, e.DropName ? DropName(e.Labels) : e.Labels, t, e.V, e.H);
            }
            var list = new List<MatrixSeries>(series.Count);
            foreach (var kv in series) list.Add(new MatrixSeries(kv.Key, kv.Value.F, (IReadOnlyList<HistogramSample>?)kv.Value.H ?? []));
            list.Sort(static (a, b) => a.Labels.CompareTo(b.Labels));
            return new QueryResult(new MatrixResult(list), _warnings, _infos);
        }
        catch (OperationCanceledException)
        {
            throw Cancelled();
        }
    }

    private sealed class SeriesAcc
    {
        public readonly List<Sample> F = [];
        public List<HistogramSample>? H;
        public long LastT = long.MinValue;
    }

    private void AddPoint(Dictionary<Labels, SeriesAcc> series, Labels l, long t, double v, FloatHistogram? h)
    {
        ref var acc = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(series, l, out _);
        acc ??= new SeriesAcc();
        if (acc.LastT == t) throw new QueryException("vector cannot contain metrics with the same labelset");
        acc.LastT = t;
        if (h is null) acc.F.Add(new Sample(t, v));
        else (acc.H ??= []).Add(new HistogramSample(t, h));
        _samplesTotalHeld++;
        AddSamples(0);
    }

    /// <summary>Type-and-unit labels go with the metric name when it is dropped.</summary>
    private static readonly string[] TypeAndUnit = ["__type__", "__unit__"];

    private Labels DropName(Labels l)
    {
        if (l.Name is null) return l;
        if (!_dropNameCache.TryGetValue(l, out var d)) _dropNameCache[l] = d = DropLabels(l, TypeAndUnit, true);
        return d;
    }

    /// <summary>Applies pending name drops and rejects duplicate label sets.</summary>
    private List<VectorSample> FinishVector(List<Elem> vec, long t)
    {
        var res = new List<VectorSample>(vec.Count);
        var anyDrop = false;
        foreach (var e in vec)
        {
            if (e.DropName && e.Labels.Name is not null) anyDrop = true;
            res.Add(new VectorSample(e.DropName ? DropName(e.Labels) : e.Labels, t, e.V, e.H));
        }
        if (anyDrop) CheckDuplicates(res);
        return res;
    }

    private static void CheckDuplicates(List<VectorSample> res)
    {
        var seen = new HashSet<Labels>();
        foreach (var s in res)
            if (!seen.Add(s.Labels)) throw new QueryException("vector cannot contain metrics with the same labelset");
    }

    private List<MatrixSeries> FinishMatrix(List<RangeElem> mat)
    {
        var res = new List<MatrixSeries>(mat.Count);
        var seen = new HashSet<Labels>();
        foreach (var m in mat)
        {
            var l = m.DropName ? DropName(m.Labels) : m.Labels;
            if (!seen.Add(l)) throw new QueryException("vector cannot contain metrics with the same labelset");
            res.Add(new MatrixSeries(l, m.Samples.ToArray(), m.Hist.Count > 0 ? m.Hist.ToArray() : []));
        }
        res.Sort(static (a, b) => a.Labels.CompareTo(b.Labels));
        return res;
    }

    // ---- data loading -----------------------------------------------------------------------

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
                    Extend(vs, lo - Off(vs) - _lookback, hi - Off(vs) + (vs.Modifier == RangeModifier.Smoothed ? _lookback : 0));
                    return;
                }
            case MatrixSelector ms:
                {
                    var vs = ms.Selector;
                    var lo = vs.At.IsSet ? AtTime(vs.At, 0) : mint;
                    var hi = vs.At.IsSet ? AtTime(vs.At, 0) : maxt;
                    Extend(vs, lo - Off(vs) - Rng(ms) - (vs.Modifier != RangeModifier.None ? _lookback : 0),
                        hi - Off(vs) + (vs.Modifier == RangeModifier.Smoothed ? _lookback : 0));
                    return;
                }
            case SubqueryExpr sq:
                {
                    var lo = sq.At.IsSet ? AtTime(sq.At, 0) : mint;
                    var hi = sq.At.IsSet ? AtTime(sq.At, 0) : maxt;
                    _subqueryDepth++;
                    Prepare(sq.Inner, lo - Off(sq) - Rng(sq), hi - Off(sq));
                    _subqueryDepth--;
                    return;
                }
            case Call call when _subqueryDepth == 0 && StreamableSelector(call) is { } ms:
                {
                    var vs = ms.Selector;
                    var lo = vs.At.IsSet ? AtTime(vs.At, 0) : mint;
                    var hi = vs.At.IsSet ? AtTime(vs.At, 0) : maxt;
                    if (!_streamed.TryGetValue(call, out var sc)) _streamed[call] = sc = new StreamedCall(ms);
                    sc.Min = Math.Min(sc.Min, lo - Off(vs) - Rng(ms));
                    sc.Max = Math.Max(sc.Max, hi - Off(vs));
                    return;
                }
            case Call { Func.Name: "info" } call:
                {
                    Prepare(call.Args[0], mint, maxt);
                    var infoSel = InfoSelector(call);
                    var (lo, hi) = InfoTimeRange(call, mint, maxt);
                    Extend(infoSel, lo - _lookback, hi);
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

    private void Load()
    {
        // Streaming sees floats only: a selector that has native histogram samples is loaded whole instead.
        if (_querier is IHistogramQuerier histograms && _streamed.Count > 0)
        {
            foreach (var (call, sc) in _streamed.ToArray())
            {
                var vs = sc.Selector.Selector;
                if (!histograms.SelectHistograms(sc.Min + 1, sc.Max, vs.Matchers).Any(static h => h.Samples.Count > 0)) continue;
                _streamed.Remove(call);
                Extend(vs, sc.Min, sc.Max);
            }
        }
        foreach (var (vs, (min, max)) in _ranges)
        {
            CheckCancel();
            if (_querier is IStreamingSeriesQuerier streaming && _thin.Contains(vs) && !_thinBlocked.Contains(vs) &&
                !(_querier is IHistogramQuerier hs && hs.SelectHistograms(min + 1, max, vs.Matchers).Any(static h => h.Samples.Count > 0)))
            {
                _data[vs] = LoadThinned(streaming, vs, min, max);
                continue;
            }
            var list = new List<LoadedSeries>();
            // Both the lookback window and range windows are left-open: (min, max].
            Dictionary<Labels, HistogramSample[]>? hist = null;
            if (_querier is IHistogramQuerier hq)
            {
                foreach (var s in hq.SelectHistograms(min + 1, max, vs.Matchers))
                {
                    if (s.Samples.Count == 0) continue;
                    hist ??= [];
                    hist[s.Labels] = s.Samples as HistogramSample[] ?? [.. s.Samples];
                }
            }
            foreach (var s in _querier.Select(min + 1, max, vs.Matchers))
            {
                var arr = s.Samples as Sample[] ?? [.. s.Samples];
                HistogramSample[]? h = null;
                if (hist is not null && hist.Remove(s.Labels, out var hh)) h = hh;
                if (arr.Length == 0 && h is null) continue;
                list.Add(new LoadedSeries(s.Labels, arr, h ?? []));
            }
            if (hist is not null)
                foreach (var (l, h) in hist) list.Add(new LoadedSeries(l, [], h));
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
        querier.SelectEach(min + 1, max, vs.Matchers, (labels, samples) =>
        {
            picked.Clear();
            var j = 0;
            for (var k = 0; k < steps; k++)
            {
                var ts = AtTime(vs.At, _start + k * _interval) - off;
                while (j < samples.Length && samples[j].T <= ts) j++;
                if (j == 0) continue;
                var smp = samples[j - 1];
                if (picked.Count == 0 || picked[^1].T != smp.T) picked.Add(smp);
            }
            if (picked.Count > 0) list.Add(new LoadedSeries(labels, [.. picked], []));
        });
        return [.. list];
    }

    private int StepCount => _interval > 0 ? (int)((_end - _start) / _interval) + 1 : 1;

    private int StepIndex(long t) => _interval > 0 ? (int)((t - _start) / _interval) : 0;

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
        var keepName = name is "last_over_time" or "first_over_time";
        var isCounterFn = name is "rate" or "increase" or "irate";
        var counterInfo = new bool[steps];
        double[]? scratch = null;
        Sample[] clean = [];
        long produced = 0;
        var visited = 0;
        ((IStreamingSeriesQuerier)_querier).SelectEach(sc.Min + 1, sc.Max, vs.Matchers, (labels, samples) =>
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
            var firstT = f[0].T;
            var lastT = f[^1].T;
            for (var k = 0; k < steps; k++)
            {
                var t = _start + k * _interval;
                var ts = AtTime(vs.At, t) - off;
                var start = ts - range;
                if (ts < firstT) continue;
                if (start >= lastT) break;
                AdvanceWindow(f, start, ts, ref lo, ref hi);
                if (hi <= lo) continue;
                sc.Samples[k] += hi - lo;
                if (!RangeValue(name, f[lo..hi], noResets, t, start, ts, 0, 0, ref scratch, out var v)) continue;
                if (nonCounter && !counterInfo[k])
                {
                    counterInfo[k] = true;
                    Info($"metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"{labels.Name}\"{PosText(call.Args[0])}");
                }
                (sc.Steps[k] ??= []).Add(new Elem(labels, v, !keepName));
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

    // ---- evaluation ---------------------------------------------------------------------------

    private Val Eval(Expr e, long t)
    {
        CheckCancel();
        switch (e)
        {
            case NumberLiteral n: return Val.OfScalar(n.Value);
            case StringLiteral s: return Val.OfString(s.Value);
            case ParenExpr p: return Eval(p.Inner, t);
            case UnaryExpr u:
                {
                    var v = Eval(u.Operand, t);
                    if (!u.Negate) return v;
                    if (v.Kind == ValueKind.Scalar) return Val.OfScalar(-v.Scalar);
                    var src = v.Vec!;
                    var res = new List<Elem>(src.Count);
                    foreach (var x in src) res.Add(x.H is null ? new Elem(x.Labels, -x.V, true) : new Elem(x.Labels, 0, true, HistogramMath.Scale(x.H, -1)));
                    return Val.OfVector(res);
                }
            case VectorSelector vs: return Val.OfVector(SelectInstant(vs, t, false));
            case MatrixSelector ms:
                {
                    var (m, _, _) = SelectRange(ms, t);
                    return Val.OfMatrix(m);
                }
            case SubqueryExpr sq:
                {
                    var (m, _, _) = EvalSubquery(sq, t);
                    return Val.OfMatrix(m);
                }
            case BinaryExpr b: return EvalBinary(b, t);
            case AggregateExpr a: return EvalAggregate(a, t);
            case Call c: return EvalCall(c, t);
            default: throw new QueryException("unsupported expression " + e.GetType().Name);
        }
    }

    /// <summary>Latest non-stale sample of each series in the lookback window (ts - lookback, ts].</summary>
    private List<Elem> SelectInstant(VectorSelector vs, long t, bool valueIsTimestamp)
    {
        var ts = AtTime(vs.At, t) - Off(vs);
        var data = _data[vs];
        var res = new List<Elem>(data.Length);
        var minT = ts - _lookback;
        if (vs.Modifier == RangeModifier.Smoothed && !valueIsTimestamp)
        {
            foreach (var s in data)
            {
                var v = Interpolate(s.Samples, ts, false);
                if (!double.IsNaN(v.Value)) res.Add(new Elem(s.Labels, v.Value));
            }
            AddSamples(res.Count);
            return res;
        }
        foreach (var s in data)
        {
            var arr = s.Samples;
            var i = UpperBound(arr, ts) - 1;
            if (s.Hist.Length > 0)
            {
                var hi = UpperBound(s.Hist, ts) - 1;
                if (hi >= 0 && (i < 0 || s.Hist[hi].T > arr[i].T))
                {
                    var hs = s.Hist[hi];
                    if (hs.T > minT) res.Add(valueIsTimestamp ? new Elem(s.Labels, hs.T / 1000.0) : new Elem(s.Labels, 0, false, hs.H));
                    continue;
                }
            }
            if (i < 0) continue;
            var smp = arr[i];
            if (smp.T <= minT || StaleNaN.Is(smp.V)) continue;
            res.Add(new Elem(s.Labels, valueIsTimestamp ? smp.T / 1000.0 : smp.V));
        }
        AddSamples(res.Count);
        return res;
    }

    /// <summary>Index of the first sample with T &gt; t.</summary>
    internal static int UpperBound(HistogramSample[] arr, long t)
    {
        int lo = 0, hi = arr.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (arr[mid].T <= t) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    internal static int UpperBound(Sample[] arr, long t)
    {
        int lo = 0, hi = arr.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (arr[mid].T <= t) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// A selector's series with stale markers removed, the time span they cover, which of them never decrease, and
    /// per-series window cursors: a range query's windows only move forward, so each step advances the previous
    /// step's bounds instead of searching again.
    /// </summary>
    private sealed class RangeData(LoadedSeries[] series, long minT, long maxT, bool[] noResets)
    {
        public readonly LoadedSeries[] Series = series;
        public readonly long MinT = minT, MaxT = maxT;
        public readonly bool[] NoResets = noResets;
        public readonly int[] Lo = new int[series.Length], Hi = new int[series.Length];
        public long LastStart = long.MaxValue, LastEnd = long.MaxValue;
    }

    private readonly Dictionary<VectorSelector, RangeData> _nonStale = new(ReferenceEqualityComparer.Instance);

    // One result list per matrix selector, reused from step to step: its consumers (range functions,
    // absent_over_time) are done with it before the selector is evaluated again.
    private readonly Dictionary<MatrixSelector, List<RangeElem>> _rangeBuffers = new(ReferenceEqualityComparer.Instance);

    private RangeData NonStaleData(VectorSelector vs)
    {
        if (_nonStale.TryGetValue(vs, out var rd)) return rd;
        var src = _data[vs];
        var d = new LoadedSeries[src.Length];
        var noResets = new bool[src.Length];
        long minT = long.MaxValue, maxT = long.MinValue;
        for (var k = 0; k < src.Length; k++)
        {
            var arr = src[k].Samples;
            var stale = 0;
            foreach (var smp in arr) if (StaleNaN.Is(smp.V)) stale++;
            if (stale == 0) d[k] = src[k];
            else
            {
                var clean = new Sample[arr.Length - stale];
                var j = 0;
                foreach (var smp in arr) if (!StaleNaN.Is(smp.V)) clean[j++] = smp;
                d[k] = new LoadedSeries(src[k].Labels, clean, src[k].Hist);
            }
            var s = d[k];
            var f = s.Samples;
            if (f.Length > 0)
            {
                minT = Math.Min(minT, f[0].T);
                maxT = Math.Max(maxT, f[^1].T);
            }
            if (s.Hist.Length > 0)
            {
                minT = Math.Min(minT, s.Hist[0].T);
                maxT = Math.Max(maxT, s.Hist[^1].T);
            }
            noResets[k] = NeverDecreases(f);
        }
        rd = new RangeData(d, minT, maxT, noResets);
        _nonStale[vs] = rd;
        return rd;
    }

    /// <summary>Samples of each series in (ts - range, ts], stale markers removed. Returns the window too.</summary>
    private (List<RangeElem> Series, long RangeStart, long RangeEnd) SelectRange(MatrixSelector ms, long t, bool reuse = false)
    {
        var vs = ms.Selector;
        var ts = AtTime(vs.At, t) - Off(vs);
        var start = ts - Rng(ms);
        var rd = NonStaleData(vs);
        List<RangeElem> res;
        if (reuse)
        {
            if (!_rangeBuffers.TryGetValue(ms, out res!)) _rangeBuffers[ms] = res = [];
            res.Clear();
        }
        else res = [];
        // Steps whose window holds no sample at all (most of a range query reaching before the data) end here.
        if (rd.MaxT <= start || rd.MinT > ts) return (res, start, ts);
        var forward = start >= rd.LastStart && ts >= rd.LastEnd;
        rd.LastStart = start;
        rd.LastEnd = ts;
        long n = 0;
        var series = rd.Series;
        for (var k = 0; k < series.Length; k++)
        {
            var s = series[k];
            var arr = s.Samples;
            int lo, hi;
            if (forward)
            {
                lo = rd.Lo[k];
                hi = rd.Hi[k];
                AdvanceWindow(arr, start, ts, ref lo, ref hi);
            }
            else
            {
                lo = UpperBound(arr, start);
                hi = UpperBound(arr, ts);
            }
            rd.Lo[k] = lo;
            rd.Hi[k] = hi;
            var hseg = default(ArraySegment<HistogramSample>);
            if (s.Hist.Length > 0)
            {
                var hlo = UpperBound(s.Hist, start);
                var hhi = UpperBound(s.Hist, ts);
                if (hhi > hlo) hseg = new ArraySegment<HistogramSample>(s.Hist, hlo, hhi - hlo);
            }
            if (hi <= lo && hseg.Count == 0) continue;
            res.Add(new RangeElem(s.Labels, new ArraySegment<Sample>(arr, lo, hi - lo), false, hseg, rd.NoResets[k]));
            n += hi - lo + hseg.Count;
        }
        AddSamples(n);
        return (res, start, ts);
    }

    /// <summary>
    /// Per-subquery state kept across the outer steps of a query. Inner steps sit on absolute multiples of the
    /// subquery step, so consecutive outer steps share most of them: each outer step evaluates only the inner
    /// steps it has not seen, appends them to per-series buffers, and drops points that left the window.
    /// </summary>
    private sealed class SubqueryState
    {
        public long NextT = long.MinValue;
        public long LastFirst = long.MinValue;
        public long LastEnd = long.MinValue;
        public readonly Dictionary<(Labels, bool), SeriesBuffer> Series = [];
        public readonly List<SeriesBuffer> Order = [];
    }

    private sealed class SeriesBuffer(Labels labels, bool dropName)
    {
        public readonly Labels Labels = labels;
        public readonly bool DropName = dropName;
        public Sample[] F = new Sample[8];
        public int FStart, FEnd;
        public HistogramSample[]? H;
        public int HStart, HEnd;

        public void Add(long t, double v, FloatHistogram? h)
        {
            if (h is null)
            {
                if (FEnd == F.Length) F = Grow(F, ref FStart, ref FEnd);
                F[FEnd++] = new Sample(t, v);
            }
            else
            {
                H ??= new HistogramSample[4];
                if (HEnd == H.Length) H = Grow(H, ref HStart, ref HEnd);
                H[HEnd++] = new HistogramSample(t, h);
            }
        }

        public void DropBefore(long first)
        {
            while (FStart < FEnd && F[FStart].T < first) FStart++;
            if (H is not null) while (HStart < HEnd && H[HStart].T < first) HStart++;
        }

        public int Count => FEnd - FStart + HEnd - HStart;

        private static T[] Grow<T>(T[] arr, ref int start, ref int end)
        {
            var live = end - start;
            // Compact when at least half the buffer is dead; otherwise double it. Slices handed out earlier
            // are never read again after this point (they belong to previous outer steps).
            var dest = live * 2 <= arr.Length ? arr : new T[arr.Length * 2];
            Array.Copy(arr, start, dest, 0, live);
            start = 0;
            end = live;
            return dest;
        }
    }

    private readonly Dictionary<SubqueryExpr, SubqueryState> _subqueries = new(ReferenceEqualityComparer.Instance);

    private (List<RangeElem> Series, long RangeStart, long RangeEnd) EvalSubquery(SubqueryExpr sq, long t)
    {
        var ts = AtTime(sq.At, t) - Off(sq);
        var step = Stp(sq);
        var rangeStart = ts - Rng(sq);
        var first = step * (rangeStart / step);
        if (first <= rangeStart) first += step;
        if (!_subqueries.TryGetValue(sq, out var st) || first < st.LastFirst || ts < st.LastEnd)
        {
            // First use, or time went backwards (a subquery nested in another one): start over.
            st = new SubqueryState();
            _subqueries[sq] = st;
        }
        st.LastFirst = first;
        st.LastEnd = ts;
        if (st.NextT < first) st.NextT = first;
        var saved = _samplesInStep;
        for (var it = st.NextT; it <= ts; it += step)
        {
            CheckCancel();
            var v = Eval(sq.Inner, it);
            if (v.Kind == ValueKind.Scalar) Append(st, Labels.Empty, false, it, v.Scalar, null);
            else foreach (var el in v.Vec!) Append(st, el.Labels, el.DropName, it, el.V, el.H);
            st.NextT = it + step;
        }
        _samplesInStep = saved;
        var res = new List<RangeElem>(st.Order.Count);
        long n = 0;
        var emptied = false;
        foreach (var buf in st.Order)
        {
            buf.DropBefore(first);
            var count = buf.Count;
            if (count == 0) { emptied = true; continue; }
            n += count;
            res.Add(new RangeElem(buf.Labels, new ArraySegment<Sample>(buf.F, buf.FStart, buf.FEnd - buf.FStart), buf.DropName,
                buf.H is null || buf.HEnd == buf.HStart ? default : new ArraySegment<HistogramSample>(buf.H, buf.HStart, buf.HEnd - buf.HStart)));
        }
        if (emptied)
        {
            st.Order.RemoveAll(static b => b.Count == 0);
            List<(Labels, bool)>? dead = null;
            foreach (var (key, buf) in st.Series) if (buf.Count == 0) (dead ??= []).Add(key);
            if (dead is not null) foreach (var key in dead) st.Series.Remove(key);
        }
        AddSamples(n);
        return (res, rangeStart, ts);
    }

    private static void Append(SubqueryState st, Labels labels, bool dropName, long t, double v, FloatHistogram? h)
    {
        if (!st.Series.TryGetValue((labels, dropName), out var buf))
        {
            buf = new SeriesBuffer(labels, dropName);
            st.Series[(labels, dropName)] = buf;
            st.Order.Add(buf);
        }
        buf.Add(t, v, h);
    }

    /// <summary>Evaluates a range-vector argument (selector or subquery, maybe in parentheses) with its window.</summary>
    private (List<RangeElem> Series, long RangeStart, long RangeEnd) EvalRangeArg(Expr e, long t)
    {
        while (e is ParenExpr p) e = p.Inner;
        return e switch
        {
            MatrixSelector ms => SelectRange(ms, t, reuse: true),
            SubqueryExpr sq => EvalSubquery(sq, t),
            _ => throw new QueryException("expected a range vector"),
        };
    }
}
