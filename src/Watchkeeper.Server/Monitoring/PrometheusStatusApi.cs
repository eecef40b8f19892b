using System.Globalization;
using System.Text.Json;
using Watchkeeper.Metrics.Tsdb;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// Prometheus's status endpoints under <c>/prometheus/api/v1/status/</c>: <c>runtimeinfo</c>, <c>flags</c>, <c>tsdb</c>
/// (viewer) and <c>config</c> (admin: the configuration holds people's contact details even with secrets masked).
/// Field names are Prometheus's, so tools that read them (Grafana, promtool) find what they expect.
/// </summary>
public static class PrometheusStatusApi
{
    public static void MapPrometheusStatusApi(this WebApplication app)
    {
        var viewer = app.MapGroup("/prometheus/api/v1/status").WithTags("prometheus").RequireAuthorization(Policies.Viewer).DisableAntiforgery();
        viewer.MapGet("/runtimeinfo", (HttpContext ctx, ServerStatus s, ConfigHolder config, MetricsRuntime m) => PrometheusApi.Run(ctx, w =>
        {
            using var proc = System.Diagnostics.Process.GetCurrentProcess();
            w.WriteStartObject();
            w.WriteString("startTime", s.StartedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("CWD", Environment.CurrentDirectory);
            w.WriteBoolean("reloadConfigSuccess", config.LastReloadSucceeded);
            w.WriteString("lastConfigTime", (config.LastReloadAt ?? s.StartedAt).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("corruptionCount", m.Tsdb.Stats.WalRepairs);
            // Go's goroutines and GOMAXPROCS have .NET counterparts: threads of the process and processors.
            w.WriteNumber("goroutineCount", proc.Threads.Count);
            w.WriteNumber("GOMAXPROCS", Environment.ProcessorCount);
            w.WriteString("GOMEMLIMIT", "");
            w.WriteString("GOGC", "");
            w.WriteString("GODEBUG", "");
            w.WriteString("storageRetention", config.Current.Storage.Tsdb.Retention.ToString());
            w.WriteEndObject();
            return Task.CompletedTask;
        }));
        viewer.MapGet("/flags", (HttpContext ctx, ServerStatus s) => PrometheusApi.Run(ctx, w =>
        {
            w.WriteStartObject();
            foreach (var (k, v) in s.Flags()) w.WriteString(k.TrimStart('-'), v);
            w.WriteEndObject();
            return Task.CompletedTask;
        }));
        viewer.MapGet("/tsdb", (HttpContext ctx, MetricsRuntime m) => PrometheusApi.Run(ctx, w =>
        {
            var limit = 10;
            if (ctx.Request.Query["limit"] is { Count: > 0 } l
                && (!int.TryParse(l[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > Tsdb.MaxCardinalityLimit))
                throw new PrometheusApi.ApiError("bad_data", 400, $"limit must be a positive number not above {Tsdb.MaxCardinalityLimit}");
            WriteTsdbStatus(w, m.Tsdb.HeadStatus(limit));
            return Task.CompletedTask;
        }));
        app.MapGroup("/prometheus/api/v1/status").WithTags("prometheus").RequireAuthorization(Policies.Admin).DisableAntiforgery()
            .MapGet("/config", (HttpContext ctx, ServerStatus s) => PrometheusApi.Run(ctx, w =>
            {
                w.WriteStartObject();
                w.WriteString("yaml", s.ConfigFiles()[0].Yaml);
                w.WriteEndObject();
                return Task.CompletedTask;
            }));
    }

    internal static void WriteTsdbStatus(Utf8JsonWriter w, HeadCardinality h)
    {
        w.WriteStartObject();
        w.WriteStartObject("headStats");
        w.WriteNumber("numSeries", h.NumSeries);
        w.WriteNumber("numLabelPairs", h.NumLabelPairs);
        w.WriteNumber("chunkCount", h.ChunkCount);
        w.WriteNumber("minTime", h.MinTime);
        w.WriteNumber("maxTime", h.MaxTime);
        w.WriteEndObject();
        Table(w, "seriesCountByMetricName", h.SeriesCountByMetricName);
        Table(w, "labelValueCountByLabelName", h.LabelValueCountByLabelName);
        Table(w, "memoryInBytesByLabelName", h.MemoryInBytesByLabelName);
        Table(w, "seriesCountByLabelValuePair", h.SeriesCountByLabelValuePair);
        w.WriteEndObject();

        static void Table(Utf8JsonWriter w, string name, IReadOnlyList<CardinalityEntry> rows)
        {
            w.WriteStartArray(name);
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                w.WriteNumber("value", r.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
    }
}
