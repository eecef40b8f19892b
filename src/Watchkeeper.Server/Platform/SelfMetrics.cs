using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Watchkeeper's own metrics in Prometheus text format. Counters and histograms are kept in
/// memory; collectors run at scrape time for values read from the database.
/// </summary>
public sealed class SelfMetrics
{
    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly List<Func<MetricsWriter, CancellationToken, Task>> _collectors = [];

    public CounterFamily Counter(string name, string help, params string[] labelNames) =>
        (CounterFamily)_families.GetOrAdd(name, _ => new CounterFamily(name, help, labelNames));

    public HistogramFamily Histogram(string name, string help, double[] buckets, params string[] labelNames) =>
        (HistogramFamily)_families.GetOrAdd(name, _ => new HistogramFamily(name, help, buckets, labelNames));

    public void AddCollector(Func<MetricsWriter, CancellationToken, Task> collector)
    {
        lock (_collectors) _collectors.Add(collector);
    }

    public async Task<string> RenderAsync(CancellationToken ct)
    {
        var w = new MetricsWriter();
        foreach (var f in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal)) f.Write(w);
        Func<MetricsWriter, CancellationToken, Task>[] collectors;
        lock (_collectors) collectors = [.. _collectors];
        foreach (var c in collectors) await c(w, ct);
        return w.ToString();
    }

    public abstract class Family(string name, string help, string type, string[] labelNames)
    {
        public string Name { get; } = name;
        public string Help { get; } = help;
        public string Type { get; } = type;
        public string[] LabelNames { get; } = labelNames;
        public abstract void Write(MetricsWriter w);

        /// <summary>Checks the count of label values; the array itself is the lookup key (no joined string per call).</summary>
        protected string[] Key(string[] values)
        {
            if (values.Length != LabelNames.Length) throw new ArgumentException($"{Name} expects {LabelNames.Length} label values");
            return values;
        }

        /// <summary>The cell for <paramref name="values"/>, created with <paramref name="size"/> slots; a new cell keeps a copy of the values.</summary>
        protected double[] CellOf(ConcurrentDictionary<string[], (string[] Values, double[] Cell)> cells, string[] values, int size)
        {
            if (cells.TryGetValue(Key(values), out var found)) return found.Cell;
            string[] copy = [.. values];
            return cells.GetOrAdd(copy, (copy, new double[size])).Cell;
        }
    }

    /// <summary>Label values compared element by element (ordinal), so a lookup on the request path allocates nothing.</summary>
    internal sealed class ValuesComparer : IEqualityComparer<string[]>
    {
        public static readonly ValuesComparer Instance = new();

        public bool Equals(string[]? x, string[]? y)
        {
            if (ReferenceEquals(x, y)) return true;
            if (x is null || y is null || x.Length != y.Length) return false;
            for (var i = 0; i < x.Length; i++)
                if (!string.Equals(x[i], y[i], StringComparison.Ordinal)) return false;
            return true;
        }

        public int GetHashCode(string[] obj)
        {
            var h = new HashCode();
            foreach (var v in obj) h.Add(v, StringComparer.Ordinal);
            return h.ToHashCode();
        }
    }

    /// <summary>"100".."599" without formatting a number per request.</summary>
    public static string StatusCode(int code) => code is >= 100 and < 600 ? StatusCodes[code - 100] : code.ToString(CultureInfo.InvariantCulture);

    private static readonly string[] StatusCodes = [.. Enumerable.Range(100, 500).Select(c => c.ToString(CultureInfo.InvariantCulture))];

    public sealed class CounterFamily(string name, string help, string[] labelNames) : Family(name, help, "counter", labelNames)
    {
        private readonly ConcurrentDictionary<string[], (string[] Values, double[] Cell)> _cells = new(ValuesComparer.Instance);

        public void Inc(params string[] labelValues) => Add(1, labelValues);

        public void Add(double v, params string[] labelValues)
        {
            var cell = CellOf(_cells, labelValues, 1);
            lock (cell) cell[0] += v;
        }

        public double Get(params string[] labelValues) => _cells.TryGetValue(Key(labelValues), out var c) ? c.Cell[0] : 0;

        public override void Write(MetricsWriter w)
        {
            w.Header(Name, Help, Type);
            foreach (var (values, cell) in _cells.Values) w.Sample(Name, LabelNames, values, cell[0]);
        }
    }

    public sealed class HistogramFamily(string name, string help, double[] buckets, string[] labelNames) : Family(name, help, "histogram", labelNames)
    {
        private readonly ConcurrentDictionary<string[], (string[] Values, double[] Cell)> _cells = new(ValuesComparer.Instance);
        public double[] Buckets { get; } = buckets;

        public void Observe(double v, params string[] labelValues)
        {
            // Cell layout: bucket counts..., +Inf count, sum.
            var cell = CellOf(_cells, labelValues, Buckets.Length + 2);
            lock (cell)
            {
                for (var i = 0; i < Buckets.Length; i++) if (v <= Buckets[i]) cell[i]++;
                cell[Buckets.Length]++;
                cell[Buckets.Length + 1] += v;
            }
        }

        public override void Write(MetricsWriter w)
        {
            w.Header(Name, Help, Type);
            foreach (var (values, cell) in _cells.Values)
            {
                double[] snap;
                lock (cell) snap = [.. cell];
                w.Histogram(Name, LabelNames, values, Buckets, snap.AsSpan(0, Buckets.Length).ToArray(), snap[Buckets.Length], snap[Buckets.Length + 1]);
            }
        }
    }
}

/// <summary>Writes Prometheus text exposition format 0.0.4.</summary>
public sealed class MetricsWriter
{
    private readonly StringBuilder _sb = new();

    public void Header(string name, string help, string type)
    {
        _sb.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        _sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    public void Sample(string name, string[] labelNames, string[] labelValues, double value)
    {
        _sb.Append(name);
        Labels(labelNames, labelValues, null, null);
        _sb.Append(' ').Append(Format(value)).Append('\n');
    }

    public void Histogram(string name, string[] labelNames, string[] labelValues, double[] bounds, double[] cumulativeCounts, double count, double sum)
    {
        for (var i = 0; i < bounds.Length; i++)
        {
            _sb.Append(name).Append("_bucket");
            Labels(labelNames, labelValues, "le", Format(bounds[i]));
            _sb.Append(' ').Append(Format(cumulativeCounts[i])).Append('\n');
        }
        _sb.Append(name).Append("_bucket");
        Labels(labelNames, labelValues, "le", "+Inf");
        _sb.Append(' ').Append(Format(count)).Append('\n');
        _sb.Append(name).Append("_sum");
        Labels(labelNames, labelValues, null, null);
        _sb.Append(' ').Append(Format(sum)).Append('\n');
        _sb.Append(name).Append("_count");
        Labels(labelNames, labelValues, null, null);
        _sb.Append(' ').Append(Format(count)).Append('\n');
    }

    private void Labels(string[] names, string[] values, string? extraName, string? extraValue)
    {
        if (names.Length == 0 && extraName is null) return;
        _sb.Append('{');
        for (var i = 0; i < names.Length; i++)
        {
            if (i > 0) _sb.Append(',');
            _sb.Append(names[i]).Append("=\"").Append(Escape(values[i])).Append('"');
        }
        if (extraName is not null)
        {
            if (names.Length > 0) _sb.Append(',');
            _sb.Append(extraName).Append("=\"").Append(extraValue).Append('"');
        }
        _sb.Append('}');
    }

    private static string Escape(string v) => v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public static string Format(double v) => double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    public override string ToString() => _sb.ToString();
}
