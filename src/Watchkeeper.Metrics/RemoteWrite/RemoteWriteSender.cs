using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.RemoteWrite;

/// <summary>Counters of a sender, for self-metrics and a status page.</summary>
public sealed class RemoteWriteStats
{
    internal long _enqueued, _sent, _failed, _dropped, _retries, _batches;

    public long SamplesEnqueued => Interlocked.Read(ref _enqueued);
    public long SamplesSent => Interlocked.Read(ref _sent);
    /// <summary>Samples given up on: a non-retryable answer (4xx other than 429) or retries exhausted.</summary>
    public long SamplesFailed => Interlocked.Read(ref _failed);
    /// <summary>Samples dropped because a shard's queue was full, or by write_relabel_configs.</summary>
    public long SamplesDropped => Interlocked.Read(ref _dropped);
    public long Retries => Interlocked.Read(ref _retries);
    public long BatchesSent => Interlocked.Read(ref _batches);
    public string? LastError { get; internal set; }
    public DateTimeOffset? LastSuccess { get; internal set; }
}

/// <summary>
/// Sends samples to one <c>remote_write</c> endpoint. Samples are relabeled (write_relabel_configs), given the
/// external labels, and queued to a shard chosen by series hash (so each series stays in order). Each shard sends
/// a batch when it holds <c>max_samples_per_send</c> samples or <c>batch_send_deadline</c> has passed since its first
/// sample. 5xx and 429 answers and transport errors are retried with exponential backoff between min_backoff and
/// max_backoff; other 4xx drop the batch. All waiting uses the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class RemoteWriteSender : IAsyncDisposable
{
    private readonly RemoteWriteConfig _cfg;
    private readonly TimeProvider _time;
    private readonly HttpClient _client;
    private readonly Labels _external;
    private readonly Channel<Item>[] _shards;
    private readonly Task[] _workers;
    private readonly CancellationTokenSource _cts = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Labels, Labels?> _prepared = new();
    [ThreadStatic] private static LabelsBuilder? t_builder;
    private int _stopped;
    private volatile bool _draining;

    private readonly record struct Item(Labels Labels, Sample Sample, TaskCompletionSource? Flush);

    public RemoteWriteSender(RemoteWriteConfig config, TimeProvider time, HttpMessageHandler? handler = null, Labels? externalLabels = null)
    {
        _cfg = config;
        _time = time;
        _client = new HttpClient(handler ?? HttpClientFactory.CreateHandler(config.Http)) { Timeout = Timeout.InfiniteTimeSpan };
        _external = externalLabels ?? Labels.Empty;
        var n = Math.Max(1, Math.Max(config.Queue.MinShards, config.Queue.MaxShards));
        _shards = new Channel<Item>[n];
        _workers = new Task[n];
        for (var i = 0; i < n; i++)
        {
            _shards[i] = Channel.CreateBounded<Item>(new BoundedChannelOptions(config.Queue.Capacity + 1)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            var ch = _shards[i];
            _workers[i] = Task.Run(() => ShardLoopAsync(ch.Reader, _cts.Token));
        }
    }

    /// <summary>One sender per <c>remote_write</c> entry, with the global external labels.</summary>
    public static IReadOnlyList<RemoteWriteSender> CreateAll(MetricsConfig config, TimeProvider time, Func<RemoteWriteConfig, HttpMessageHandler>? handlerFactory = null) =>
        [.. config.RemoteWrite.Select(rw => new RemoteWriteSender(rw, time, handlerFactory?.Invoke(rw), config.Global.ExternalLabels))];

    public RemoteWriteConfig Config => _cfg;
    public RemoteWriteStats Stats { get; } = new();

    /// <summary>Queues one sample. Returns false when it was dropped (relabeled away or queue full). Never blocks.</summary>
    public bool Enqueue(Labels labels, long t, double v)
    {
        if (Volatile.Read(ref _stopped) != 0) return false;
        var final = Prepare(labels);
        if (final is null)
        {
            Interlocked.Increment(ref Stats._dropped);
            return false;
        }
        var shard = _shards[(int)((uint)final.GetHashCode() % (uint)_shards.Length)];
        if (!shard.Writer.TryWrite(new Item(final, new Sample(t, v), null)))
        {
            Interlocked.Increment(ref Stats._dropped);
            return false;
        }
        Interlocked.Increment(ref Stats._enqueued);
        return true;
    }

    private Labels? Prepare(Labels labels)
    {
        if (_cfg.WriteRelabelConfigs.Count == 0 && _external.Count == 0) return labels;
        if (_prepared.TryGetValue(labels, out var known)) return known;
        var b = t_builder ??= new LabelsBuilder();
        b.Reset(labels);
        foreach (var l in _external.AsSpan())
            if (b.Get(l.Name) is null) b.Set(l.Name, l.Value);
        var result = !Relabeler.Process(b, _cfg.WriteRelabelConfigs) ? null : b.Changed ? b.ToLabels() : labels;
        if (_prepared.Count > 1_000_000) _prepared.Clear(); // bound memory under series churn
        _prepared[labels] = result;
        return result;
    }

    /// <summary>Sends everything queued so far, now, and completes when every shard has sent (or given up on) it.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        var waits = new List<Task>();
        foreach (var s in _shards)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await s.Writer.WriteAsync(new Item(null!, default, tcs), ct).ConfigureAwait(false);
            waits.Add(tcs.Task);
        }
        await Task.WhenAll(waits).WaitAsync(ct).ConfigureAwait(false);
    }

    private async Task ShardLoopAsync(ChannelReader<Item> reader, CancellationToken ct)
    {
        var batch = new List<Item>(_cfg.Queue.MaxSamplesPerSend);
        try
        {
            while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                TaskCompletionSource? flush = null;
                var deadline = _time.GetUtcNow() + _cfg.Queue.BatchSendDeadline;
                while (batch.Count < _cfg.Queue.MaxSamplesPerSend && flush is null)
                {
                    if (reader.TryRead(out var item))
                    {
                        if (item.Flush is not null) flush = item.Flush;
                        else batch.Add(item);
                        continue;
                    }
                    if (batch.Count == 0) break; // nothing pending: wait for the first sample
                    var remaining = deadline - _time.GetUtcNow();
                    if (remaining <= TimeSpan.Zero) break;
                    using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var more = reader.WaitToReadAsync(waitCts.Token).AsTask();
                    var timer = Task.Delay(remaining, _time, waitCts.Token);
                    var done = await Task.WhenAny(more, timer).ConfigureAwait(false);
                    await waitCts.CancelAsync().ConfigureAwait(false);
                    if (done == timer) break;
                    if (!await more.ConfigureAwait(false)) break; // channel completed
                }
                if (batch.Count > 0)
                {
                    await SendWithRetryAsync(batch, ct).ConfigureAwait(false);
                    batch.Clear();
                }
                flush?.TrySetResult();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        // Release anyone waiting on a flush that will never run.
        while (reader.TryRead(out var rest)) rest.Flush?.TrySetResult();
    }

    private async Task SendWithRetryAsync(List<Item> batch, CancellationToken ct)
    {
        var body = RemoteWriteCodec.Encode(Group(batch));
        var backoff = _cfg.Queue.MinBackoff;
        var attempt = 0;
        while (true)
        {
            attempt++;
            TimeSpan? retryAfter = null;
            bool retry;
            try
            {
                using var timeout = new CancellationTokenSource(_cfg.RemoteTimeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                using var req = new HttpRequestMessage(HttpMethod.Post, _cfg.Url) { Content = new ByteArrayContent(body) };
                req.Content.Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteCodec.ContentType);
                req.Content.Headers.ContentEncoding.Add(RemoteWriteCodec.ContentEncoding);
                req.Headers.TryAddWithoutValidation(RemoteWriteCodec.VersionHeader, RemoteWriteCodec.Version);
                req.Headers.TryAddWithoutValidation("User-Agent", ScrapeLoop.UserAgent);
                foreach (var (k, v) in _cfg.Headers) req.Headers.TryAddWithoutValidation(k, v);
                HttpClientFactory.ApplyAuth(req, _cfg.Http);
                using var resp = await _client.SendAsync(req, linked.Token).ConfigureAwait(false);
                var code = (int)resp.StatusCode;
                if (code is >= 200 and < 300)
                {
                    Interlocked.Add(ref Stats._sent, batch.Count);
                    Interlocked.Increment(ref Stats._batches);
                    Stats.LastSuccess = _time.GetUtcNow();
                    return;
                }
                var text = await ReadSnippetAsync(resp, linked.Token).ConfigureAwait(false);
                Stats.LastError = $"server returned HTTP status {code} {resp.ReasonPhrase}: {text}";
                retry = code >= 500 || (code == (int)HttpStatusCode.TooManyRequests && _cfg.Queue.RetryOnHttp429);
                if (code == (int)HttpStatusCode.TooManyRequests) retryAfter = RetryAfter(resp);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                Interlocked.Add(ref Stats._failed, batch.Count);
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                Stats.LastError = e is OperationCanceledException ? $"request timed out after {PromDuration.Format(_cfg.RemoteTimeout)}" : e.Message;
                retry = true;
            }
            if (!retry || _draining || (_cfg.Queue.MaxRetries > 0 && attempt >= _cfg.Queue.MaxRetries))
            {
                Interlocked.Add(ref Stats._failed, batch.Count);
                return;
            }
            Interlocked.Increment(ref Stats._retries);
            var wait = retryAfter is { } ra && ra > backoff ? ra : backoff;
            await Task.Delay(wait, _time, ct).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _cfg.Queue.MaxBackoff.Ticks));
            if (backoff <= TimeSpan.Zero) backoff = _cfg.Queue.MaxBackoff;
        }
    }

    private TimeSpan? RetryAfter(HttpResponseMessage resp)
    {
        if (resp.Headers.RetryAfter is not { } ra) return null;
        if (ra.Delta is { } d) return d < _cfg.Queue.MaxBackoff ? d : _cfg.Queue.MaxBackoff;
        if (ra.Date is { } at)
        {
            var d2 = at - _time.GetUtcNow();
            return d2 <= TimeSpan.Zero ? null : d2 < _cfg.Queue.MaxBackoff ? d2 : _cfg.Queue.MaxBackoff;
        }
        return null;
    }

    private static async Task<string> ReadSnippetAsync(HttpResponseMessage resp, CancellationToken ct)
    {
        try
        {
            var s = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            return s.Length > 256 ? s[..256] : s.Trim();
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return "";
        }
    }

    private static List<TimeSeriesData> Group(List<Item> batch)
    {
        var index = new Dictionary<Labels, List<Sample>>();
        var order = new List<TimeSeriesData>();
        foreach (var it in batch)
        {
            if (!index.TryGetValue(it.Labels, out var list))
            {
                index[it.Labels] = list = [];
                order.Add(new TimeSeriesData(it.Labels, list));
            }
            list.Add(it.Sample);
        }
        return order;
    }

    /// <summary>
    /// Stops accepting samples and makes one last attempt (no retries) to send what is queued, bounded by
    /// <paramref name="drainTimeout"/>, then stops.
    /// </summary>
    public async Task StopAsync(TimeSpan? drainTimeout = null)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _draining = true;
        try
        {
            using var cts = new CancellationTokenSource(drainTimeout ?? TimeSpan.FromSeconds(5), _time);
            await FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var s in _shards) s.Writer.TryComplete();
        await _cts.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers).ConfigureAwait(false);
        _client.Dispose();
        _cts.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}

