using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.RemoteWrite;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// Known differences from Prometheus 2.42, pinned with the same remote-written data in both. Watchkeeper's PromQL engine
/// follows Prometheus 3 semantics where 3 changed them (its conformance suite is Prometheus 3's). Each test asserts what
/// both servers really answer; if the engine gains a 2.42 compatibility mode, these are where to flip the expectations.
/// </summary>
public sealed class KnownGapsTests
{
    private static Task<(WatchkeeperHost Wk, PrometheusPeer Prom, PromClient W, PromClient P)> StartAsync(string promBin, List<TimeSeriesData> data) =>
        PromtoolTests.StartPairAsync(promBin, data);

    /// <summary>
    /// 2.42 range selectors are closed at the left ([t - range, t]); Prometheus 3 and Watchkeeper are left-open
    /// ((t - range, t]). A sample exactly on t - range counts in 2.42 only. Scraped data rarely lies there (scrape
    /// timestamps carry a per-target offset); grid-aligned data (backfills, rules evaluated on the sample grid) does.
    /// </summary>
    [Fact]
    public async Task Range_selector_left_boundary_is_open_unlike_prometheus_2_42()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var (b, data) = PromtoolTests.KnownData();
        var (wk, prom, w, p) = await StartAsync(promBin, data);
        await using (wk)
        await using (prom)
        using (w)
        using (p)
        {
            const string count = """count_over_time(interop_requests_total{instance="a"}[5m])""";
            Assert.Equal(21, (await p.InstantAsync(count, b + 600)).Series.Single().Points[0].V); // b+300 .. b+600
            Assert.Equal(20, (await w.InstantAsync(count, b + 600)).Series.Single().Points[0].V); // b+315 .. b+600
            // Off the grid both see the same samples and agree exactly.
            Assert.Empty(ResultComparer.Diff(await p.InstantAsync(count, b + 600.5), await w.InstantAsync(count, b + 600.5), 0));
            const string rate = "rate(interop_requests_total[5m])";
            Assert.Empty(ResultComparer.Diff(await p.InstantAsync(rate, b + 600.5), await w.InstantAsync(rate, b + 600.5), 0));
        }
    }

    /// <summary>
    /// A counter that starts inside the window at a small value: 2.42 first limits the extrapolation towards the window
    /// start by the counter's zero point and then applies the 1.1-interval threshold to that; Prometheus 3 and Watchkeeper
    /// apply the threshold first (extrapolating by half an interval) and then the zero point. Here, samples every 15 s from
    /// b+240 (value 1, 2, ...): increase over (b+187.5, b+307.5] is 4 over 60 s sampled; the zero point is 15 s before the
    /// first sample, within the threshold (16.5 s), so 2.42 extrapolates by 15 s + 7.5 s (5.5) and Watchkeeper by 7.5 s + 7.5 s (5).
    /// </summary>
    [Fact]
    public async Task Rate_extrapolation_of_a_new_counter_follows_prometheus_3()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var b = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 - 600;
        List<TimeSeriesData> data =
        [
            new(Labels.Of("__name__", "interop_new_total", "job", "gaps"),
                [.. Enumerable.Range(0, 20).Select(i => new Sample((b + 240 + i * 15) * 1000, 1 + i))]),
        ];
        var (wk, prom, w, p) = await StartAsync(promBin, data);
        await using (wk)
        await using (prom)
        using (w)
        using (p)
        {
            const string increase = "increase(interop_new_total[2m])";
            Assert.Equal(5.5, (await p.InstantAsync(increase, b + 307.5)).Series.Single().Points[0].V, 9);
            Assert.Equal(5, (await w.InstantAsync(increase, b + 307.5)).Series.Single().Points[0].V, 9);
            // Once the counter's first sample is out of the window, both agree exactly.
            Assert.Empty(ResultComparer.Diff(await p.InstantAsync(increase, b + 457.5), await w.InstantAsync(increase, b + 457.5), 0));
        }
    }

    /// <summary>
    /// <c>limit</c> on the query and metadata endpoints came after 2.42 (Prometheus 3 has it): 2.42 ignores it and answers
    /// every series; Watchkeeper keeps the first N and warns "results truncated due to limit", as Prometheus 3 does.
    /// </summary>
    [Fact]
    public async Task Limit_parameter_truncates_unlike_prometheus_2_42()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var (b, data) = PromtoolTests.KnownData();
        var (wk, prom, w, p) = await StartAsync(promBin, data);
        await using (wk)
        await using (prom)
        using (w)
        using (p)
        {
            (string, string)[] query = [("query", "interop_requests_total"), ("time", PromClient.Time(b + 600)), ("limit", "1")];
            var all = (await p.GetJsonAsync("api/v1/query", query)).GetProperty("result").GetArrayLength();
            Assert.True(all > 1);
            Assert.Equal(1, (await w.GetJsonAsync("api/v1/query", query)).GetProperty("result").GetArrayLength());
            (string, string)[] series = [("match[]", "interop_requests_total"), ("limit", "1")];
            Assert.Equal(all, (await p.GetJsonAsync("api/v1/series", series)).GetArrayLength());
            Assert.Equal(1, (await w.GetJsonAsync("api/v1/series", series)).GetArrayLength());
        }
    }

    /// <summary>
    /// Rule unit tests inherit the range-selector difference: <c>rate(x[1m])</c> over a series sampled every minute
    /// has two samples in promtool 2.42's window and one in Watchkeeper's (Prometheus 3), so promtool passes a test
    /// that <c>wk rules test</c> fails. Pinned with tests/Watchkeeper.Interop.Tests/rules/gaps/test_rate_window.yml.
    /// </summary>
    [Fact]
    public void Rule_unit_tests_with_a_window_equal_to_the_interval_differ_from_promtool_2_42()
    {
        var promtool = Peers.Require(Peers.Promtool, "promtool (Debian package prometheus)");
        var file = Path.Combine(Peers.RepoRoot, "tests", "Watchkeeper.Interop.Tests", "rules", "gaps", "test_rate_window.yml");
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(promtool, ["test", "rules", file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        p.WaitForExit(60_000);
        Assert.Equal(0, p.ExitCode);
        var ours = Watchkeeper.Metrics.Rules.RuleUnitTester.Run(file);
        Assert.Contains("got: nil", Assert.Single(ours.Errors), StringComparison.Ordinal);
    }

    /// <summary>Group <c>labels</c> and <c>query_offset</c> (Prometheus 3) load here; promtool 2.42 rejects them as unknown fields.</summary>
    [Fact]
    public void Prometheus_3_group_keys_load_here_and_are_unknown_to_promtool_2_42()
    {
        var promtool = Peers.Require(Peers.Promtool, "promtool (Debian package prometheus)");
        var file = Path.Combine(Peers.RepoRoot, "tests", "Watchkeeper.Interop.Tests", "rules", "gaps", "prometheus3_keys.yml");
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(promtool, ["check", "rules", file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit(60_000);
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("field query_offset not found in type rulefmt.RuleGroup", err, StringComparison.Ordinal);
        var g = Watchkeeper.Metrics.Rules.RuleFileParser.ParseFile(file).Groups.Single();
        Assert.Equal((TimeSpan.FromMinutes(1), "team"), (g.QueryOffset!.Value, g.Labels.Single().Key));
    }

    /// <summary>
    /// Alertmanager 0.27 parses matchers as UTF-8 (quoted label names such as <c>"service name"</c>); 0.25's amtool
    /// check-config refuses them with "bad matcher format". Watchkeeper follows 0.27.
    /// </summary>
    [Fact]
    public async Task Utf8_matchers_are_accepted_unlike_alertmanager_0_25()
    {
        var amtool = Peers.Require(Peers.Which("amtool"), "amtool (Debian package prometheus-alertmanager)");
        var file = Path.Combine(Path.GetTempPath(), $"wk-gap-utf8-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(file, "route:\n  receiver: a\n  routes:\n    - matchers: ['\"service name\"=\"x\"']\nreceivers: [{name: a}]\n");
        try
        {
            var (code, stdout, stderr) = await PeerProcess.RunAsync(amtool, ["check-config", file], TimeSpan.FromSeconds(20));
            Assert.NotEqual(0, code);
            Assert.Contains("bad matcher format", stdout + stderr, StringComparison.Ordinal);
            var cfg = Watchkeeper.Alerting.Config.AlertmanagerConfigLoader.LoadFile(file);
            Assert.Equal("service name", cfg.Route!.Routes[0].Matchers[0].Name);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// A POST with invalid alerts: Alertmanager 0.25 stores the valid ones and answers 400 with a JSON string of the
    /// reasons joined by "; " (no positions); Watchkeeper stores the valid ones too and answers problem details that
    /// name each invalid alert by index and reason.
    /// </summary>
    [Fact]
    public async Task Invalid_alerts_in_a_batch_are_named_by_index_unlike_alertmanager_0_25()
    {
        var amBin = Peers.Require(Peers.Which("prometheus-alertmanager"), "prometheus-alertmanager (Debian package prometheus-alertmanager)");
        const string batch = """[{"labels":{"alertname":"A"}},{"labels":{}},{"labels":{"alertname":"B"}},{"labels":{"x":"y"},"startsAt":"2026-11-02T10:00:00Z","endsAt":"2026-11-02T09:00:00Z"}]""";
        var dir = Directory.CreateTempSubdirectory("wk-gap-am-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "am.yml"), "route: {receiver: a}\nreceivers: [{name: a}]\n");
        var port = Peers.FreePort();
        await using (var am = PeerProcess.Start("alertmanager", amBin, ["--config.file=" + Path.Combine(dir, "am.yml"), "--storage.path=" + Path.Combine(dir, "data"),
            $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], dir))
        {
            await am.WaitReadyAsync(new Uri($"http://127.0.0.1:{port}/-/ready"), TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var r = await http.PostAsync("/api/v2/alerts", new StringContent(batch, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("\"at least one label pair required; start time must be before end time\"", (await r.Content.ReadAsStringAsync()).Trim());
            Assert.Equal(2, System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/v2/alerts")).RootElement.GetArrayLength());
        }
        await using var wk = await WatchkeeperHost.StartAsync();
        using var c = wk.Client(await wk.TokenAsync("responder"));
        using var w = await c.PostAsync("/alertmanager/api/v2/alerts", new StringContent(batch, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, w.StatusCode);
        var problem = System.Text.Json.JsonDocument.Parse(await w.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal([1, 3], problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()));
        Assert.Equal(2, System.Text.Json.JsonDocument.Parse(await c.GetStringAsync("/alertmanager/api/v2/alerts")).RootElement.GetArrayLength());
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}
