using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Rules;

/// <summary>
/// A small in-memory series store (samples kept in time order per series) for rule unit tests (<c>wk rules test</c>)
/// and library tests. Not for production volumes: a select scans every series.
/// </summary>
public sealed class MemoryStore : ISeriesStore
{
    private readonly Dictionary<Labels, List<Sample>> _series = [];
    private readonly Lock _lock = new();

    public int SeriesCount
    {
        get
        {
            lock (_lock) return _series.Count;
        }
    }

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        var result = new List<SeriesSamples>();
        lock (_lock)
        {
            foreach (var (l, samples) in _series)
            {
                if (!Matches(l, matchers)) continue;
                var inRange = samples.Where(s => s.T >= minT && s.T <= maxT).ToArray();
                if (inRange.Length > 0) result.Add(new SeriesSamples(l, inRange));
            }
        }
        result.Sort((a, b) => a.Labels.CompareTo(b.Labels));
        return result;
    }

    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) =>
        [.. Select(minT, maxT, matchers).SelectMany(s => s.Labels.Select(l => l.Name)).Distinct().Order(StringComparer.Ordinal)];

    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) =>
        [.. Select(minT, maxT, matchers).Select(s => s.Labels.Get(name)).OfType<string>().Distinct().Order(StringComparer.Ordinal)];

    public ISeriesAppender Appender() => new MemoryAppender(this);

    private static bool Matches(Labels l, IReadOnlyList<LabelMatcher> matchers)
    {
        foreach (var m in matchers)
            if (!m.Matches(l.GetOrEmpty(m.Name))) return false;
        return true;
    }

    private sealed class MemoryAppender(MemoryStore store) : ISeriesAppender
    {
        private readonly List<(Labels L, Sample S)> _batch = [];

        public AppendResult Append(Labels labels, long t, double v)
        {
            _batch.Add((labels, new Sample(t, v)));
            return AppendResult.Ok;
        }

        public void Commit()
        {
            lock (store._lock)
            {
                foreach (var (l, s) in _batch)
                {
                    if (!store._series.TryGetValue(l, out var list)) store._series[l] = list = [];
                    if (list.Count > 0 && list[^1].T >= s.T)
                    {
                        // Same timestamp: the later write wins; older: insert in order.
                        var i = list.FindIndex(x => x.T >= s.T);
                        if (list[i].T == s.T) list[i] = s;
                        else list.Insert(i, s);
                    }
                    else list.Add(s);
                }
            }
            _batch.Clear();
        }

        public void Rollback() => _batch.Clear();
    }
}
