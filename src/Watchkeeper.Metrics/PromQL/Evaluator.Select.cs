using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.PromQL;

/// <summary>Selectors and subqueries at one step: instant and range selection over the loaded series, incremental subqueries.</summary>
internal sealed partial class Evaluator
{
    /// <summary>Latest non-stale sample of each series in the lookback window (ts - lookback, ts].</summary>
    private List<Elem> SelectInstant(VectorSelector vs, long t, bool valueIsTimestamp)
    {
        var ts = TSub(AtTime(vs.At, t), Off(vs));
        var data = _data[vs];
        var res = new List<Elem>(data.Length);
        var minT = TSub(ts, _lookback);
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
        var ts = TSub(AtTime(vs.At, t), Off(vs));
        var start = TSub(ts, Rng(ms));
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
        var ts = TSub(AtTime(sq.At, t), Off(sq));
        var step = Stp(sq);
        var rangeStart = TSub(ts, Rng(sq));
        var first = step * (rangeStart / step);
        if (first <= rangeStart) first = TAdd(first, step);
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
        for (var it = st.NextT; it <= ts;)
        {
            CheckCancel();
            var v = Eval(sq.Inner, it);
            if (v.Kind == ValueKind.Scalar) Append(st, Labels.Empty, false, it, v.Scalar, null);
            else foreach (var el in v.Vec!) Append(st, el.Labels, el.DropName, it, el.V, el.H);
            // Saturates at the end of time instead of wrapping around into an endless loop.
            st.NextT = TAdd(it, step);
            if (st.NextT == it) break;
            it = st.NextT;
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
