using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tests;

/// <summary>A minimal in-memory series store for tests: every committed sample, in order.</summary>
public sealed class CollectingSeriesStore : ISeriesStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Labels, List<Sample>> _series = [];

    public int Commits { get; private set; }

    /// <summary>Appends that came with a series handle this store issued earlier (see <see cref="SeriesRef"/>).</summary>
    public int RefHits { get; private set; }

    public ISeriesAppender Appender() => new App(this);

    public IReadOnlyList<Sample> Samples(Labels l)
    {
        lock (_lock) return _series.TryGetValue(l, out var s) ? [.. s] : [];
    }

    public IReadOnlyList<Labels> AllSeries()
    {
        lock (_lock) return [.. _series.Keys];
    }

    public Sample? Last(Labels l)
    {
        var s = Samples(l);
        return s.Count == 0 ? null : s[^1];
    }

    public Labels? Find(string name, params string[] nameValues)
    {
        lock (_lock)
        {
            foreach (var k in _series.Keys)
            {
                if (k.Name != name) continue;
                var ok = true;
                for (var i = 0; i < nameValues.Length; i += 2)
                    if (k.Get(nameValues[i]) != nameValues[i + 1]) ok = false;
                if (ok) return k;
            }
        }
        return null;
    }

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
    {
        lock (_lock)
        {
            return [.. _series.Where(kv => matchers.All(m => m.Matches(kv.Key.GetOrEmpty(m.Name))))
                .Select(kv => new SeriesSamples(kv.Key, [.. kv.Value.Where(s => s.T >= minT && s.T <= maxT)]))];
        }
    }

    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) =>
        [.. Select(minT, maxT, matchers).SelectMany(s => s.Labels.Select(l => l.Name)).Distinct().Order(StringComparer.Ordinal)];

    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) =>
        [.. Select(minT, maxT, matchers).Select(s => s.Labels.Get(name)).OfType<string>().Distinct().Order(StringComparer.Ordinal)];

    private sealed class App(CollectingSeriesStore store) : ISeriesAppender
    {
        private readonly List<(Labels, Sample)> _pending = [];

        public AppendResult Append(Labels labels, long t, double v)
        {
            _pending.Add((labels, new Sample(t, v)));
            return AppendResult.Ok;
        }

        // Issues handles like a real store; a handle must come back with the labels it was issued for.
        public AppendResult Append(ref SeriesRef series, Labels labels, long t, double v)
        {
            if (ReferenceEquals(series.Owner, store) && series.Handle is Labels issued)
            {
                if (!issued.Equals(labels)) throw new InvalidOperationException($"handle for {issued} used with {labels}");
                lock (store._lock) store.RefHits++;
            }
            else
            {
                series = new SeriesRef(store, labels);
            }
            return Append(labels, t, v);
        }

        public void Commit()
        {
            lock (store._lock)
            {
                foreach (var (l, s) in _pending)
                {
                    if (!store._series.TryGetValue(l, out var list)) store._series[l] = list = [];
                    list.Add(s);
                }
                store.Commits++;
            }
            _pending.Clear();
        }

        public void Rollback() => _pending.Clear();
    }
}

/// <summary>An HTTP handler answering from a function, recording requests.</summary>
public sealed class StubHttpHandler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
{
    public List<HttpRequestMessage> Requests { get; } = [];
    public List<byte[]> Bodies { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        lock (Requests) Requests.Add(request);
        if (request.Content is not null)
        {
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            lock (Requests) Bodies.Add(body);
        }
        return respond(request);
    }

    public static HttpResponseMessage Text(string body, string contentType = "text/plain; version=0.0.4") =>
        new(System.Net.HttpStatusCode.OK) { Content = new StringContent(body, System.Text.Encoding.UTF8, System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType)) };
}
