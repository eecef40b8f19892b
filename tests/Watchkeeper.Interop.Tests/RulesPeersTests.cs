using System.Net.Http.Json;
using System.Text.Json;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// Rules against real peers on loopback: Debian's VictoriaMetrics as the <c>query_source</c> (recording rule results
/// written back by remote write and read back by the next rule), and Debian's Alertmanager 0.25 receiving the alerts
/// through <c>alerting: alertmanagers:</c>.
/// </summary>
public sealed class RulesPeersTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Rules_read_from_VictoriaMetrics_and_write_recording_results_back_by_remote_write()
    {
        var vmBin = Peers.Require(Peers.Which("victoria-metrics"), "victoria-metrics (Debian package victoria-metrics)");
        var dir = Directory.CreateTempSubdirectory("wk-interop-vm-").FullName;
        var port = Peers.FreePort();
        await using var vm = PeerProcess.Start("victoria-metrics", vmBin,
            [$"-storageDataPath={dir}", $"-httpListenAddr=127.0.0.1:{port}", "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=ERROR"], dir);
        var vmUrl = new Uri($"http://127.0.0.1:{port}");
        await vm.WaitReadyAsync(new Uri(vmUrl, "/health"), TimeSpan.FromSeconds(30));
        var (_, data) = PromtoolTests.KnownData();
        await PromtoolTests.WriteAsync(new Uri(vmUrl, "/api/v1/write"), null, data);

        var rules = """
            groups:
              - name: vm
                rules:
                  - record: vm:interop_requests:count
                    expr: count(last_over_time(interop_requests_total[10m]))
                  - alert: FromVictoriaMetrics
                    expr: vm:interop_requests:count == 2
                    annotations:
                      summary: "{{ $value }} series"
            """;
        await using var wk = await WatchkeeperHost.StartAsync(_ => $"global:\n  evaluation_interval: 1s\nquery_source:\n  url: {vmUrl}\n",
            new Dictionary<string, string> { ["vm.yml"] = rules });
        using var http = new HttpClient { BaseAddress = vmUrl, Timeout = TimeSpan.FromSeconds(10) };
        var written = await Peers.PollAsync(async () =>
        {
            var doc = await http.GetFromJsonAsync<JsonElement>("/api/v1/query?query=" + Uri.EscapeDataString("vm:interop_requests:count"));
            return doc.GetProperty("data").GetProperty("result").GetArrayLength() == 1;
        }, Bound, TimeSpan.FromMilliseconds(500));
        Assert.True(written, "the recording rule's result never reached VictoriaMetrics: " + Peers.LastPollError + "\n" + vm.Output);

        using var c = wk.Client(await wk.TokenAsync("viewer"));
        var firing = await Peers.PollAsync(async () =>
        {
            var doc = await c.GetFromJsonAsync<JsonElement>("/prometheus/api/v1/alerts");
            return doc.GetProperty("data").GetProperty("alerts").EnumerateArray()
                .Any(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "FromVictoriaMetrics" && a.GetProperty("state").GetString() == "firing"
                          && a.GetProperty("annotations").GetProperty("summary").GetString() == "2 series");
        }, Bound, TimeSpan.FromMilliseconds(500));
        Assert.True(firing, "the alert reading the written-back series from VictoriaMetrics never fired");
    }

    [Fact]
    public async Task Alerts_reach_a_real_Alertmanager_through_its_API_v2()
    {
        var amBin = Peers.Require(Peers.Which("prometheus-alertmanager"), "prometheus-alertmanager (Debian package prometheus-alertmanager)");
        var dir = Directory.CreateTempSubdirectory("wk-interop-am-").FullName;
        var config = Path.Combine(dir, "alertmanager.yml");
        await File.WriteAllTextAsync(config, "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n");
        var port = Peers.FreePort();
        await using var am = PeerProcess.Start("alertmanager", amBin,
            [$"--config.file={config}", $"--storage.path={dir}", $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"], dir);
        var amUrl = new Uri($"http://127.0.0.1:{port}");
        await am.WaitReadyAsync(new Uri(amUrl, "/-/ready"), TimeSpan.FromSeconds(30));

        var rules = """
            groups:
              - name: am
                rules:
                  - alert: SentToAlertmanager
                    expr: vector(42)
                    labels:
                      severity: warning
                    annotations:
                      summary: "value {{ $value }}"
            """;
        await using var wk = await WatchkeeperHost.StartAsync(
            _ => $"global:\n  evaluation_interval: 1s\n  external_labels:\n    site: interop\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{port}\"]\n",
            new Dictionary<string, string> { ["am.yml"] = rules });
        using var http = new HttpClient { BaseAddress = amUrl, Timeout = TimeSpan.FromSeconds(10) };
        JsonElement alert = default;
        var received = await Peers.PollAsync(async () =>
        {
            var doc = await http.GetFromJsonAsync<JsonElement>("/api/v2/alerts?filter=" + Uri.EscapeDataString("alertname=\"SentToAlertmanager\""));
            if (doc.GetArrayLength() == 0) return false;
            alert = doc[0].Clone();
            return true;
        }, Bound, TimeSpan.FromMilliseconds(500));
        Assert.True(received, "Alertmanager never received the alert: " + Peers.LastPollError + "\n" + am.Output);
        Assert.Equal("value 42", alert.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Equal("interop", alert.GetProperty("labels").GetProperty("site").GetString());
        Assert.Equal("warning", alert.GetProperty("labels").GetProperty("severity").GetString());
        Assert.Equal("active", alert.GetProperty("status").GetProperty("state").GetString());
        Assert.Contains("/graph?g0.expr=vector%2842%29&g0.tab=1", alert.GetProperty("generatorURL").GetString(), StringComparison.Ordinal);
        var endsAt = alert.GetProperty("endsAt").GetDateTimeOffset();
        Assert.True(endsAt > DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2), $"endsAt {endsAt:O} is not about 4 resend delays ahead");
    }
}
