using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Watchkeeper.Metrics.Exposition;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;

namespace Watchkeeper.Metrics.Scrape;

/// <summary>A scrape that failed for a reason other than transport: sample limit, bad status, body too large.</summary>
public sealed class ScrapeException : Exception
{
    public ScrapeException() { }
    public ScrapeException(string message) : base(message) { }
    public ScrapeException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Scrapes one target on its interval: fetch, parse, label, relabel, append, staleness, synthetic series.
/// <see cref="ScrapeAsync"/> runs one scrape now and is what tests drive; <see cref="RunAsync"/> is the timed loop.
/// </summary>
public sealed class ScrapeLoop
{
    public const string UserAgent = "Watchkeeper/1.0";

    private readonly ScrapeTarget _target;
    private readonly ScrapeConfig _cfg;
    private readonly HttpClient _client;
    private readonly ISeriesStore _store;
    private readonly TimeProvider _time;
    private readonly Action<TargetState>? _onScrape;
    private readonly ExpositionParser _parser = new();
    private readonly ParseResult _result = new();
    private readonly LabelsBuilder _builder = new();
    private readonly Labels _upLabels, _durationLabels, _scrapedLabels, _postRelabelLabels, _addedLabels;
    // Scraped label set -> the state of its final series after target labels and metric relabelling (null: dropped),
    // for samples whose series the parser did not cache (usually none: see _epoch). Cleared with _states.
    private readonly Dictionary<Labels, SeriesState?> _cache = [];
    // Final label set -> its state, so scraped label sets that relabel to the same series share one state. Holds at
    // least every series of the last scrape (the staleness check depends on it).
    private Dictionary<Labels, SeriesState> _states = [];
    // Series appended (without an explicit timestamp) by the last successful scrape, and by this one so far.
    private List<SeriesState> _prev = [];
    private List<SeriesState> _cur = [];
    private static long s_scrapeIds;
    private long _scrapeId;
    // The parser's series slots remember their state (SeriesSlot.State) so most samples need no lookup at all. A memo
    // is good while its state's Epoch is current; the epoch moves on when the maps above are rebuilt. Series dropped by
    // relabelling are remembered as this epoch's _dropped.
    private int _epoch;
    private SeriesState _dropped = new(Labels.Empty);
    private byte[] _buf = new byte[16 * 1024];
    private TargetState _state;
    private IReadOnlyList<MetricMetadata> _metadata = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    public ScrapeLoop(ScrapeTarget target, ScrapeConfig cfg, HttpClient client, ISeriesStore store, TimeProvider time,
        Action<TargetState>? onScrape = null)
    {
        _target = target;
        _cfg = cfg;
        _client = client;
        _store = store;
        _time = time;
        _onScrape = onScrape;
        _state = new TargetState { Target = target };
        _upLabels = target.Labels.With(Labels.MetricName, "up");
        _durationLabels = target.Labels.With(Labels.MetricName, "scrape_duration_seconds");
        _scrapedLabels = target.Labels.With(Labels.MetricName, "scrape_samples_scraped");
        _postRelabelLabels = target.Labels.With(Labels.MetricName, "scrape_samples_post_metric_relabeling");
        _addedLabels = target.Labels.With(Labels.MetricName, "scrape_series_added");
    }

    public ScrapeTarget Target => _target;
    public TargetState State => Volatile.Read(ref _state);

    /// <summary>TYPE/HELP/UNIT from the last successful scrape.</summary>
    public IReadOnlyList<MetricMetadata> Metadata => Volatile.Read(ref _metadata);

    /// <summary>
    /// One final series of this target: its labels, the store's handle for it, and in which scrapes it was appended.
    /// Staleness, duplicates and <c>scrape_series_added</c> are decided on these fields instead of per-scrape sets.
    /// </summary>
    private sealed class SeriesState(Labels labels)
    {
        public readonly Labels Labels = labels;
        public SeriesRef Ref;
        public int Epoch;
        // Id of the last scrape that appended it (scrape ids are unique across loops, so inherited states stay right).
        public long LastScrape;
        // In the series set of the last successful scrape (_prev).
        public bool InPrev;
    }

