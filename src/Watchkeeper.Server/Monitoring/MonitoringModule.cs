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
            return Task.CompletedTask;
        });
        app.MapPrometheusApi();
        app.MapRemoteWrite();
        app.MapBuiltInTargets();
        app.MapMonitoringUi();
    }
}
