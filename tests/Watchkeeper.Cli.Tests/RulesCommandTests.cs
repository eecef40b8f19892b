using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Server.Rules;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class RulesCommandTests
{
    private static string Shipped(string name) => Path.Combine(TestServer.RepoRoot, "config", "openpolicy", "rules", name);

    [Fact]
    public async Task Rules_check_prints_promtools_lines_and_exits_1_when_a_file_is_bad()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var ok = await wk.RunAsync("rules", "check", Shipped("alerts.yml"), Shipped("recording.yml"));
        Assert.True(ok.Code == 0, ok.ToString());
        Assert.Equal($"Checking {Shipped("alerts.yml")}\n  SUCCESS: 3 rules found\n\nChecking {Shipped("recording.yml")}\n  SUCCESS: 6 rules found\n\n", ok.Out.ReplaceLineEndings("\n"));

        var bad = Path.Combine(Directory.CreateTempSubdirectory("wk-rules-").FullName, "bad.yml");
        await File.WriteAllTextAsync(bad, "groups:\n  - name: g\n    rules:\n      - record: bad-name\n        expr: up\n", TestContext.Current.CancellationToken);
        var failed = await wk.RunAsync("rules", "check", bad);
        Assert.Equal(1, failed.Code);
        Assert.Equal($"  FAILED:\n{bad}: 4:17: group \"g\", rule 1, \"bad-name\": invalid recording rule name: bad-name\n", failed.Err.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Rules_test_runs_unit_test_files_with_promtools_verdicts()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        var dir = Path.Combine(TestServer.RepoRoot, "tests", "Watchkeeper.Interop.Tests", "rules", "unit");
        var pass = await wk.RunAsync("rules", "test", Path.Combine(dir, "test_alerts_pass.yml"), Path.Combine(dir, "test_templates_pass.yml"));
        Assert.True(pass.Code == 0, pass.ToString());
        var fail = await wk.RunAsync("rules", "test", Path.Combine(dir, "test_alerts_fail.yml"));
        Assert.Equal(1, fail.Code);
        Assert.Contains("    name: fires too early,\n    alertname: InstanceDown, time: 3m, ", fail.Err.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_fault_down_makes_the_shipped_ServiceDown_pending_then_firing_after_its_for()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var runtime = s.Services.GetRequiredService<RulesRuntime>();
        AlertingRule ServiceDown() => runtime.Manager!.Groups.SelectMany(g => g.Rules).OfType<AlertingRule>().Single(r => r.Name == "ServiceDown");
        async Task<bool> Until(Func<bool> done, int seconds)
        {
            for (var i = 0; i < seconds && !done(); i++)
            {
                s.Time.Advance(TimeSpan.FromSeconds(1));
                for (var k = 0; k < 25 && !done(); k++) await Task.Delay(4, TestContext.Current.CancellationToken);
            }
            return done();
        }
        Assert.True(await Until(() => runtime.Manager?.Groups.Count > 0 && ServiceDown().LastEvaluation is not null, 60));
        Assert.Equal(AlertState.Inactive, ServiceDown().State);

        Assert.Equal(0, (await wk.RunAsync("demo", "fault", "api-service", "--down")).Code);
        Assert.True(await Until(() => ServiceDown().State == AlertState.Pending, 60), "ServiceDown never went pending");
        var pendingAt = s.Time.GetUtcNow();
        var alert = Assert.Single(ServiceDown().ActiveAlerts());
        Assert.Equal("api-service", alert.Labels.Get("job"));
        Assert.Equal("Service api-service is down", alert.Annotations.Get("summary"));
        Assert.True(await Until(() => ServiceDown().State == AlertState.Firing, 120), "ServiceDown never fired");
        Assert.True(s.Time.GetUtcNow() - pendingAt >= TimeSpan.FromSeconds(45), "fired before its for: 1m");
    }
}
