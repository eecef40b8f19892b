using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;

namespace Watchkeeper.Server.Tests;

public sealed class QueryWarmupTests
{
    [Fact]
    public async Task A_warm_up_round_evaluates_every_expression_as_instant_and_range_and_writes_the_api_json()
    {
        await using var s = await TestServer.StartAsync();
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var app = runtime.Store.Appender();
        for (var t = now - 300_000; t <= now; t += 15_000)
        {
            app.Append(Labels.Of("__name__", "up", "instance", "a:1", "job", "api"), t, 1);
            app.Append(Labels.Of("__name__", "up", "instance", "b:1", "job", "api"), t, 0);
            app.Append(Labels.Of("__name__", "scrape_samples_scraped", "instance", "a:1", "job", "api"), t, t / 1000.0);
        }
        app.Commit();
        using var sink = new MemoryStream();
        var n = QueryWarmup.RunRound(runtime, now, sink);
        Assert.Equal(QueryWarmup.Expressions.Length * 2, n);
        var json = Encoding.UTF8.GetString(sink.ToArray());
        Assert.Contains("\"resultType\":\"vector\"", json, StringComparison.Ordinal);
        Assert.Contains("\"resultType\":\"matrix\"", json, StringComparison.Ordinal);
        Assert.Contains("\"instance\":\"b:1\"", json, StringComparison.Ordinal); // up == 0 found the down target
    }
}
