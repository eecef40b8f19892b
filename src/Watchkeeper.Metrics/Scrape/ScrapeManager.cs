using System.Threading.Channels;
using Watchkeeper.Metrics.Exposition;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Scrape;

public sealed record ScrapeManagerOptions
{
    /// <summary>Builds the HTTP handler of a scrape pool; default: TLS per tls_config. Tests pass a fake handler.</summary>
    public Func<ScrapeConfig, HttpMessageHandler>? HandlerFactory { get; init; }

    /// <summary>Called after every scrape with the target's new state (from the loop's thread).</summary>
    public Action<TargetState>? ScrapeCompleted { get; init; }

    /// <summary>Watch file_sd directories with FileSystemWatcher in addition to refresh_interval polling.</summary>
    public bool WatchFiles { get; init; } = true;
}

/// <summary>
/// Runs one scrape loop per target of every job in <c>scrape_configs</c>, appending to an <see cref="ISeriesStore"/>.
/// <see cref="ApplyConfigAsync"/> starts it and applies reloads; <see cref="StopAsync"/> (or dispose) stops every loop
/// and marks the series of every target stale.
/// </summary>
public sealed class ScrapeManager(ISeriesStore store, TimeProvider time, ScrapeManagerOptions? options = null) : IAsyncDisposable
{
    private readonly ScrapeManagerOptions _options = options ?? new ScrapeManagerOptions();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Dictionary<string, ScrapePool> _pools = new(StringComparer.Ordinal);
    private bool _stopped;

    /// <summary>Applies a configuration: new jobs start, removed jobs stop (their series go stale), changed jobs restart
    /// keeping the series state of targets that remain.</summary>
    public async Task ApplyConfigAsync(MetricsConfig config, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            // Build every pool first (HTTP handlers read TLS files and may fail): a failing config changes nothing.
            var created = new List<ScrapePool>();
            try
            {
                foreach (var sc in config.ScrapeConfigs) created.Add(new ScrapePool(sc, store, time, _options));
            }
            catch
            {
                foreach (var p in created) p.DisposeUnstarted();
                throw;
            }
            var next = new Dictionary<string, ScrapePool>(StringComparer.Ordinal);
            foreach (var pool in created)
            {
                _pools.TryGetValue(pool.Config.JobName, out var old);
                await pool.StartAsync(old).ConfigureAwait(false);
                next[pool.Config.JobName] = pool;
            }
            foreach (var (job, old) in _pools)
            {
                if (!next.ContainsKey(job)) await old.StopAsync(markStale: true).ConfigureAwait(false);
            }
            _pools = next;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Re-reads file_sd files now and reconciles loops (the periodic refresh and file watcher do this too).</summary>
    public async Task RefreshDiscoveryAsync()
    {
        foreach (var p in Pools()) await p.SyncAsync().ConfigureAwait(false);
    }

    /// <summary>Every active target and its state, by job then URL.</summary>
    public IReadOnlyList<TargetState> ActiveTargets() =>
        [.. Pools().SelectMany(p => p.States()).OrderBy(s => s.Job, StringComparer.Ordinal).ThenBy(s => s.ScrapeUrl.ToString(), StringComparer.Ordinal)];

    /// <summary>Targets dropped by relabeling or invalid, with their discovered labels.</summary>
    public IReadOnlyList<DroppedTarget> DroppedTargets() => [.. Pools().SelectMany(p => p.Dropped())];

    /// <summary>Discovery errors (file_sd files that did not parse), by file.</summary>
    public IReadOnlyDictionary<string, string> DiscoveryErrors()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in Pools())
            foreach (var (k, v) in p.DiscoveryErrors()) d[k] = v;
        return d;
    }

    /// <summary>Runs one scrape of every target now (for tests and a "scrape now" button). Returns the new states.</summary>
    public async Task<IReadOnlyList<TargetState>> ScrapeAllNowAsync(CancellationToken ct = default)
    {
        var list = new List<TargetState>();
        foreach (var p in Pools())
            foreach (var l in p.Loops()) list.Add(await l.ScrapeAsync(ct).ConfigureAwait(false));
        return list;
    }

    /// <summary>
    /// Metric metadata from the last scrape of every target, as the Prometheus metadata API serves it:
    /// family name to its distinct (type, help, unit) entries. <paramref name="metric"/> filters to one family.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<MetricMetadata>> Metadata(string? metric = null, int limit = 0)
    {
        var d = new SortedDictionary<string, List<MetricMetadata>>(StringComparer.Ordinal);
        foreach (var p in Pools())
        {
            foreach (var l in p.Loops())
            {
                foreach (var m in l.Metadata)
                {
                    if (metric is not null && m.Family != metric) continue;
                    if (!d.TryGetValue(m.Family, out var list)) d[m.Family] = list = [];
                    if (!list.Contains(m)) list.Add(m);
                }
            }
        }
        var result = new Dictionary<string, IReadOnlyList<MetricMetadata>>(StringComparer.Ordinal);
        foreach (var (k, v) in d)
        {
            if (limit > 0 && result.Count >= limit) break;
            result[k] = v;
        }
        return result;
    }

    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stopped) return;
            _stopped = true;
            foreach (var p in _pools.Values) await p.StopAsync(markStale: true).ConfigureAwait(false);
            _pools.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private ScrapePool[] Pools()
    {
        var pools = _pools;
        return [.. pools.Values];
    }
}

