using System.Net.Http.Json;
using System.Text.Json;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Metrics.Configuration;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// Debian's amtool (0.25) and Prometheus (2.42) against Watchkeeper's Alertmanager API v2 under /alertmanager, on
/// loopback: alert add/query, silence add/query/expire, check-config on the same files Watchkeeper loads, and a real
/// Prometheus delivering its alerts through <c>alerting: alertmanagers:</c>.
/// </summary>
public sealed class AlertmanagerInteropTests
{
    private const string AmSections = "route:\n  receiver: team\n  group_by: [alertname]\nreceivers:\n  - name: team\n";

    private static string Amtool => Peers.Require(Peers.Which("amtool"), "amtool (Debian package prometheus-alertmanager)");

    private static async Task<(WatchkeeperHost Wk, string[] Base)> StartAsync(string role)
    {
        var wk = await WatchkeeperHost.StartAsync(_ => "global:\n  scrape_interval: 1s\n" + AmSections);
        var token = await wk.TokenAsync(role);
        var http = Path.Combine(Path.GetTempPath(), $"wk-amtool-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(http, $"authorization:\n  credentials: '{token}'\n");
        return (wk, ["--alertmanager.url=" + new Uri(wk.BaseAddress, "/alertmanager"), "--http.config.file=" + http]);
    }

    private static async Task<string> Run(string[] baseArgs, params string[] args)
    {
        var (code, stdout, stderr) = await PeerProcess.RunAsync(Amtool, [.. args, .. baseArgs], TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"amtool {string.Join(' ', args)} exited {code}: {stderr}{stdout}");
        return stdout;
    }

    [Fact]
    public async Task Amtool_adds_and_queries_alerts_and_adds_queries_and_expires_silences()
    {
        var amtool = Amtool;
        var (wk, b) = await StartAsync("responder");
        await using (wk)
        {
            await Run(b, "alert", "add", "alertname=InteropDown", "severity=critical", "service=api", "--annotation=summary=api is down");
            await Run(b, "alert", "add", "alertname=InteropSlow", "severity=warning", "service=api");
            var alerts = JsonDocument.Parse(await Run(b, "alert", "query", "-o", "json", "alertname=~Interop.*")).RootElement;
            Assert.Equal(["InteropDown", "InteropSlow"], alerts.EnumerateArray().Select(a => a.GetProperty("labels").GetProperty("alertname").GetString()).Order());
            Assert.Equal("api is down", alerts.EnumerateArray().Single(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "InteropDown")
                .GetProperty("annotations").GetProperty("summary").GetString());

            var id = (await Run(b, "silence", "add", "alertname=InteropSlow", "--comment=deploy", "--author=interop", "--duration=1h")).Trim();
            Assert.Matches("^[0-9a-f-]{36}$", id);
            var silences = JsonDocument.Parse(await Run(b, "silence", "query", "-o", "json")).RootElement;
            var s = Assert.Single(silences.EnumerateArray());
            Assert.Equal(id, s.GetProperty("id").GetString());
            Assert.Equal("interop", s.GetProperty("createdBy").GetString());
            Assert.Equal("active", s.GetProperty("status").GetProperty("state").GetString());
            // The silenced alert is suppressed; amtool's default query shows only unsilenced alerts... as Alertmanager does.
            var active = JsonDocument.Parse(await Run(b, "alert", "query", "-o", "json")).RootElement;
            Assert.Equal(["InteropDown"], active.EnumerateArray().Select(a => a.GetProperty("labels").GetProperty("alertname").GetString()));
            var all = JsonDocument.Parse(await Run(b, "alert", "query", "-s", "-o", "json")).RootElement;
            Assert.Contains(all.EnumerateArray(), a => a.GetProperty("status").GetProperty("silencedBy").EnumerateArray().Any(x => x.GetString() == id));

            await Run(b, "silence", "expire", id);
            Assert.Empty(JsonDocument.Parse(await Run(b, "silence", "query", "-o", "json")).RootElement.EnumerateArray());
            var expired = JsonDocument.Parse(await Run(b, "silence", "query", "--expired", "-o", "json")).RootElement;
            Assert.Equal("expired", Assert.Single(expired.EnumerateArray()).GetProperty("status").GetProperty("state").GetString());
        }
    }

    [Fact]
    public async Task Amtool_as_a_viewer_is_refused_writes()
    {
        var (wk, b) = await StartAsync("viewer");
        await using (wk)
        {
            var (code, stdout, stderr) = await PeerProcess.RunAsync(Amtool, ["silence", "add", "alertname=X", "--comment=c", "--author=a", .. b], TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, code);
            // amtool 0.25 has no consumer for problem+json, so it prints "no consumer: application/problem+json" rather
            // than the 403's detail (see docs/alertmanager.md); what matters is that nothing was written.
            Assert.Contains("amtool: error:", stdout + stderr, StringComparison.Ordinal);
            Assert.Empty(JsonDocument.Parse(await Run(b, "silence", "query", "-o", "json")).RootElement.EnumerateArray());
        }
    }

    /// <summary>Files amtool check-config and Watchkeeper's loader must agree on (both accept or both refuse).</summary>
    public static readonly TheoryData<string, bool> Files = new()
    {
        { "route:\n  receiver: a\n  group_by: ['...']\n  routes:\n    - matchers: ['severity=~\"critical|warning\"']\n      receiver: b\n      continue: true\n      mute_time_intervals: [night]\n    - match: {team: db}\n      match_re: {service: 'db-.*'}\nreceivers:\n  - name: a\n    webhook_configs: [{url: 'http://127.0.0.1:9/x', send_resolved: false}]\n  - name: b\n    slack_configs: [{api_url: 'https://hooks.slack.com/services/T/B/X', channel: '#ops'}]\n    pagerduty_configs: [{routing_key: k}]\n    email_configs: [{to: a@example.org, from: wk@example.org, smarthost: 'smtp.example.org:587'}]\ninhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n    equal: [service]\ntime_intervals:\n  - name: night\n    time_intervals: [{times: [{start_time: '22:00', end_time: '24:00'}], weekdays: ['monday:friday'], location: Europe/London}]\n", true },
        { "route: {receiver: nope}\nreceivers: [{name: a}]\n", false },
        { "route: {receiver: a, group_by: ['...', x]}\nreceivers: [{name: a}]\n", false },
        { "route: {receiver: a, routes: [{matchers: ['a=~\"(\"']}]}\nreceivers: [{name: a}]\n", false },
        { "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: x@example.org}]}]\n", false },
        { "route: {receiver: a, routes: [{mute_time_intervals: [x]}]}\nreceivers: [{name: a}]\n", false },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Check_config_agrees_with_amtool(string yaml, bool valid)
    {
        var amtool = Amtool;
        var file = Path.Combine(Path.GetTempPath(), $"wk-amcheck-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, yaml);
        try
        {
            var (code, stdout, stderr) = await PeerProcess.RunAsync(amtool, ["check-config", file], TimeSpan.FromSeconds(20));
            Assert.True((code == 0) == valid, $"amtool check-config exited {code}: {stdout}{stderr}");
            var ours = Record.Exception(() => AlertmanagerConfigLoader.LoadFile(file));
            if (valid) Assert.Null(ours);
            else Assert.IsType<ConfigException>(ours);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Every Alertmanager configuration file shipped in config/openpolicy passes amtool check-config and Watchkeeper's loader.</summary>
    [Fact]
    public async Task Shipped_route_files_pass_amtool_check_config()
    {
        var amtool = Amtool;
        var dir = Path.Combine(Peers.RepoRoot, "config", "openpolicy");
        var files = Directory.GetFiles(dir, "*.yml", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "watchkeeper.yml" && File.ReadAllLines(f).Any(l => l.StartsWith("route:", StringComparison.Ordinal))).ToList();
        foreach (var f in files)
        {
            var (code, stdout, stderr) = await PeerProcess.RunAsync(amtool, ["check-config", f], TimeSpan.FromSeconds(20));
            Assert.True(code == 0, $"amtool check-config {f}: {stdout}{stderr}");
            AlertmanagerConfigLoader.LoadFile(f);
        }
    }

    [Fact]
    public async Task Prometheus_2_42_delivers_its_alerts_with_a_bearer_token()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var (wk, _) = await StartAsync("viewer");
        await using (wk)
        {
            var token = await wk.TokenAsync("responder");
            var rules = Path.Combine(Path.GetTempPath(), $"wk-interop-rules-{Guid.NewGuid():N}.yml");
            await File.WriteAllTextAsync(rules, "groups:\n  - name: interop\n    interval: 1s\n    rules:\n      - alert: InteropAlways\n        expr: vector(1)\n        labels: {severity: warning}\n        annotations: {summary: 'always {{ $value }}'}\n");
            try
            {
                var cfg = $"global:\n  evaluation_interval: 1s\nrule_files: ['{rules}']\nalerting:\n  alertmanagers:\n    - path_prefix: /alertmanager\n      authorization: {{credentials: '{token}'}}\n      static_configs: [{{targets: ['127.0.0.1:{wk.Port}']}}]\n";
                // Prometheus 2.42 sends a new alert only once the resend delay (1m by default) has passed since start: 1s here.
                await using var prom = await PrometheusPeer.StartAsync(promBin, cfg, "--rules.alert.resend-delay=1s");
                using var c = wk.Client(await wk.TokenAsync("viewer"));
                JsonElement alert = default;
                var ok = await Peers.PollAsync(async () =>
                {
                    var list = await c.GetFromJsonAsync<JsonElement>("/alertmanager/api/v2/alerts?filter=alertname%3DInteropAlways");
                    if (list.GetArrayLength() == 0) return false;
                    alert = list[0];
                    return true;
                }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
                Assert.True(ok, "Prometheus's alert did not arrive: " + prom.Output);
                Assert.Equal("warning", alert.GetProperty("labels").GetProperty("severity").GetString());
                Assert.Equal("always 1", alert.GetProperty("annotations").GetProperty("summary").GetString());
                Assert.Equal("team", alert.GetProperty("receivers")[0].GetProperty("name").GetString());
                Assert.StartsWith($"http://", alert.GetProperty("generatorURL").GetString(), StringComparison.Ordinal);
            }
            finally
            {
                File.Delete(rules);
            }
        }
    }
}
