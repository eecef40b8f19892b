using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.RemoteWrite;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Rules;

/// <summary>
/// Rule evaluation as the server runs it: the rule manager over the embedded TSDB (or <c>query_source</c>), the
/// alerts handed to every registered <see cref="IAlertSink"/> (Watchkeeper's own dispatcher) and to the external
/// Alertmanagers of <c>alerting:</c>. Configuration is applied at start and after every successful reload; a reload
/// whose rule files are bad never gets here (the loader refuses it and the running rules stay).
/// <para>
/// Evaluation is singleton work: only the replica holding the leader lease (<see cref="ILeadership"/>) runs a rule
/// manager. A follower keeps the configuration and runs none; when it becomes the leader it starts a fresh manager,
/// whose groups restore their <c>for</c> progress from ALERTS_FOR_STATE as after a restart, and a leader that loses
/// the lease stops its manager at once.
/// </para>
/// </summary>
public sealed class RulesRuntime(MetricsRuntime metrics, TimeProvider time, IEnumerable<IAlertSink> sinks, ILeadership leadership, ILogger<RulesRuntime> logger)
    : IAsyncDisposable
{
    private readonly SemaphoreSlim _apply = new(1, 1);
    private RuleManager? _manager;
    private WatchkeeperConfig? _config;

    /// <summary>Whether this replica evaluates rules (it holds the leader lease).</summary>
    public bool Evaluating => _manager is not null;
    private AlertmanagerSender? _external;
    private PrometheusQueryClient? _source;
    private RemoteWriteSender? _writeBack;

    public RuleManager? Manager => _manager;
    public AlertmanagerSender? External => _external;
    public string? QuerySourceUrl { get; private set; }

    public async Task ApplyAsync(WatchkeeperConfig c, CancellationToken ct)
    {
        await _apply.WaitAsync(ct);
        try
        {
            if (Volatile.Read(ref _disposed) == 1) return;
            _config = c;
            if (!leadership.IsLeader)
            {
                await StopManagerAsync();
                return;
            }
            var old = (_external, _source, _writeBack);
            var externalUrl = c.Server.ExternalOrigin ?? "http://" + Environment.MachineName.ToLowerInvariant() + ":9700";
            _external = c.Alerting.Alertmanagers.Count == 0 ? null : new AlertmanagerSender(Targets(c), log: m => logger.LogWarning("{Message}", m));
            IRuleQuerier querier;
            ISeriesStore storage = metrics.Store;
            _source = null;
            _writeBack = null;
            QuerySourceUrl = null;
            if (c.QuerySource is { } q)
            {
                var http = RulesConfigLoader.Http(q.BasicAuth, q.Authorization);
                var url = new Uri(q.Url);
                _source = new PrometheusQueryClient(url, http, q.Timeout.Value);
                querier = _source;
                QuerySourceUrl = q.Url;
                var write = new Uri(q.WriteUrl is { Length: > 0 } w ? w : q.Url.TrimEnd('/') + "/api/v1/write");
                _writeBack = new RemoteWriteSender(new RemoteWriteConfig { Url = write, Name = "query_source", Http = http }, time,
                    externalLabels: c.Metrics.Global.ExternalLabels);
                storage = new RemoteWriteStore(metrics.Store, [_writeBack]);
            }
            else querier = new Metrics.Rules.EngineRuleQuerier(metrics.Engine, metrics.Querier);

            var all = sinks.ToList();
            if (_external is not null) all.Add(_external);
            var ctx = new RuleEvalContext
            {
                Querier = querier,
                Storage = storage,
                Sink = all.Count == 0 ? null : new CompositeAlertSink(all, m => logger.LogWarning("{Message}", m)),
                Templates = RulesConfigLoader.Templates,
                ExternalLabels = c.Metrics.Global.ExternalLabels,
                ExternalUrl = externalUrl,
                ResendDelay = c.Rules.Alert.ResendDelay.Value,
                ForGracePeriod = c.Rules.Alert.ForGracePeriod.Value,
                OutageTolerance = c.Rules.Alert.ForOutageTolerance.Value,
                Time = time,
                Log = m => logger.LogWarning("{Message}", m),
            };
            _manager ??= new RuleManager(ctx);
            await _manager.UpdateAsync(c.RuleFileDefs, c.Metrics.Global.EvaluationInterval, c.Metrics.Global.RuleQueryOffset, ctx);
            if (old._external is not null) await old._external.DisposeAsync();
            if (old._writeBack is not null) await old._writeBack.DisposeAsync();
            old._source?.Dispose();
            logger.LogInformation("Rules: {Groups} groups, {Rules} rules loaded from {Files} files", _manager.Groups.Count,
                _manager.Groups.Sum(g => g.Rules.Count), c.RuleFileDefs.Count);
        }
        finally
        {
            _apply.Release();
        }
    }

    /// <summary>
    /// Follows a change of leadership: the new leader starts evaluating the last applied configuration (a fresh
    /// manager, so <c>for</c> progress is restored from ALERTS_FOR_STATE); a replica that lost the lease stops.
    /// </summary>
    public async Task LeadershipChangedAsync(CancellationToken ct)
    {
        await _apply.WaitAsync(ct);
        WatchkeeperConfig? c;
        try
        {
            if (Volatile.Read(ref _disposed) == 1) return;
            c = _config;
            if (!leadership.IsLeader || c is null)
            {
                await StopManagerAsync();
                return;
            }
            if (_manager is not null) return;
        }
        finally
        {
            _apply.Release();
        }
        await ApplyAsync(c, ct);
    }

    /// <summary>Stops evaluation (no stale markers: as when the process stops, the next leader carries on).</summary>
    private async Task StopManagerAsync()
    {
        var m = _manager;
        if (m is null) return;
        _manager = null;
        await m.DisposeAsync();
        if (_external is not null) await _external.DisposeAsync();
        if (_writeBack is not null) await _writeBack.DisposeAsync();
        _source?.Dispose();
        _external = null;
        _writeBack = null;
        _source = null;
        logger.LogInformation("Rules: this replica is not the leader; rule evaluation stopped");
    }

    private static List<AlertmanagerTarget> Targets(WatchkeeperConfig c)
    {
        var list = new List<AlertmanagerTarget>();
        foreach (var a in c.Alerting.Alertmanagers)
        {
            var http = RulesConfigLoader.Http(a.BasicAuth, a.Authorization);
            var prefix = "/" + a.PathPrefix.Trim('/');
            if (prefix != "/") prefix += "/";
            foreach (var s in a.StaticConfigs)
                foreach (var t in s.Targets)
                    list.Add(new AlertmanagerTarget(new Uri($"{a.Scheme}://{t}{prefix}api/v2/alerts"), http, a.Timeout.Value));
        }
        return list;
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (_manager is not null) await _manager.DisposeAsync();
        if (_external is not null) await _external.DisposeAsync();
        if (_writeBack is not null) await _writeBack.DisposeAsync();
        _source?.Dispose();
        _apply.Dispose();
    }
}