    /// <summary>Takes over the series and state of the loop this one replaces (config reload), so no staleness gap appears.</summary>
    internal void InheritFrom(ScrapeLoop old)
    {
        // The states of the old loop's last scrape carry over (the store's handles included): a series the new
        // configuration still produces is matched to its state by final labels, the others go stale.
        _prev = old._prev;
        old._prev = [];
        _states = [];
        IndexPrevious();
        old._states = [];
        _state = old.State with { Target = _target };
        _metadata = old.Metadata;
    }

    /// <summary>Runs scrapes at this target's slot in each interval until cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var iv = _target.Interval.Ticks;
        var off = _target.Offset(_target.Interval).Ticks;
        var now = _time.GetUtcNow().UtcTicks;
        var next = now - (now % iv) + off;
        if (next < now) next += iv;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var delay = next - _time.GetUtcNow().UtcTicks;
                if (delay > 0) await Task.Delay(TimeSpan.FromTicks(delay), _time, ct).ConfigureAwait(false);
                await ScrapeAsync(ct).ConfigureAwait(false);
                next += iv;
                var after = _time.GetUtcNow().UtcTicks;
                if (next <= after) next += ((after - next) / iv + 1) * iv; // skip slots missed by a slow scrape
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Scrapes once, now. Never throws except on cancellation of <paramref name="ct"/>. Calls are serialized.</summary>
    public async Task<TargetState> ScrapeAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await ScrapeCoreAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<TargetState> ScrapeCoreAsync(CancellationToken ct)
    {
        var start = _time.GetUtcNow();
        var tMs = start.ToUnixTimeMilliseconds();
        var t0 = _time.GetTimestamp();
        string? error = null;
        var counts = new Counts();
        ISeriesAppender? app = null;
        try
        {
            var (len, contentType) = await FetchAsync(ct).ConfigureAwait(false);
            _parser.Parse(_buf.AsSpan(0, len), ExpositionContentTypes.FromContentType(contentType), _result);
            counts.Scraped = _result.Samples.Count;
            app = _store.Appender();
            AppendSamples(app, tMs, ref counts);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            app?.Rollback();
            // Series this scrape touched keep its (never reused) id as LastScrape, which no later scrape compares to.
            _cur.Clear();
            throw;
        }
        catch (OperationCanceledException)
        {
            error = $"scrape timed out after {PromDuration.Format(_target.Timeout)}";
        }
        catch (HttpRequestException e)
        {
            error = e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message;
        }
        catch (Exception e)
        {
            error = e.Message;
        }
        var duration = _time.GetElapsedTime(t0);

        if (error is not null)
        {
            app?.Rollback();
            app = _store.Appender();
            // A failed scrape makes every series of the previous one stale.
            AllPreviousStale(app, tMs);
            _cur.Clear();
        }
        else
        {
            // Series of the previous scrape that this one did not append go stale.
            foreach (var st in _prev)
            {
                if (st.LastScrape != _scrapeId) app!.Append(ref st.Ref, st.Labels, tMs, StaleNaN.Value);
                st.InPrev = false;
            }
            foreach (var st in _cur) st.InPrev = true;
            (_prev, _cur) = (_cur, _prev);
            _cur.Clear();
            if (_states.Count + _cache.Count > 2 * counts.Scraped + 1024)
            {
                // Series came and went: rebuild both maps, keeping the states of the scrape just done.
                _cache.Clear();
                _states.Clear();
                _epoch++;
                _dropped = new SeriesState(Labels.Empty) { Epoch = _epoch };
                IndexPrevious();
            }
            Volatile.Write(ref _metadata, _result.Metadata.ToArray());
        }
        app!.Append(_upLabels, tMs, error is null ? 1 : 0);
        app.Append(_durationLabels, tMs, duration.TotalSeconds);
        app.Append(_scrapedLabels, tMs, counts.Scraped);
        app.Append(_postRelabelLabels, tMs, counts.PostRelabel);
        app.Append(_addedLabels, tMs, counts.Added);
        app.Commit();
        _result.Clear();

        var state = new TargetState
        {
            Target = _target,
            Health = error is null ? TargetHealth.Up : TargetHealth.Down,
            LastScrape = start,
            LastScrapeDuration = duration,
            LastError = error,
            LastSamples = counts.PostRelabel,
        };
        Volatile.Write(ref _state, state);
        _onScrape?.Invoke(state);
        return state;
    }

