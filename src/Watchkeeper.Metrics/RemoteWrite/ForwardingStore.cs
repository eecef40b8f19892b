using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.RemoteWrite;

/// <summary>
/// The store scrapes and the remote write receiver write into: the TSDB, with every committed sample also queued to
/// each <c>remote_write</c> endpoint of the current configuration. <see cref="ApplyAsync"/> replaces the senders when a
/// reload changes <c>remote_write</c>; with none configured, appends go straight to the inner store.
/// </summary>
public sealed class ForwardingStore(ISeriesStore inner) : ISeriesStore
{
    private readonly RemoteWriteStore _tee = new(inner, []);
    private volatile RemoteWriteSender[] _senders = [];

    public IReadOnlyList<RemoteWriteSender> Senders => _senders;

    public ISeriesAppender Appender() => _senders.Length == 0 ? inner.Appender() : _tee.Appender();

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.Select(minT, maxT, matchers);
    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelNames(minT, maxT, matchers);
    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelValues(name, minT, maxT, matchers);

    /// <summary>Starts senders for the configuration and stops the previous ones (draining them briefly).</summary>
    public async Task ApplyAsync(MetricsConfig config, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        var next = new RemoteWriteSender[config.RemoteWrite.Count];
        for (var i = 0; i < next.Length; i++) next[i] = new RemoteWriteSender(config.RemoteWrite[i], time, externalLabels: config.Global.ExternalLabels);
        // Swap before stopping the old senders, so no commit in between is lost.
        _tee.SetSenders(next);
        var old = _senders;
        _senders = next;
        foreach (var s in old) await s.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        var old = _senders;
        _senders = [];
        _tee.SetSenders([]);
        foreach (var s in old) await s.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