/// <summary>Starts rule evaluation once the server listens and re-applies it after each successful reload.</summary>
public sealed class RulesWorker(RulesRuntime runtime, ConfigHolder config, ILeadership leadership, IHostApplicationLifetime lifetime, ILogger<RulesWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        await using var reg = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await using var stop = stoppingToken.Register(() => started.TrySetCanceled());
        try
        {
            await started.Task;
            await runtime.ApplyAsync(config.Current, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        config.Reloaded += OnReload;
        leadership.Changed += OnLeadership;
        // Leadership may have changed between the first apply and the subscription.
        Run(ct => runtime.LeadershipChangedAsync(ct), "Following a leadership change");
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            config.Reloaded -= OnReload;
            leadership.Changed -= OnLeadership;
            await runtime.DisposeAsync();
        }

        void OnReload(WatchkeeperConfig c) => Run(ct => runtime.ApplyAsync(c, ct), "Applying the rules after a reload");
        void OnLeadership(bool _) => Run(ct => runtime.LeadershipChangedAsync(ct), "Following a leadership change");
        void Run(Func<CancellationToken, Task> work, string what) => _ = Task.Run(async () =>
        {
            try
            {
                await work(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not ObjectDisposedException)
            {
                logger.LogError(ex, "{What} failed", what);
            }
        }, CancellationToken.None);
    }
}
