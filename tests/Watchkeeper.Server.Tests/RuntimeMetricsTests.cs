using System.Text;
using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// <c>/metrics</c> carries the runtime's garbage-collection, heap and thread-pool figures (as Go's client carries
/// <c>go_gc_*</c>), in exposition text the product's own scrape parser accepts.
/// </summary>
public sealed class RuntimeMetricsTests
{
    private static async Task<Dictionary<string, double>> ScrapeAsync(TestServer s)
    {
        using var c = s.Client();
        var body = Encoding.UTF8.GetBytes(await c.GetStringAsync("/metrics"));
        var parsed = new ExpositionParser().Parse(body, ExpositionFormat.PrometheusText);
        return parsed.Samples.ToDictionary(p => Key(p.Labels.ToString()), p => p.Value, StringComparer.Ordinal);
    }

    private static string Key(string series) => series.EndsWith("{}", StringComparison.Ordinal) ? series[..^2] : series;

    [Fact]
    public async Task Gc_heap_and_thread_pool_figures_are_exposed_and_move()
    {
        await using var s = await TestServer.StartAsync();
        var before = await ScrapeAsync(s);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        _ = new byte[1 << 20];
        var after = await ScrapeAsync(s);

        Assert.True(after["dotnet_gc_collections_total{generation=\"gen2\"}"] > before["dotnet_gc_collections_total{generation=\"gen2\"}"],
            "a forced full collection is counted as a gen2 collection");
        Assert.True(after["dotnet_gc_heap_allocated_bytes_total"] >= before["dotnet_gc_heap_allocated_bytes_total"] + (1 << 20));
        Assert.True(after["dotnet_gc_pause_time_seconds_total"] >= before["dotnet_gc_pause_time_seconds_total"]);
        Assert.True(after["dotnet_gc_heap_size_bytes{generation=\"gen2\"}"] > 0);
        Assert.True(after["dotnet_thread_pool_threads"] >= 1);
        Assert.True(after["process_threads"] >= 1);
        Assert.Contains("dotnet_gc_server", after.Keys);
        if (OperatingSystem.IsLinux()) Assert.True(after["process_open_fds"] > 0);
    }
}
