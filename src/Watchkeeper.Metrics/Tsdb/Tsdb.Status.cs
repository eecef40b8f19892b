namespace Watchkeeper.Metrics.Tsdb;

/// <summary>One row of a cardinality table: a name (metric, label name or <c>name=value</c> pair) and its count.</summary>
public readonly record struct CardinalityEntry(string Name, long Value);

/// <summary>
/// What Prometheus's TSDB status shows about the head: sizes and the top entries by series count, so an operator
/// can find the metric or label that blew up the cardinality.
/// </summary>
public sealed record HeadCardinality(
    long NumSeries, long NumLabelPairs, long ChunkCount, long MinTime, long MaxTime,
    IReadOnlyList<CardinalityEntry> SeriesCountByMetricName,
    IReadOnlyList<CardinalityEntry> LabelValueCountByLabelName,
    IReadOnlyList<CardinalityEntry> MemoryInBytesByLabelName,
    IReadOnlyList<CardinalityEntry> SeriesCountByLabelValuePair);

public sealed partial class Tsdb
{
    /// <summary>Maximum entries per cardinality table (Prometheus caps its <c>limit</c> parameter the same way).</summary>
    public const int MaxCardinalityLimit = 10_000;

    /// <summary>
    /// Head statistics with the <paramref name="limit"/> largest entries of each table, ordered by count descending
    /// and then by name. Cost: one pass over the head's index under its lock (label pairs, not series).
    /// </summary>
    public HeadCardinality HeadStatus(int limit = 10)
    {
        if (limit is < 1 or > MaxCardinalityLimit) throw new ArgumentOutOfRangeException(nameof(limit), limit, $"limit must be between 1 and {MaxCardinalityLimit}");
        var byMetric = new List<CardinalityEntry>();
        var valueCounts = new List<CardinalityEntry>();
        var memory = new List<CardinalityEntry>();
        var pairs = new TopN(limit);
        long numPairs = 0, series;
        lock (_indexLock)
        {
            series = _index.SeriesCount;
            foreach (var (name, values) in _index.ByName)
            {
                long bytes = 0;
                foreach (var (value, list) in values)
                {
                    numPairs++;
                    // Bytes of the value strings as the series hold them (UTF-8), as Prometheus counts them.
                    bytes += (long)System.Text.Encoding.UTF8.GetByteCount(value) * list.Count;
                    pairs.Add(name, value, list.Count);
                    if (name == Model.Labels.MetricName) byMetric.Add(new(value, list.Count));
                }
                valueCounts.Add(new(name, values.Count));
                memory.Add(new(name, bytes));
            }
        }
        var (minT, maxT) = (Volatile.Read(ref Stats._headMinT), Volatile.Read(ref Stats._headMaxT));
        return new HeadCardinality(series, numPairs, Stats.HeadChunks,
            minT is long.MaxValue or long.MinValue ? 0 : minT, maxT is long.MinValue or long.MaxValue ? 0 : maxT,
            Top(byMetric, limit), Top(valueCounts, limit), Top(memory, limit), pairs.Result());
    }

    private static List<CardinalityEntry> Top(List<CardinalityEntry> all, int limit)
    {
        all.Sort(static (a, b) => b.Value != a.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Name, b.Name));
        return all.Count > limit ? all.GetRange(0, limit) : all;
    }

    /// <summary>Keeps the largest <c>n</c> entries seen without holding every label pair (there can be millions).</summary>
    private sealed class TopN(int n)
    {
        private readonly PriorityQueue<CardinalityEntry, CardinalityEntry> _heap = new(Comparer<CardinalityEntry>.Create(static (a, b) =>
            a.Value != b.Value ? a.Value.CompareTo(b.Value) : string.CompareOrdinal(b.Name, a.Name)));

        public void Add(string label, string labelValue, long value)
        {
            if (_heap.Count < n)
            {
                var first = new CardinalityEntry(label + "=" + labelValue, value);
                _heap.Enqueue(first, first);
                return;
            }
            var min = _heap.Peek();
            if (value < min.Value) return; // the common case: no string built
            var e = new CardinalityEntry(label + "=" + labelValue, value);
            if (value > min.Value || string.CompareOrdinal(e.Name, min.Name) < 0) _heap.EnqueueDequeue(e, e);
        }

        public List<CardinalityEntry> Result()
        {
            var list = new List<CardinalityEntry>(_heap.Count);
            while (_heap.TryDequeue(out var e, out _)) list.Add(e);
            return Top(list, n);
        }
    }
}
