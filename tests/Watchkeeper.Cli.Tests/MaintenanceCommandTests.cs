using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

/// <summary><c>wk maintenance ...</c> and the seed's maintenance-*.sh scripts against a real server.</summary>
public sealed class MaintenanceCommandTests
{
    [Fact]
    public async Task Schedule_start_validate_complete_through_wk_and_the_scripts()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("bash scripts");
        await using var s = await TestServer.StartAsync();
        var env = new Dictionary<string, string> { ["WATCHKEEPER_URL"] = s.BaseAddress.ToString(), ["WATCHKEEPER_TOKEN"] = await s.AdminTokenAsync() };

        // The server's clock is 2026-11-02 09:00 UTC.
        var bad = await ScriptTests.Script("maintenance-start.sh", env, "nope", "--rollback-plan", "x");
        Assert.Equal(1, bad.Code);
        Assert.Contains("unknown maintenance window 'nope'", bad.Err);

        var wk = await new Wk(s).LoginAsync();
        var sched = await wk.RunAsync("maintenance", "schedule", "cache-resize", "--title", "Cache resize", "--start", "2026-11-02T09:05", "--duration", "1h",
            "--components", "cache", "--promql", "vector(1)", "--time-zone", "Europe/London");
        Assert.True(sched.Code == 0, sched.ToString());
        Assert.Contains("Scheduled window cache-resize (once, Europe/London)", sched.Out);
        Assert.Contains("2026-11-02 09:05 +00", sched.Out);
        var impossible = await wk.RunAsync("maintenance", "schedule", "bad", "--title", "x", "--cron", "0 0 30 2 *", "--duration", "1h", "--components", "cache");
        Assert.Equal(1, impossible.Code);
        Assert.Contains("--cron", impossible.Err);
        Assert.Contains("never occurs", impossible.Err);

        var noPlan = await ScriptTests.Script("maintenance-start.sh", env, "cache-resize", "--backup", "snapshot 7");
        Assert.Equal(1, noPlan.Code);
        Assert.Contains("--rollback-plan", noPlan.Err);
        var start = await ScriptTests.Script("maintenance-start.sh", env, "cache-resize", "--rollback-plan", "Scale back to 4 GB", "--backup", "snapshot 7", "-o", "json");
        Assert.True(start.Code == 0, start.ToString());
        Assert.Equal("in_progress", start.Json.GetProperty("state").GetString());
        var id = start.Json.GetProperty("id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var validate = await ScriptTests.Script("maintenance-validate.sh", env, id);
        Assert.True(validate.Code == 0, validate.ToString());
        Assert.Contains("Validation 1 passed", validate.Out);
        var complete = await ScriptTests.Script("maintenance-complete.sh", env, id, "--summary", "Resized to 8 GB");
        Assert.True(complete.Code == 0, complete.ToString());
        Assert.Contains($"Run {id} is completed.", complete.Out);
        Assert.Contains("Follow-up review due", complete.Out);

        var list = await wk.RunAsync("maintenance", "list");
        Assert.True(list.Code == 0, list.ToString());
        Assert.Contains("weekly-updates", list.Out);
        Assert.Contains("completed", list.Out);
        var report = await wk.RunAsync("report", "maintenance");
        Assert.True(report.Code == 0, report.ToString());
        Assert.Contains("1 completed, 0 rolled back", report.Out);
        Assert.Contains("Success rate: 100%", report.Out);
    }
}
