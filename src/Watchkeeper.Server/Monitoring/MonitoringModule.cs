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
    }

    public static void MapMonitoring(this WebApplication app)
    {
        var runtime = app.Services.GetRequiredService<MetricsRuntime>();
        var metrics = app.Services.GetRequiredService<SelfMetrics>();
        metrics.AddCollector((w, ct) =>
        {
            var s = runtime.Tsdb.Stats;
            void G(string name, string help, string type, double v)
            {
                w.Header(name, help, type);
                w.Sample(name, [], [], v);
            }
            G("watchkeeper_tsdb_head_series", "Series in the head block.", "gauge", s.HeadSeries);
            G("watchkeeper_tsdb_head_chunks", "Chunks in the head block.", "gauge", s.HeadChunks);
            G("watchkeeper_tsdb_head_samples_appended_total", "Samples appended to the head.", "counter", s.SamplesAppended);
            G("watchkeeper_tsdb_out_of_order_samples_total", "Samples rejected as out of order.", "counter", s.OutOfOrderRejected);
            G("watchkeeper_tsdb_duplicate_samples_total", "Samples rejected as duplicate timestamps with a different value.", "counter", s.DuplicateRejected);
            G("watchkeeper_tsdb_too_old_samples_total", "Samples rejected as older than the head.", "counter", s.TooOldRejected);
            G("watchkeeper_tsdb_wal_bytes_written_total", "Bytes written to the write-ahead log.", "counter", s.WalBytesWritten);
            G("watchkeeper_tsdb_wal_repairs_total", "Corrupt or torn write-ahead log tails cut at start.", "counter", s.WalRepairs);
            G("watchkeeper_tsdb_blocks_loaded", "Persistent blocks.", "gauge", s.Blocks);
            G("watchkeeper_tsdb_storage_blocks_bytes", "Bytes used by persistent blocks.", "gauge", s.BlockBytes);
            G("watchkeeper_tsdb_compactions_total", "Block compactions.", "counter", s.Compactions);
            G("watchkeeper_tsdb_head_truncations_total", "Head cuts into blocks.", "counter", s.HeadCuts);
            return Task.CompletedTask;
        });
        app.MapPrometheusApi();
        app.MapRemoteWrite();
        app.MapBuiltInTargets();
    }
}