/// <summary>All targets of one job: discovery, target building and the loops.</summary>
internal sealed class ScrapePool
{
    private readonly ScrapeConfig _cfg;
    private readonly ISeriesStore _store;
    private readonly TimeProvider _time;
    private readonly ScrapeManagerOptions _options;
    private readonly HttpClient _client;
    private readonly FileSd[] _fileSds;
    private readonly SemaphoreSlim _sync = new(1, 1);
    private readonly CancellationTokenSource _cts = new();
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly List<Task> _background = [];
    private Dictionary<string, (ScrapeLoop Loop, CancellationTokenSource Cts, Task Task)> _loops = new(StringComparer.Ordinal);
    private List<DroppedTarget> _dropped = [];

    public ScrapePool(ScrapeConfig cfg, ISeriesStore store, TimeProvider time, ScrapeManagerOptions options)
    {
        _cfg = cfg;
        _store = store;
        _time = time;
        _options = options;
        HttpMessageHandler handler;
        try
        {
            handler = options.HandlerFactory?.Invoke(cfg) ?? HttpClientFactory.CreateHandler(cfg.Http);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"scrape config \"{cfg.JobName}\": cannot set up its HTTP client: {e.Message}", e);
        }
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _fileSds = [.. cfg.FileSdConfigs.Select(f => new FileSd(f))];
    }

    public ScrapeConfig Config => _cfg;

    /// <summary>Releases a pool that was built but never started (a reload that failed).</summary>
    public void DisposeUnstarted()
    {
        _client.Dispose();
        _cts.Dispose();
    }

    public IEnumerable<TargetState> States()
    {
        var loops = _loops;
        return loops.Values.Select(l => l.Loop.State).ToList();
    }

    public IEnumerable<ScrapeLoop> Loops()
    {
        var loops = _loops;
        return loops.Values.Select(l => l.Loop).ToList();
    }

    public IEnumerable<DroppedTarget> Dropped() => _dropped;

    public IEnumerable<KeyValuePair<string, string>> DiscoveryErrors() => _fileSds.SelectMany(f => f.Errors).ToList();

    public async Task StartAsync(ScrapePool? previous)
    {
        Dictionary<string, ScrapeLoop>? inherit = null;
        if (previous is not null)
        {
            // Stop the old loops without staleness; targets that remain take over their series.
            var old = await previous.StopAsync(markStale: false).ConfigureAwait(false);
            inherit = old;
        }
        await SyncAsync(inherit).ConfigureAwait(false);
        if (inherit is not null)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (key, loop) in inherit)
                if (!_loops.ContainsKey(key)) await loop.MarkStaleAsync(now).ConfigureAwait(false);
        }
        foreach (var fsd in _fileSds)
        {
            _background.Add(PeriodicRefreshAsync(fsd.Config.RefreshInterval, _cts.Token));
            if (_options.WatchFiles)
            {
                foreach (var dir in fsd.Directories.Where(Directory.Exists))
                {
                    var w = new FileSystemWatcher(dir) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size };
                    w.Changed += (_, _) => _signal.Writer.TryWrite(true);
                    w.Created += (_, _) => _signal.Writer.TryWrite(true);
                    w.Deleted += (_, _) => _signal.Writer.TryWrite(true);
                    w.Renamed += (_, _) => _signal.Writer.TryWrite(true);
                    try
                    {
                        w.EnableRaisingEvents = true;
                        _watchers.Add(w);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
                    {
                        // Out of inotify instances or similar: refresh_interval polling still re-reads the files.
                        w.Dispose();
                    }
                }
            }
        }
        if (_fileSds.Length > 0) _background.Add(SignalLoopAsync(_cts.Token));
    }

    private async Task PeriodicRefreshAsync(TimeSpan interval, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false)) _signal.Writer.TryWrite(true);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SignalLoopAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var _ in _signal.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                await SyncAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public Task SyncAsync() => SyncAsync(null);

    private async Task SyncAsync(Dictionary<string, ScrapeLoop>? inherit)
    {
        try
        {
            await _sync.WaitAsync(_cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // the pool is stopping
        }
        try
        {
            if (_cts.IsCancellationRequested) return;
            var groups = new List<TargetGroup>(_cfg.StaticConfigs);
            foreach (var f in _fileSds) groups.AddRange(f.Read());
            var (active, dropped) = TargetBuilder.Build(_cfg, groups);
            var next = new Dictionary<string, (ScrapeLoop, CancellationTokenSource, Task)>(StringComparer.Ordinal);
            foreach (var t in active)
            {
                if (_loops.TryGetValue(t.Key, out var existing))
                {
                    next[t.Key] = existing;
                    continue;
                }
                var loop = new ScrapeLoop(t, _cfg, _client, _store, _time, _options.ScrapeCompleted);
                if (inherit is not null && inherit.TryGetValue(t.Key, out var prev)) loop.InheritFrom(prev);
                var cts = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
                next[t.Key] = (loop, cts, Task.Run(() => loop.RunAsync(cts.Token)));
            }
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (key, l) in _loops)
            {
                if (next.ContainsKey(key)) continue;
                await l.Cts.CancelAsync().ConfigureAwait(false);
                await l.Task.ConfigureAwait(false);
                l.Cts.Dispose();
                await l.Loop.MarkStaleAsync(now).ConfigureAwait(false);
            }
            _loops = next;
            _dropped = dropped;
        }
        finally
        {
            _sync.Release();
        }
    }

    /// <summary>Stops every loop. Returns the stopped loops by key (for a successor pool to inherit).</summary>
    public async Task<Dictionary<string, ScrapeLoop>> StopAsync(bool markStale)
    {
        foreach (var w in _watchers) w.Dispose();
        _watchers.Clear();
        // Cancel first: a discovery refresh waiting for the lock gives up instead of deadlocking with us.
        await _cts.CancelAsync().ConfigureAwait(false);
        await _sync.WaitAsync().ConfigureAwait(false);
        try
        {
            var stopped = new Dictionary<string, ScrapeLoop>(StringComparer.Ordinal);
            foreach (var (key, l) in _loops)
            {
                await l.Task.ConfigureAwait(false);
                l.Cts.Dispose();
                stopped[key] = l.Loop;
            }
            if (markStale)
            {
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                foreach (var l in stopped.Values) await l.MarkStaleAsync(now).ConfigureAwait(false);
            }
            _loops = new(StringComparer.Ordinal);
            try
            {
                await Task.WhenAll(_background).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            _client.Dispose();
            return stopped;
        }
        finally
        {
            _sync.Release();
        }
    }
}