/// <summary>
/// An <see cref="ISeriesStore"/> decorator that forwards every committed sample to remote write senders:
/// give it to the scrape manager in place of the TSDB and the scrape path feeds remote write.
/// <see cref="SetSenders"/> swaps the senders on a config reload without touching the scrape manager.
/// </summary>
public sealed class RemoteWriteStore(ISeriesStore inner, IReadOnlyList<RemoteWriteSender> senders) : ISeriesStore
{
    private volatile IReadOnlyList<RemoteWriteSender> _senders = senders;

    public IReadOnlyList<RemoteWriteSender> Senders => _senders;

    /// <summary>Replaces the senders; the caller stops the old ones (after this call, so nothing is lost in between).</summary>
    public void SetSenders(IReadOnlyList<RemoteWriteSender> senders) => _senders = senders;

    public ISeriesAppender Appender() => new TeeAppender(inner.Appender(), this);

    public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.Select(minT, maxT, matchers);
    public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelNames(minT, maxT, matchers);
    public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelValues(name, minT, maxT, matchers);

    private sealed class TeeAppender(ISeriesAppender inner, RemoteWriteStore store) : ISeriesAppender
    {
        private readonly List<(Labels, long, double)> _pending = [];

        public AppendResult Append(Labels labels, long t, double v)
        {
            var r = inner.Append(labels, t, v);
            if (r == AppendResult.Ok) _pending.Add((labels, t, v));
            return r;
        }

        public AppendResult Append(ref SeriesRef series, Labels labels, long t, double v)
        {
            var r = inner.Append(ref series, labels, t, v);
            if (r == AppendResult.Ok) _pending.Add((labels, t, v));
            return r;
        }

        public void Commit()
        {
            inner.Commit();
            var senders = store._senders;
            if (senders.Count > 0)
            {
                foreach (var (l, t, v) in _pending)
                    foreach (var s in senders) s.Enqueue(l, t, v);
            }
            _pending.Clear();
        }

        public void Rollback()
        {
            inner.Rollback();
            _pending.Clear();
        }
    }
}
