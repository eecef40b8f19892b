using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Prometheus's status pages and endpoints: runtime and build information, flags, TSDB cardinality, service
/// discovery, and the loaded configuration with every secret masked (also in Alertmanager's status).
/// </summary>
public sealed class ServerStatusTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string SlackUrl = "https://hooks.slack.com/services/T000/B000/SLACKSECRET";
    private const string ScrapePassword = "SCRAPESECRET";

    private static string WithSecrets(string yaml) => yaml
        .Replace("alertmanager_config_file: alertmanager.yml", $$"""
            route: {receiver: team}
            receivers:
              - name: team
                slack_configs: [{api_url: "{{SlackUrl}}", channel: "#ops"}]
                webhook_configs: [{url: "http://hook:WEBHOOKSECRET@127.0.0.1:9/x"}]
                email_configs: [{to: ops@example.com, from: wk@example.com, smarthost: "127.0.0.1:25", auth_username: ops, auth_password: SMTPSECRET, require_tls: false}]
            """, StringComparison.Ordinal)
        .Replace("scrape_configs: []", $$"""
            scrape_configs:
              - job_name: secured
                basic_auth: {username: scraper, password: {{ScrapePassword}}}
                static_configs: [{targets: ["127.0.0.1:9"]}]
                relabel_configs:
                  - {source_labels: [__address__], regex: "127.0.0.1:9", target_label: zone, replacement: lab}
              - job_name: filtered
                static_configs: [{targets: ["127.0.0.1:8", "127.0.0.1:7"]}]
                relabel_configs:
                  - {source_labels: [__address__], regex: "127.0.0.1:7", action: drop}
            """, StringComparison.Ordinal);

    [Fact]
    public void Redactor_masks_secrets_keeps_paths_and_masks_passwords_inside_urls()
    {
        var yaml = SecretRedactor.RedactYaml("""
            auth_password: p1
            bearer_token: t1
            bearer_token_file: /etc/token
            routing_key: r1
            connection_string: Host=db;Password=x
            receivers:
              - name: a
                webhook_configs: [{url: "http://h/x"}]
            remote_write:
              - url: https://user:pw@example.com/write
            external_url: https://ops.example.com/
            """);
        foreach (var secret in new[] { "p1", "t1", "r1", "Password=x", "http://h/x", ":pw@" })
            Assert.DoesNotContain(secret, yaml, StringComparison.Ordinal);
        Assert.Contains("/etc/token", yaml, StringComparison.Ordinal);
        Assert.Contains("https://user:<secret>@example.com/write", yaml, StringComparison.Ordinal);
        Assert.Contains("https://ops.example.com/", yaml, StringComparison.Ordinal);
        Assert.Equal(5 + 1, yaml.Split(SecretRedactor.Mask).Length - 1);
    }

    [Fact]
    public async Task Status_api_answers_as_prometheus_and_config_is_for_admins_with_secrets_masked()
    {
        await using var s = await TestServer.StartAsync(editConfig: WithSecrets);
        var runtime = s.Services.GetRequiredService<MetricsRuntime>();
        var now = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var app = runtime.Store.Appender();
        for (var i = 0; i < 30; i++) app.Append(Labels.Of("__name__", "wk_status_big", "pod", "p" + i), now - 1000, i);
        app.Append(Labels.Of("__name__", "wk_status_small", "pod", "p0"), now - 1000, 1);
        app.Append(Labels.Of("__name__", "wk_status_third", "pod", "p0"), now - 1000, 1);
        app.Commit();
        using var viewer = s.Client(await s.UserTokenAsync("viewer"));

        using var tsdb = JsonDocument.Parse(await viewer.GetStringAsync("/prometheus/api/v1/status/tsdb?limit=3", Ct));
        var data = tsdb.RootElement.GetProperty("data");
        Assert.True(data.GetProperty("headStats").GetProperty("numSeries").GetInt64() >= 31);
        var byMetric = data.GetProperty("seriesCountByMetricName").EnumerateArray().ToList();
        Assert.Equal(3, byMetric.Count);
        Assert.Equal("wk_status_big", byMetric[0].GetProperty("name").GetString());
        Assert.Equal(30, byMetric[0].GetProperty("value").GetInt64());
        var pods = data.GetProperty("labelValueCountByLabelName").EnumerateArray().First(e => e.GetProperty("name").GetString() == "pod");
        Assert.Equal(30, pods.GetProperty("value").GetInt64());
        Assert.Contains(data.GetProperty("seriesCountByLabelValuePair").EnumerateArray(), e => e.GetProperty("name").GetString() == "__name__=wk_status_big");
        Assert.InRange(data.GetProperty("memoryInBytesByLabelName").GetArrayLength(), 2, 3);
        using var all = JsonDocument.Parse(await viewer.GetStringAsync("/prometheus/api/v1/status/tsdb?limit=100", Ct));
        // "p0".."p9" (2 bytes, 10 series) + "p10".."p29" (3 bytes, 20 series) + "p0" of the two small metrics.
        Assert.Equal(10 * 2 + 20 * 3 + 2 + 2, all.RootElement.GetProperty("data").GetProperty("memoryInBytesByLabelName").EnumerateArray()
            .First(e => e.GetProperty("name").GetString() == "pod").GetProperty("value").GetInt64());

        using var bad = await viewer.GetAsync("/prometheus/api/v1/status/tsdb?limit=0", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("limit", await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var info = JsonDocument.Parse(await viewer.GetStringAsync("/prometheus/api/v1/status/runtimeinfo", Ct));
        Assert.True(info.RootElement.GetProperty("data").GetProperty("reloadConfigSuccess").GetBoolean());
        Assert.Equal("2w1d", info.RootElement.GetProperty("data").GetProperty("storageRetention").GetString());
        using var flags = JsonDocument.Parse(await viewer.GetStringAsync("/prometheus/api/v1/status/flags", Ct));
        Assert.True(flags.RootElement.GetProperty("data").TryGetProperty("listen", out _));

        using var forbidden = await viewer.GetAsync("/prometheus/api/v1/status/config", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var cfg = JsonDocument.Parse(await admin.GetStringAsync("/prometheus/api/v1/status/config", Ct));
        var shown = cfg.RootElement.GetProperty("data").GetProperty("yaml").GetString()!;
        Assert.Contains("job_name: secured", shown, StringComparison.Ordinal);
        var page = await admin.GetStringAsync("/config", Ct);
        var amStatus = await admin.GetStringAsync("/alertmanager/api/v2/status", Ct);
        foreach (var text in new[] { shown, page, amStatus })
        {
            foreach (var secret in new[] { "SLACKSECRET", ScrapePassword, "WEBHOOKSECRET", "SMTPSECRET" })
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
        Assert.Contains("&lt;secret&gt;", page, StringComparison.Ordinal);
        using var am = JsonDocument.Parse(amStatus);
        Assert.Contains("<secret>", am.RootElement.GetProperty("config").GetProperty("original").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_pages_render_for_viewers_and_config_page_only_for_admins()
    {
        await using var s = await TestServer.StartAsync(editConfig: WithSecrets);
        using var viewer = s.Client(await s.UserTokenAsync("viewer"));
        var runtimePage = await viewer.GetStringAsync("/runtime", Ct);
        Assert.Contains("Runtime information", runtimePage, StringComparison.Ordinal);
        Assert.Contains("--listen", runtimePage, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/config\"", runtimePage, StringComparison.Ordinal);
        var tsdbPage = await viewer.GetStringAsync("/tsdb-status", Ct);
        Assert.Contains("Top metric names by series", tsdbPage, StringComparison.Ordinal);
        using var badLimit = await viewer.GetAsync("/tsdb-status?limit=abc", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);

        // Service discovery: labels before relabeling next to the target's labels, and what relabeling dropped.
        string sd = "";
        for (var i = 0; i < 200 && !sd.Contains("data-state=\"dropped\"", StringComparison.Ordinal); i++)
        {
            sd = await viewer.GetStringAsync("/service-discovery", Ct);
            if (!sd.Contains("data-state=\"dropped\"", StringComparison.Ordinal)) await Task.Delay(50, Ct);
        }
        Assert.Contains("data-job=\"secured\"", sd, StringComparison.Ordinal);
        Assert.Contains("<b>zone</b>=&quot;lab&quot;", sd, StringComparison.Ordinal);
        Assert.Contains("<b>__address__</b>=&quot;127.0.0.1:7&quot;", sd, StringComparison.Ordinal);
        Assert.Contains("data-state=\"dropped\"", sd, StringComparison.Ordinal);

        using var forbidden = await viewer.GetAsync("/config", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        Assert.Contains("href=\"/config\"", await admin.GetStringAsync("/runtime", Ct), StringComparison.Ordinal);
    }
}
