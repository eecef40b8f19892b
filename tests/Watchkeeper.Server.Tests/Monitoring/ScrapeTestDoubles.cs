using System.Net;
using System.Text;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Server.Tests;

/// <summary>A store for scrape tests: the last committed value of every series.</summary>
public sealed class LastValueStore : ISeriesStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Labels, double> _last = [];

    public ISeriesAppender Appender() => new App(this);

    /// <summary>The last value of the series named <paramref name="name"/> with the given label pairs, or null.</summary>
    public double? Last(string name, params string[] nameValues)
    {
        lock (_lock)
        {
            foreach (var (k, v) in _last)
            {
                if (k.Name != name) continue;
                var ok = true;
                for (var i = 0; i < nameValues.Length; i += 2) ok &= k.Get(nameValues[i]) == nameValues[i + 1];
                if (ok) return v;
            }
        }
        return null;
    }

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => [];
    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => [];
    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => [];

    private sealed class App(LastValueStore store) : ISeriesAppender
    {
        private readonly List<(Labels, double)> _pending = [];

        public AppendResult Append(Labels labels, long t, double v)
        {
            _pending.Add((labels, v));
            return AppendResult.Ok;
        }

        public void Commit()
        {
            lock (store._lock)
            {
                foreach (var (l, v) in _pending) store._last[l] = v;
            }
            _pending.Clear();
        }

        public void Rollback() => _pending.Clear();
    }
}

/// <summary>Answers every request with the text a function renders for its path, or 503 when it renders null.</summary>
public sealed class RenderingHandler(Func<string, string?> render) : HttpMessageHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var text = render(request.RequestUri!.AbsolutePath);
        if (text is null) return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request });
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain");
        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request, Content = content });
    }
}
