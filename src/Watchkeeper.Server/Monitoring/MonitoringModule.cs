using Watchkeeper.Server.Monitoring.Ui;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>The jobs Watchkeeper serves and scrapes itself, by configuration.</summary>
public static class BuiltInTargets
{
    public static IEnumerable<(string Job, string Path)> Jobs(WatchkeeperConfig c)
    {
        if (c.HostMetrics.Enabled) yield return ("node", "/-/node/metrics");
        if (c.Demo.Enabled)
        {
            foreach (var s in c.Demo.Services) yield return (s, $"/-/demo/{s}/metrics");
        }
    }
}

/// <summary>Metrics engine wiring: TSDB, scraping, PromQL and the Prometheus HTTP API.</summary>
public static class MonitoringModule
{
    public static void AddMonitoring(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<MetricsRuntime>();
        builder.Services.AddSingleton<ServerStatus>();
        builder.AddBuiltInTargets();
        builder.Services.AddHostedService<MonitoringWorker>();
        builder.Services.AddMonitoringUi();
    }

    public static void MapMonitoring(this WebApplication app)
    {
        var runtime = app.Services.GetRequiredService<MetricsRuntime>();
        var metrics = app.Services.GetRequiredService<SelfMetrics>();
        metrics.AddCollector((w, ct) =>
        {
            foreach (var m in runtime.Tsdb.Stats.Export())
            {
                w.Header(m.Name, m.Help, m.Counter ? "counter" : "gauge");
                w.Sample(m.Name, [], [], m.Value);
            }
            // The query engine's concurrency, as Prometheus's prometheus_engine_queries{,_concurrent_max}.
            var engine = runtime.Engine;
            w.Header("watchkeeper_engine_queries", "Queries being evaluated or waiting in the queue.", "gauge");
            w.Sample("watchkeeper_engine_queries", [], [], engine.Queries);
            w.Header("watchkeeper_engine_queries_queued", "Queries waiting in the queue for a free slot.", "gauge");
            w.Sample("watchkeeper_engine_queries_queued", [], [], engine.QueuedQueries);
            w.Header("watchkeeper_engine_queries_concurrent_max", "Queries evaluated at once (storage.tsdb.query_max_concurrency).", "gauge");
            w.Sample("watchkeeper_engine_queries_concurrent_max", [], [], engine.Options.MaxConcurrency);
            return Task.CompletedTask;
        });
        app.MapPrometheusApi();
        app.MapPrometheusStatusApi();
        app.MapRemoteWrite();
        app.MapBuiltInTargets();
        app.MapMonitoringUi();
    }
}
