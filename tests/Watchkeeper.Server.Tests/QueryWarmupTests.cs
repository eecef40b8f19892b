using System.Net;
using System.Net.Http.Headers;
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
    public async Task A_warm_up_round_sends_every_expression_as_instant_and_range_query_through_the_http_api()
    {
        await using var s = await TestServer.StartAsync();
        Seed(s);
        var users = s.Services.GetRequiredService<Users>();
        var token = users.IssueInternalToken(TimeSpan.FromMinutes(2));
        using var client = new HttpClient();
        var n = await QueryWarmup.RunRoundAsync(client, s.BaseAddress, token, s.Time.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None);
        Assert.Equal(QueryWarmup.Expressions.Length * 2, n);

        // The internal token is a viewer on the query API: up == 0 finds the down target.
        using var api = s.Client(token);
        var json = await api.GetStringAsync(new Uri("/prometheus/api/v1/query?query=up%20%3D%3D%200", UriKind.Relative));
        Assert.Contains("\"instance\":\"b:1\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"instance\":\"a:1\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_internal_token_is_read_only_expires_and_is_revoked()
    {
        await using var s = await TestServer.StartAsync();
        var users = s.Services.GetRequiredService<Users>();
        var token = users.IssueInternalToken(TimeSpan.FromMinutes(2));
        using var api = s.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);
        // Viewer only: creating an incident is refused.
        using var create = await api.PostAsync(new Uri("/api/v1/incidents", UriKind.Relative),
            new StringContent("{\"title\":\"x\",\"severity\":\"SEV3\"}", new MediaTypeHeaderValue("application/json")));
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);

        s.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);

        // Each caller revokes its own token; another one (the server's own warm-up may hold one) keeps working.
        var second = users.IssueInternalToken(TimeSpan.FromMinutes(2));
        var third = users.IssueInternalToken(TimeSpan.FromMinutes(2));
        using var api2 = s.Client(second);
        using var api3 = s.Client(third);
        Assert.Equal(HttpStatusCode.OK, (await api2.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);
        users.RevokeInternalToken(second);
        Assert.Equal(HttpStatusCode.Unauthorized, (await api2.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api3.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);
        // The expired first secret stays invalid.
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync(new Uri("/prometheus/api/v1/query?query=1", UriKind.Relative))).StatusCode);
    }
}
