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
        var bad = await wk.RunAsync("alert", "ack", "not-an-id");
        Assert.Equal(2, bad.Code);
        Assert.Contains("fingerprint", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Alert_ack_by_fingerprint_acknowledges_the_open_incident_the_alert_is_attached_to()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        const string fp = "00c0ffee12345678";
        var labels = new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["job"] = "api-service", ["instance"] = "api-1:8080", ["severity"] = "critical" };
        var alert = new Watchkeeper.Server.Incidents.AlertForIncident(fp, labels, new Dictionary<string, string> { ["summary"] = "api-service is down" },
            s.Time.GetUtcNow());
        Assert.Equal(1, (await s.Get<Watchkeeper.Server.Incidents.IncidentService>().SyncAlertsAsync([alert], CancellationToken.None)).Declared);
        var id = Assert.Single((await wk.JsonAsync("incident", "list")).GetProperty("items").EnumerateArray()).GetProperty("id").GetInt64();
        s.Time.Advance(TimeSpan.FromMinutes(3));

        // Not attached to any open incident: one line, non-zero exit.
        var unknown = await wk.RunAsync("alert", "ack", "0123456789abcdef");
        Assert.Equal(1, unknown.Code);
        Assert.Equal("wk: alert 0123456789abcdef is not attached to any open incident", unknown.Err.TrimEnd());

        var r = await wk.RunAsync("alert", "ack", fp.ToUpperInvariant());
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains($"Acknowledged incident #{id} (alert {fp}) after 3m", r.Out, StringComparison.Ordinal);
        Assert.NotNull((await wk.JsonAsync("incident", "show", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).GetProperty("acknowledged_at").GetString());
        var again = await wk.RunAsync("alert", "ack", fp);
        Assert.Equal(1, again.Code);
        Assert.Contains("already acknowledged", again.Err, StringComparison.Ordinal);

        // A resolved incident is no longer open: the fingerprint no longer resolves to it.
        Assert.Equal(0, (await wk.RunAsync("incident", "resolve", id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Code);
        var closed = await wk.RunAsync("alert", "ack", fp);
        Assert.Equal(1, closed.Code);
        Assert.Contains("not attached to any open incident", closed.Err, StringComparison.Ordinal);
    }
}
