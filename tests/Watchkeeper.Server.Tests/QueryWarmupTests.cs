using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

public sealed class QueryWarmupTests
{
    private static void Seed(TestServer s)
    {
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
    }

    [Fact]
    public async Task A_warm_up_round_runs_every_expression_as_instant_and_range_query_in_process()
    {
        await using var s = await TestServer.StartAsync();
        Seed(s);
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var n = await QueryWarmup.RunRoundAsync(runtime, s.Time, s.Time.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None);
        Assert.Equal(QueryWarmup.Expressions.Length * 2, n);
    }

    [Fact]
    public async Task The_in_process_handler_answers_as_the_http_api_does()
    {
        await using var s = await TestServer.StartAsync();
        Seed(s);
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = (s.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);

        async Task<(int Status, string Body)> InProcess(bool range, string query)
        {
            var ctx = new DefaultHttpContext();
            ctx.Request.QueryString = new QueryString(query);
            using var body = new MemoryStream();
            ctx.Response.Body = body;
            await PrometheusApi.HandleQueryAsync(ctx, runtime, s.Time, range);
            return (ctx.Response.StatusCode, System.Text.Encoding.UTF8.GetString(body.ToArray()));
        }

        using var api = s.Client(await s.UserTokenAsync(Roles.Viewer));
        foreach (var (range, query) in new[]
                 {
                     (false, $"?query=up%20%3D%3D%200&time={now}"),
                     (true, $"?query=up%20%3D%3D%200&start={now}&end={now}&step=15"),
                     (false, "?query=up%20%3D%3D"), // a parse error is the API's 400 with Prometheus' error body
                 })
        {
            var (status, inProcess) = await InProcess(range, query);
            using var resp = await api.GetAsync(new Uri((range ? "/prometheus/api/v1/query_range" : "/prometheus/api/v1/query") + query, UriKind.Relative));
            Assert.Equal((int)resp.StatusCode, status);
            Assert.Equal(await resp.Content.ReadAsStringAsync(), inProcess);
        }
        var (_, down) = await InProcess(false, $"?query=up%20%3D%3D%200&time={now}");
        Assert.Contains("\"instance\":\"b:1\"", down, StringComparison.Ordinal);
        Assert.DoesNotContain("\"instance\":\"a:1\"", down, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_round_that_gets_an_error_answer_throws()
    {
        await using var s = await TestServer.StartAsync();
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            QueryWarmup.RunRoundAsync(runtime, s.Time, s.Time.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None, ["up", "up =="]));
        Assert.StartsWith("400 from /prometheus/api/v1/query: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bad_data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_are_warmed_anonymously_on_the_health_endpoint()
    {
        await using var s = await TestServer.StartAsync();
        using var client = new HttpClient();
        Assert.Equal(3, await QueryWarmup.PingAsync(client, s.BaseAddress, 3, CancellationToken.None));
        // The query API itself stays closed to anonymous callers: the warm-up holds no credentials.
        using var anonymous = s.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_connection_that_fails_is_not_counted_and_does_not_stop_the_warm_up()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now: connection refused
        using var client = new HttpClient();
        Assert.Equal(0, await QueryWarmup.PingAsync(client, new Uri($"http://127.0.0.1:{port}/"), 2, CancellationToken.None));
    }

    [Fact]
    public void Serve_flags_turn_the_warm_up_and_the_memory_compaction_off()
    {
        var d = ServeOptions.Parse(["serve"]);
        Assert.True(d.QueryWarmup);
        Assert.True(d.MemoryCompaction);
        var o = ServeOptions.Parse(["serve", "--query-warmup=false", "--memory-compaction", "false"]);
        Assert.False(o.QueryWarmup);
        Assert.False(o.MemoryCompaction);
        Assert.True(ServeOptions.Parse(["--query-warmup", "true"]).QueryWarmup);
        var bad = Assert.Throws<ArgumentException>(() => ServeOptions.Parse(["serve", "--query-warmup=no"]));
        Assert.Contains("--query-warmup 'no' is not true or false", bad.Message, StringComparison.Ordinal);
    }
}
