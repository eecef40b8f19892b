using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Evaluation state of one query and its entry points; loading is in Evaluator.Load.cs, selectors and subqueries in Evaluator.Select.cs.</summary>
internal sealed partial class Evaluator
{
    private readonly ISeriesQuerier _querier;
    private readonly EngineOptions _opts;
    private readonly long _start, _end, _interval;
    private readonly long _lookback;
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

    /// <param name="ct">Cancelled by the caller or by the query's timeout (see <see cref="QueryDeadline"/>).</param>
    /// <param name="callerCt">The caller's own token, to tell a cancellation from a timeout.</param>
    /// <param name="sharedGroups">Bucket groupings kept between instant queries of the same parsed expression (Engine).</param>
    public Evaluator(ISeriesQuerier querier, EngineOptions opts, long start, long end, long interval, CancellationToken ct, CancellationToken callerCt,
        System.Runtime.CompilerServices.ConditionalWeakTable<Expr, object>? sharedGroups = null)
    {
        _sharedGroups = interval == 0 ? sharedGroups : null;
        _querier = querier;
        _opts = opts;
        _start = start;
        _end = end;
        _interval = interval;
        _lookback = (long)opts.LookbackDelta.TotalMilliseconds;
        _callerCt = callerCt;
        _ct = ct;
    }

    /// <summary>Time arithmetic that saturates at the ends of the int64 range instead of wrapping around.</summary>
    internal static long TAdd(long a, long b)
    {
        var r = unchecked(a + b);
        return ((a ^ r) & (b ^ r)) < 0 ? (a < 0 ? long.MinValue : long.MaxValue) : r;
    }

    /// <inheritdoc cref="TAdd"/>
    internal static long TSub(long a, long b)
    {
        var r = unchecked(a - b);
        return ((a ^ b) & (a ^ r)) < 0 ? (a < 0 ? long.MinValue : long.MaxValue) : r;
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
            return RunInstantCore(expr);
        }
        finally
        {
            ReturnSharedGroups();
        }
    }

    private QueryResult RunInstantCore(Expr expr)
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
            // By step index, not t += interval: near the end of time the sum would wrap around and never pass _end.
            var steps = StepCount;
            for (var k = 0; k < steps; k++)
            {
                var t = _start + k * _interval;
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
}
