using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Watchkeeper.Server.Probes;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary><c>/probe</c> (blackbox_exporter's multi-target endpoint), <c>/api/v1/probes</c>, <c>/api/v1/health</c>: answers and who may call them.</summary>
public sealed class ProbeEndpointTests
{
    private static Task<TestServer> StartAsync() => TestServer.StartAsync(editConfig: y => y.Replace("probes:\n  modules:",
        "probes:\n  endpoint:\n    allowed_targets: ['http://127\\.0\\.0\\.1:[0-9]+/-/.*']\n  modules:", StringComparison.Ordinal));

    [Fact]
    public async Task Probe_answers_like_blackbox_exporter_for_viewers_only_and_only_for_allowed_targets()
    {
        await using var s = await StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var target = new Uri(s.BaseAddress, "/-/healthy").ToString();
        var url = $"/probe?module=http_health&target={Uri.EscapeDataString(target)}";

        using var anon = s.Client();
        var a = await anon.GetAsync(url, ct);
        Assert.Equal(HttpStatusCode.Unauthorized, a.StatusCode);
        Assert.Equal("application/problem+json", a.Content.Headers.ContentType?.MediaType);

        using var viewer = await s.ClientAsAsync("viewer");
        var r = await viewer.GetAsync(url, ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/plain", r.Content.Headers.ContentType?.MediaType);
        var text = await r.Content.ReadAsStringAsync(ct);
        Assert.Contains("\nprobe_success 1\n", text, StringComparison.Ordinal);
        Assert.Contains("\nprobe_http_status_code 200\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE probe_duration_seconds gauge", text, StringComparison.Ordinal);

        // A failing probe is still a 200 with probe_success 0 (Prometheus sees up 1 and probe_success 0).
        var missing = await viewer.GetStringAsync($"/probe?module=http_2xx&target={Uri.EscapeDataString(new Uri(s.BaseAddress, "/-/demo/no-such-service/metrics").ToString())}", ct);
        Assert.Contains("\nprobe_success 0\n", missing, StringComparison.Ordinal);
        Assert.Contains("\nprobe_http_status_code 404\n", missing, StringComparison.Ordinal);

        var debug = await viewer.GetStringAsync(url + "&debug=true", ct);
        Assert.Contains("Logs for the probe:", debug, StringComparison.Ordinal);
        Assert.Contains("received HTTP response with status code 200", debug, StringComparison.Ordinal);

        var unknown = await viewer.GetAsync($"/probe?module=nope&target={Uri.EscapeDataString(target)}", ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("unknown module", await unknown.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await viewer.GetAsync("/probe?module=http_2xx", ct)).StatusCode);
        var scheme = await viewer.GetAsync("/probe?module=http_2xx&target=file:///etc/passwd", ct);
        Assert.Equal(HttpStatusCode.BadRequest, scheme.StatusCode);
        Assert.Contains("unsupported URL scheme", await scheme.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        // Anything else the server could reach is refused (SSRF): not a configured target, no allowed pattern.
        var other = await viewer.GetAsync($"/probe?module=http_2xx&target={Uri.EscapeDataString("http://127.0.0.1:9/secret")}", ct);
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("allowed_targets", await other.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_whose_probe_fails_makes_health_down_and_the_probes_api_says_why()
    {
        // Scrapes every hour: a scrape timed out on the jumping fake clock would mark its target down (this is about probes).
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("scrape_interval: 15s", "scrape_interval: 1h", StringComparison.Ordinal));
        var ct = TestContext.Current.CancellationToken;
        using var viewer = await s.ClientAsAsync("viewer");
        var before = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/health", TestServer.Json, ct);
        Assert.True(before.GetProperty("healthy").GetBoolean(), before.ToString());

        using var responder = await s.ClientAsAsync("responder");
        (await responder.PutAsJsonAsync("/api/v1/demo/api-service/faults", new { down = true }, ct)).EnsureSuccessStatusCode();
        await ProbeClock.RunAsync(s.Time, s.Get<ProbeScheduler>());

        var probes = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/probes", TestServer.Json, ct);
        var api = probes.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "api-service");
        Assert.Equal("down", api.GetProperty("state").GetString());
        Assert.Equal(503, api.GetProperty("status_code").GetInt32());
        Assert.EndsWith("/-/demo/api-service/metrics", api.GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.Equal("up", probes.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "watchkeeper-health").GetProperty("state").GetString());

        var health = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/health", TestServer.Json, ct);
        Assert.False(health.GetProperty("healthy").GetBoolean());
        Assert.Equal("down", health.GetProperty("status").GetString());
        var svc = health.GetProperty("services").EnumerateArray().Single(x => x.GetProperty("service").GetString() == "api-service");
        Assert.Equal("down", svc.GetProperty("status").GetString());
        Assert.Equal("api-service", svc.GetProperty("failing_probes")[0].GetProperty("name").GetString());
        Assert.Equal("ok", health.GetProperty("services").EnumerateArray().Single(x => x.GetProperty("service").GetString() == "watchkeeper").GetProperty("status").GetString());

        var one = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/health?service=web-interface", TestServer.Json, ct);
        Assert.Single(one.GetProperty("services").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await viewer.GetAsync("/api/v1/health?service=nobody", ct)).StatusCode);
    }
}
