using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.RemoteWrite;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Metrics.Tsdb;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>The metrics engine as the server runs it: the TSDB, the PromQL engine and the scrape manager.</summary>
public sealed class MetricsRuntime : IDisposable
{
    public MetricsRuntime(ServeOptions serve, ConfigHolder config, TimeProvider time, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Watchkeeper.Tsdb");
        var storage = config.Current.Storage.Tsdb;
        Tsdb = Metrics.Tsdb.Tsdb.Open(new TsdbOptions
        {
            Directory = Path.Combine(serve.DataDir, "tsdb"),
            Retention = storage.Retention,
            MaxBytes = storage.MaxBytes,
            TimeProvider = time,
            FutureGracePeriod = config.Current.Limits.CreationGracePeriod.Value,
            PastGracePeriod = config.Current.Limits.PastGracePeriod.Value > TimeSpan.Zero ? config.Current.Limits.PastGracePeriod.Value : null,
            Limits = config.Current.Limits.Series(),
            OnWarning = m => log.LogWarning("{Message}", m),
        });
        Engine = new Engine(new EngineOptions
        {
            LookbackDelta = config.Current.Storage.Tsdb.LookbackDelta,
            Timeout = config.Current.Storage.Tsdb.QueryTimeout,
            MaxSamples = config.Current.Storage.Tsdb.QueryMaxSamples,
            MaxConcurrency = config.Current.Storage.Tsdb.QueryMaxConcurrency,
        }, time);
        Time = time;
        Forwarding = new ForwardingStore(Tsdb);
    }

    /// <summary>Where scrapes and the receiver write: the TSDB plus remote_write forwarding.</summary>
    public ForwardingStore Forwarding { get; }

    public Tsdb Tsdb { get; }
    public ISeriesStore Store => Forwarding;
    public ISeriesQuerier Querier => Tsdb;
    public Engine Engine { get; }
    public ScrapeManager? Scrape { get; internal set; }
    public TimeProvider Time { get; }

    public void Dispose() => Tsdb.Dispose();
}

/// <summary>
/// Starts scraping once the server listens (built-in targets are scraped over loopback like any other),
/// re-applies scrape configuration on reload, and runs TSDB maintenance (head cut, compaction, retention).
/// </summary>
public sealed class MonitoringWorker(
    MetricsRuntime runtime, ConfigHolder config, TimeProvider time, IServer server, IHostApplicationLifetime lifetime,
    SelfMetrics metrics, ServeOptions serve, ILogger<MonitoringWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        await using var reg = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await using var stop = stoppingToken.Register(() => started.TrySetCanceled());
        try
        {
            await started.Task;
        }
        catch (TaskCanceledException)
        {
            return;
        }

        var manager = new ScrapeManager(runtime.Store, time);
        runtime.Scrape = manager;
        await runtime.Forwarding.ApplyAsync(config.Current.Metrics, time);
        await ApplyAsync(manager, config.Current, stoppingToken);
        config.Reloaded += OnReload;
        var interval = config.Current.Metrics.Global.ScrapeInterval;
        var warmup = serve.QueryWarmup
            ? QueryWarmup.RunAsync(runtime, () => new Uri("http://" + SelfAddress() + "/"), time, interval + interval, logger, stoppingToken)
            : Task.CompletedTask;
        var memory = MemoryCompaction.ForProcess(logger);
        metrics.AddCollector((w, _) =>
        {
            w.Header("watchkeeper_memory_compactions_total", "Full collections run to return unused memory to the operating system.", "counter");
            w.Sample("watchkeeper_memory_compactions_total", [], [], memory.Compactions);
            w.Header("watchkeeper_memory_compaction_seconds_total", "Time the process was paused by those collections.", "counter");
            w.Sample("watchkeeper_memory_compaction_seconds_total", [], [], memory.Seconds);
            return Task.CompletedTask;
        });
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Off the timer's thread, so ticks that fall due together (a clock that jumped) run maintenance once.
                await Task.Yield();
                try
                {
                    runtime.Tsdb.RunMaintenance();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "TSDB maintenance failed");
                }
                if (serve.MemoryCompaction) memory.Check();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            config.Reloaded -= OnReload;
            await Reloading;
            await warmup;
            await manager.StopAsync();
            await runtime.Forwarding.StopAsync();
        }

        // Reloads are applied one after another, off the thread that reloaded; a failure is logged, never lost.
        void OnReload(WatchkeeperConfig c)
        {
            lock (_reloadLock) _reloading = _reloading.ContinueWith(_ => ApplyReloadAsync(manager, c, stoppingToken), CancellationToken.None,
                TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private readonly Lock _reloadLock = new();
    private Task _reloading = Task.CompletedTask;

    /// <summary>The reload being applied (or the last one), for shutdown and tests.</summary>
    internal Task Reloading
    {
        get
        {
            lock (_reloadLock) return _reloading;
        }
    }

    private async Task ApplyReloadAsync(ScrapeManager manager, WatchkeeperConfig c, CancellationToken ct)
    {
        try
        {
            await runtime.Forwarding.ApplyAsync(c.Metrics, time);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogError(ex, "Applying remote_write configuration after a reload failed");
        }
        try
        {
            await ApplyAsync(manager, c, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task ApplyAsync(ScrapeManager manager, WatchkeeperConfig c, CancellationToken ct)
    {
        try
        {
            await manager.ApplyConfigAsync(WithBuiltInTargets(c), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Applying scrape configuration failed");
        }
    }

    /// <summary>Adds the jobs Watchkeeper serves itself (its own metrics, host metrics, demo services), pointed at its bound address.</summary>
    private MetricsConfig WithBuiltInTargets(WatchkeeperConfig c)
    {
        var address = SelfAddress();
        var jobs = new List<ScrapeConfig>(c.Metrics.ScrapeConfigs);
        var global = c.Metrics.Global;
        ScrapeConfig Job(string name, string path) => new()
        {
            JobName = name,
            MetricsPath = path,
            ScrapeInterval = global.ScrapeInterval,
            ScrapeTimeout = global.ScrapeTimeout < global.ScrapeInterval ? global.ScrapeTimeout : global.ScrapeInterval,
            StaticConfigs = [new TargetGroup([address], new Dictionary<string, string>(), "watchkeeper")],
        };
        bool Has(string job) => jobs.Any(j => j.JobName == job);
        if (c.SelfScrape && !Has("watchkeeper")) jobs.Add(Job("watchkeeper", "/metrics"));
        foreach (var extra in BuiltInTargets.Jobs(c))
            if (!Has(extra.Job)) jobs.Add(Job(extra.Job, extra.Path));
        return c.Metrics with { ScrapeConfigs = jobs };
    }

    private string SelfAddress()
    {
        var a = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:9700";
        var u = new Uri(a.Replace("://+:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://[::]:", "://127.0.0.1:", StringComparison.Ordinal));
        return u.Authority;
    }
}
