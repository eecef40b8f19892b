using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class OnCallCommandTests
{
    [Fact]
    public async Task Oncall_shows_who_is_on_call_now_and_at_a_time_and_overrides_change_it()
    {
        // The test clock starts Monday 2026-11-02 09:00Z: week 43 of the shipped weekly rotation, engineer 2.
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var now = await wk.RunAsync("oncall");
        Assert.True(now.Code == 0, now.ToString());
        var row = Assert.Single(now.Out.Split('\n'), l => l.StartsWith("primary", StringComparison.Ordinal));
        Assert.Contains("oncall-engineer-2", row, StringComparison.Ordinal);
        Assert.Contains("2026-11-09 09:00 UTC", row, StringComparison.Ordinal);

        var later = await wk.JsonAsync("oncall", "--at", "2026-11-10T00:00:00Z", "--schedule", "primary");
        Assert.Equal("oncall-engineer-1", later[0].GetProperty("person").GetString());
        var inAWeek = await wk.JsonAsync("oncall", "--at", "7d");
        Assert.Equal("oncall-engineer-1", inAWeek[0].GetProperty("person").GetString());

        var o = await wk.JsonAsync("oncall", "override", "add", "--schedule", "primary", "--person", "team-lead", "--until", "8h", "--reason", "swap");
        Assert.Equal("team-lead", o.GetProperty("person").GetString());
        var covered = await wk.RunAsync("oncall");
        Assert.Contains("team-lead (override)", covered.Out, StringComparison.Ordinal);
        var list = await wk.RunAsync("oncall", "override", "list");
        Assert.Contains("swap", list.Out, StringComparison.Ordinal);

        var bad = await wk.RunAsync("oncall", "override", "add", "--schedule", "nope", "--person", "team-lead", "--until", "1h");
        Assert.NotEqual(0, bad.Code);
        Assert.Single(bad.Err.Trim().Split('\n'));
        Assert.Contains("schedule 'nope' not found", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alert_ack_acknowledges_an_incident_and_explains_fingerprints()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var id = (await wk.JsonAsync("incident", "start", "--title", "API down", "--severity", "SEV2")).GetProperty("id").GetInt64();
        s.Time.Advance(TimeSpan.FromMinutes(4));
        var r = await wk.RunAsync("alert", "ack", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains($"Acknowledged incident #{id} after 4m", r.Out, StringComparison.Ordinal);
        var again = await wk.RunAsync("alert", "ack", "#" + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, again.Code);
        Assert.Contains("already acknowledged", again.Err, StringComparison.Ordinal);
        var fp = await wk.RunAsync("alert", "ack", "0123456789abcdef");
        Assert.Equal(2, fp.Code);
        Assert.Contains("fingerprint", fp.Err, StringComparison.Ordinal);
    }
}
