using System.Diagnostics;
using Watchkeeper.Server.Probes;
using Watchkeeper.Server.Tests;
using Watchkeeper.Server.Tests.Probes;
using Watchkeeper.Server.Uptime;

namespace Watchkeeper.Cli.Tests;

/// <summary><c>wk health</c>, <c>wk perf</c>, <c>wk report uptime</c> and the seed's monitor-*.sh scripts over them.</summary>
public sealed class HealthCommandTests
{
    /// <summary>
    /// Advances the fake clock a second at a time until every check has run (at least) once more. A check whose previous
    /// run is still in flight on a busy machine is skipped at its slot, so this keeps going (bounded: 3 fake minutes).
    /// </summary>
    private static Task RunProbesAsync(TestServer s, int seconds = 31) =>
        ProbeClock.RunAsync(s.Time, s.Get<ProbeScheduler>(), seconds, 3 * Math.Max(1, seconds / 30));

    /// <summary>
    /// Scrapes every hour: the fake clock jumps faster than loopback scrapes finish on a busy machine, and a scrape
    /// timed out on the fake clock would mark its target down; these tests are about the probes.
    /// </summary>
    private static string RareScrapes(string yaml) => yaml.Replace("scrape_interval: 15s", "scrape_interval: 1h", StringComparison.Ordinal);

    [Fact]
    public async Task Health_exits_0_when_healthy_and_5_with_the_failing_probe_named_when_not()
    {
        await using var s = await TestServer.StartAsync(editConfig: RareScrapes);
        var wk = await new Wk(s).LoginAsync();
        await RunProbesAsync(s);
        var ok = await wk.RunAsync("health");
        Assert.True(ok.Code == 0, ok.ToString());
        Assert.StartsWith("Overall: OK", ok.Out, StringComparison.Ordinal);
        Assert.Matches(@"api-service\s+ok\s+1/1 ok", ok.Out);

        Assert.Equal(0, (await wk.RunAsync("demo", "fault", "api-service", "--down")).Code);
        await RunProbesAsync(s);
        var bad = await wk.RunAsync("health");
        Assert.True(bad.Code == 5, bad.ToString());
        Assert.StartsWith("Overall: DOWN", bad.Out, StringComparison.Ordinal);
        Assert.Matches(@"api-service\s+down\s+0/1 ok", bad.Out);
        Assert.Contains("api-service: probe api-service (", bad.Out, StringComparison.Ordinal);
        Assert.Contains("invalid HTTP response status code 503", bad.Out, StringComparison.Ordinal);

        var one = await wk.RunAsync("health", "--service", "web-interface", "-o", "json");
        Assert.Equal(0, one.Code);
        Assert.Equal("web-interface", one.Json.GetProperty("services")[0].GetProperty("service").GetString());
        var unknown = await wk.RunAsync("health", "--service", "nobody");
        Assert.Equal(1, unknown.Code);
        Assert.StartsWith("wk: no service 'nobody'", unknown.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Perf_reports_request_rate_error_rate_and_p95_per_service()
    {
        // The request metrics come from scrapes of the demo services: taken here, one every 15 fake seconds, so that a
        // busy machine cannot leave the rate window with fewer than two (the scrape loops themselves run hourly).
        await using var s = await TestServer.StartAsync(editConfig: RareScrapes);
        var wk = await new Wk(s).LoginAsync();
        var scrape = s.Get<Watchkeeper.Server.Monitoring.MetricsRuntime>().Scrape!;
        for (var i = 0; i < 5; i++)
        {
            s.Time.Advance(TimeSpan.FromSeconds(15));
            Assert.Contains(await scrape.ScrapeAllNowAsync(TestContext.Current.CancellationToken), t => t.Job == "api-service" && t.Health == Watchkeeper.Metrics.Scrape.TargetHealth.Up);
        }
        var json = await wk.JsonAsync("perf");
        var services = json.GetProperty("services").EnumerateArray().ToDictionary(x => x.GetProperty("service").GetString()!);
        Assert.True(services.ContainsKey("api-service"), json.ToString());
        Assert.True(services["api-service"].GetProperty("requests_per_second").GetDouble() > 0, json.ToString());
        Assert.True(services["api-service"].GetProperty("p95_seconds").GetDouble() > 0, json.ToString());

        var table = await wk.RunAsync("perf", "--service", "web-interface");
        Assert.True(table.Code == 0, table.ToString());
        Assert.Contains("P95 LATENCY", table.Out, StringComparison.Ordinal);
        Assert.Contains("web-interface", table.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("api-service", table.Out, StringComparison.Ordinal);
        Assert.Equal(2, (await wk.RunAsync("perf", "--window", "5 minutes")).Code);
    }

    [Fact]
    public async Task Report_uptime_prints_availability_against_the_target_with_the_budget_left()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        await RunProbesAsync(s);
        await s.Get<UptimeRollup>().RunAsync(TestContext.Current.CancellationToken);
        var r = await wk.RunAsync("report", "uptime", "--service", "watchkeeper", "--days", "7", "--daily");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("Uptime over 7 days", r.Out, StringComparison.Ordinal);
        Assert.Contains("target 99.9%", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"watchkeeper\s+api\s+100%\s+yes", r.Out);
        Assert.Contains("DAY", r.Out, StringComparison.Ordinal);
        Assert.Equal(2, (await wk.RunAsync("report", "uptime", "--days", "0")).Code);
        var none = await wk.RunAsync("report", "uptime", "--service", "nobody");
        Assert.Equal(1, none.Code);
    }

    [Fact]
    public async Task The_monitor_scripts_wrap_health_and_perf()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("bash scripts");
        await using var s = await TestServer.StartAsync();
        await RunProbesAsync(s);
        var env = new Dictionary<string, string> { ["WATCHKEEPER_URL"] = s.BaseAddress.ToString(), ["WATCHKEEPER_TOKEN"] = await s.AdminTokenAsync() };
        // The script is `wk health` with the same output and exit code, whatever the probes found on this machine.
        var wk = await new Wk(s).LoginAsync();
        var direct = await wk.RunAsync("health");
        var health = await Script("monitor-health.sh", env);
        Assert.True(health.Code is 0 or 5, health.ToString());
        Assert.Equal(direct.Code, health.Code);
        Assert.Equal(direct.Out, health.Out);
        Assert.StartsWith("Overall: ", health.Out, StringComparison.Ordinal);
        // Likewise `wk perf`: same output, error and exit code (the perf test checks what it computes).
        var directPerf = await wk.RunAsync("perf", "--service", "api-service");
        var perf = await Script("monitor-performance.sh", env, "--service", "api-service");
        Assert.Equal(directPerf.Code, perf.Code);
        Assert.Equal(directPerf.Out, perf.Out);
        Assert.Equal(directPerf.Err, perf.Err);
        Assert.True(perf.Code == 0 || perf.Err.StartsWith("wk: no request metrics", StringComparison.Ordinal), perf.ToString());
        var help = await Script("monitor-health.sh", env, "--help");
        Assert.Contains("usage: monitor-health.sh", help.Out, StringComparison.Ordinal);
    }

    private static async Task<WkResult> Script(string name, IDictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(Path.Combine(TestServer.RepoRoot, "scripts", name));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["WK"] = Path.Combine(AppContext.BaseDirectory, "wk.dll");
        psi.Environment["WK_CONFIG"] = Path.Combine(Directory.CreateTempSubdirectory("wk-script-").FullName, "config.json");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var ct = TestContext.Current.CancellationToken;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        return new WkResult(p.ExitCode, await stdout, await stderr);
    }
}
