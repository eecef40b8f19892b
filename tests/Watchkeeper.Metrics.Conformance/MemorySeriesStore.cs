using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Conformance;

/// <summary>A simple in-memory <see cref="ISeriesStore"/> for tests: series in a dictionary, samples sorted by time.</summary>
public sealed class MemorySeriesStore : ISeriesStore, IHistogramQuerier, IStreamingSeriesQuerier
{
    private readonly Dictionary<Labels, List<Sample>> _series = [];
    private readonly Dictionary<Labels, List<HistogramSample>> _hist = [];
    private readonly Lock _lock = new();

    public void Clear()
    {
        lock (_lock)
        {
            _series.Clear();
            _hist.Clear();
        }
    }

    /// <summary>Adds (or replaces at the same timestamp) one sample.</summary>
    public void Add(Labels labels, long t, double v)
    {
        lock (_lock)
        {
            if (!_series.TryGetValue(labels, out var list)) _series[labels] = list = [];
            if (list.Count == 0 || list[^1].T < t) { list.Add(new Sample(t, v)); return; }
            var i = list.FindIndex(s => s.T >= t);
            if (list[i].T == t) list[i] = new Sample(t, v);
            else list.Insert(i, new Sample(t, v));
        }
    }

    /// <summary>Adds (or replaces at the same timestamp) one native histogram sample.</summary>
    public void AddHistogram(Labels labels, long t, FloatHistogram h)
    {
        lock (_lock)
        {
            if (!_hist.TryGetValue(labels, out var list)) _hist[labels] = list = [];
            var i = list.FindIndex(s => s.T >= t);
            if (i < 0) list.Add(new HistogramSample(t, h));
            else if (list[i].T == t) list[i] = new HistogramSample(t, h);
            else list.Insert(i, new HistogramSample(t, h));
        }
    }

    public IEnumerable<HistogramSeriesSamples> SelectHistograms(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var res = new List<HistogramSeriesSamples>();
        lock (_lock)
        {
            foreach (var (labels, samples) in _hist)
            {
                if (!Matches(labels, matchers)) continue;
                var sel = samples.FindAll(s => s.T >= minT && s.T <= maxT);
                if (sel.Count > 0) res.Add(new HistogramSeriesSamples(labels, sel));
            }
        }
        res.Sort((a, b) => a.Labels.CompareTo(b.Labels));
        return res;
    }

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var res = new List<SeriesSamples>();
        lock (_lock)
        {
            foreach (var (labels, samples) in _series)
            {
                if (!Matches(labels, matchers)) continue;
                var lo = LowerBound(samples, minT);
                var hi = LowerBound(samples, maxT + 1);
                if (hi <= lo) continue;
                res.Add(new SeriesSamples(labels, samples.GetRange(lo, hi - lo).ToArray()));
            }
        }
        res.Sort((a, b) => a.Labels.CompareTo(b.Labels));
        return res;
    }

    public void SelectEach(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers, SeriesVisitor visit)
    {
        foreach (var s in Select(minT, maxT, matchers)) visit(s.Labels, ((Sample[])s.Samples).AsSpan());
    }

    private static int LowerBound(List<Sample> s, long t)
    {
        int lo = 0, hi = s.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (s[mid].T < t) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static bool Matches(Labels l, IReadOnlyList<LabelMatcher> matchers)
    {
        foreach (var m in matchers)
            if (!m.Matches(l.GetOrEmpty(m.Name))) return false;
        return true;
    }

    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in Select(minT, maxT, matchers)) foreach (var l in s.Labels) set.Add(l.Name);
        return [.. set];
    }

    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in Select(minT, maxT, matchers)) if (s.Labels.Get(name) is { } v) set.Add(v);
        return [.. set];
    }

    public ISeriesAppender Appender() => new MemoryAppender(this);

    private sealed class MemoryAppender(MemorySeriesStore store) : ISeriesAppender
    {
        private readonly List<(Labels, long, double)> _pending = [];

        public AppendResult Append(Labels labels, long t, double v)
        {
            _pending.Add((labels, t, v));
            return AppendResult.Ok;
        }

        public void Commit()
        {
            foreach (var (l, t, v) in _pending) store.Add(l, t, v);
            _pending.Clear();
        }

        public void Rollback() => _pending.Clear();
    }
}