    /// <summary>Writes staleness markers for every series of the last scrape (the target went away).</summary>
    public async Task MarkStaleAsync(long tMs, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            MarkStaleCore(tMs);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Registers the last scrape's series in the (just emptied) state map under the current epoch.</summary>
    private void IndexPrevious()
    {
        foreach (var st in _prev)
        {
            _states[st.Labels] = st;
            st.Epoch = _epoch;
        }
    }

    /// <summary>Writes a staleness marker for every series of the last successful scrape and forgets them.</summary>
    private void AllPreviousStale(ISeriesAppender app, long tMs)
    {
        foreach (var st in _prev)
        {
            app.Append(ref st.Ref, st.Labels, tMs, StaleNaN.Value);
            st.InPrev = false;
        }
        _prev.Clear();
    }

    private void MarkStaleCore(long tMs)
    {
        var app = _store.Appender();
        AllPreviousStale(app, tMs);
        app.Append(_upLabels, tMs, StaleNaN.Value);
        app.Append(_durationLabels, tMs, StaleNaN.Value);
        app.Append(_scrapedLabels, tMs, StaleNaN.Value);
        app.Append(_postRelabelLabels, tMs, StaleNaN.Value);
        app.Append(_addedLabels, tMs, StaleNaN.Value);
        app.Commit();
    }

    private struct Counts
    {
        public int Scraped;
        public int PostRelabel;
        public int Added;
    }

    private void AppendSamples(ISeriesAppender app, long tMs, ref Counts counts)
    {
        var samples = CollectionsMarshal.AsSpan(_result.Samples);
        var limit = _cfg.SampleLimit;
        var honorTimestamps = _cfg.HonorTimestamps;
        var id = _scrapeId = Interlocked.Increment(ref s_scrapeIds);
        foreach (ref readonly var s in samples)
        {
            var slot = s.Series;
            SeriesState? st;
            if (slot?.State is SeriesState memo && memo.Epoch == _epoch)
            {
                st = memo;
            }
            else if (slot is not null)
            {
                st = StateOf(Mutate(s.Labels));
                slot.State = st ?? _dropped;
            }
            else if (!_cache.TryGetValue(s.Labels, out st))
            {
                st = StateOf(Mutate(s.Labels));
                _cache[s.Labels] = st;
            }
            if (st == _dropped) st = null;
            if (st is null) continue;
            counts.PostRelabel++;
            if (limit > 0 && counts.PostRelabel > limit)
                throw new ScrapeException($"sample limit exceeded ({limit})");
            AppendResult r;
            if (honorTimestamps && s.TimestampMs is { } ts)
            {
                // A timestamp out of the store's window is refused and counted by the store; the scrape goes on.
                r = app.Append(ref st.Ref, st.Labels, ts, s.Value);
            }
            else
            {
                if (st.LastScrape == id) continue; // duplicate series in one body: the first sample wins
                st.LastScrape = id;
                _cur.Add(st);
                if (!st.InPrev) counts.Added++;
                r = app.Append(ref st.Ref, st.Labels, tMs, s.Value);
            }
            // A new series the store refuses by its limits fails the scrape, visibly (up 0, the target's last error).
            if (r >= AppendResult.LabelLimit) throw new ScrapeException($"series {st.Labels} refused by the storage: {AppendResults.Describe(r)}");
        }
    }

    /// <summary>The scrape config's per-series limits (after metric relabelling), checked once per new final series.</summary>
    private void CheckSeriesLimits(Labels final)
    {
        var labelLimit = _cfg.LabelLimit;
        if (labelLimit > 0 && final.Count > labelLimit)
            throw new ScrapeException($"label_limit exceeded (series: {IngestLimits.Describe(final)}, number of labels: {final.Count}, limit: {labelLimit})");
        var nameLimit = _cfg.LabelNameLengthLimit;
        var valueLimit = _cfg.LabelValueLengthLimit;
        if (nameLimit <= 0 && valueLimit <= 0) return;
        foreach (var l in final.AsSpan())
        {
            if (nameLimit > 0 && IngestLimits.Utf8Longer(l.Name, nameLimit))
                throw new ScrapeException($"label_name_length_limit exceeded (series: {IngestLimits.Describe(final)}, label name: {l.Name}, limit: {nameLimit})");
            if (valueLimit > 0 && IngestLimits.Utf8Longer(l.Value, valueLimit))
                throw new ScrapeException($"label_value_length_limit exceeded (series: {IngestLimits.Describe(final)}, label name: {l.Name}, limit: {valueLimit})");
        }
    }

    private SeriesState? StateOf(Labels? final)
    {
        if (final is null) return null;
        CheckSeriesLimits(final);
        ref var st = ref CollectionsMarshal.GetValueRefOrAddDefault(_states, final, out _);
        return st ??= new SeriesState(final) { Epoch = _epoch };
    }

    /// <summary>Adds target labels (honor_labels or exported_ renaming) and applies metric_relabel_configs.</summary>
    private Labels? Mutate(Labels sample)
    {
        _builder.Reset(sample);
        foreach (var tl in _target.Labels.AsSpan())
        {
            var existing = _builder.Get(tl.Name);
            if (_cfg.HonorLabels)
            {
                if (existing is null) _builder.Set(tl.Name, tl.Value);
                continue;
            }
            if (existing is not null)
            {
                var name = "exported_" + tl.Name;
                while (_builder.Get(name) is not null) name = "exported_" + name;
                _builder.Set(name, existing);
            }
            _builder.Set(tl.Name, tl.Value);
        }
        if (!Relabeler.Process(_builder, _cfg.MetricRelabelConfigs)) return null;
        if (_builder.Get(Labels.MetricName) is null) return null;
        return _builder.ToLabels();
    }

    private async Task<(int Length, string? ContentType)> FetchAsync(CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_target.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var req = new HttpRequestMessage(HttpMethod.Get, _target.Url);
        req.Headers.TryAddWithoutValidation("Accept", ExpositionContentTypes.ScrapeAccept);
        req.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        req.Headers.TryAddWithoutValidation("X-Prometheus-Scrape-Timeout-Seconds",
            _target.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        HttpClientFactory.ApplyAuth(req, _cfg.Http);
        using var resp = await _client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        if (resp.StatusCode != HttpStatusCode.OK)
            throw new ScrapeException($"server returned HTTP status {(int)resp.StatusCode} {resp.ReasonPhrase}");
        var contentType = resp.Content.Headers.ContentType?.ToString();
        var stream = await resp.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var len = 0;
            while (true)
            {
                if (len == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
                var n = await stream.ReadAsync(_buf.AsMemory(len), linked.Token).ConfigureAwait(false);
                if (n == 0) break;
                len += n;
                if (_cfg.BodySizeLimit > 0 && len > _cfg.BodySizeLimit)
                    throw new ScrapeException($"body size limit exceeded ({_cfg.BodySizeLimit} bytes)");
            }
            return (len, contentType);
        }
    }
}
