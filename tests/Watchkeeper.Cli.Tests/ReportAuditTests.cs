using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class ReportAuditTests
{
    [Fact]
    public async Task Report_shows_mtta_and_mttr_by_severity_against_the_targets_and_breaches()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        Assert.Equal(0, (await wk.RunAsync("incident", "start", "--title", "a", "--severity", "SEV1")).Code);
        s.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, (await wk.RunAsync("incident", "ack", "1")).Code);
        s.Time.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(0, (await wk.RunAsync("incident", "resolve", "1")).Code);

        var j = await wk.JsonAsync("report", "incidents", "--since", "7d");
        Assert.Equal(1, j.GetProperty("total").GetInt32());
        var sev1 = j.GetProperty("by_severity").EnumerateArray().Single(x => x.GetProperty("severity").GetString() == "SEV1");
        Assert.Equal(600, sev1.GetProperty("mtta_seconds").GetDouble());
        Assert.Equal(1800, sev1.GetProperty("mttr_seconds").GetDouble());
        Assert.Equal(1, sev1.GetProperty("response_breaches").GetInt32());

        var t = await wk.RunAsync("report", "incidents", "--from", "2026-11-01", "--to", "2026-11-03", "--trend");
        Assert.True(t.Code == 0, t.ToString());
        Assert.Contains("Incidents 2026-11-01 00:00 UTC .. 2026-11-03 00:00 UTC: 1", t.Out);
        var row = Assert.Single(t.Out.Split('\n'), l => l.TrimStart().StartsWith("SEV1", StringComparison.Ordinal));
        Assert.Contains("10m (over)", row);
        Assert.Contains("30m", row);
        Assert.Contains("1/0", row);
        Assert.Contains("1 SLA breach(es)", t.Out);
        Assert.Contains("START", t.Out);
    }

    [Fact]
    public async Task Audit_verify_exits_0_when_intact_and_5_listing_the_problems_when_tampered_with()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        Assert.Equal(0, (await wk.RunAsync("incident", "start", "--title", "a", "--severity", "SEV3")).Code);

        var ok = await wk.RunAsync("audit", "verify");
        Assert.True(ok.Code == 0, ok.ToString());
        Assert.StartsWith("Audit log intact:", ok.Out, StringComparison.Ordinal);
        Assert.True((await wk.JsonAsync("audit", "verify")).GetProperty("ok").GetBoolean());
        var list = await wk.RunAsync("audit", "list");
        Assert.Contains("incident.create", list.Out);

        var db = s.Services.GetRequiredService<Db>();
        await db.WriteAsync(async (c, tx) => await c.ExecuteAsync("UPDATE audit_log SET actor = 'mallory' WHERE action = 'incident.create'", transaction: tx));

        var bad = await wk.RunAsync("audit", "verify");
        Assert.Equal(5, bad.Code);
        Assert.StartsWith("Audit log NOT intact: 1 problem(s)", bad.Out, StringComparison.Ordinal);
        Assert.Contains("content does not match its hash (record edited)", bad.Out);
        Assert.Single(bad.Err.TrimEnd().Split('\n'));
        Assert.StartsWith("wk: audit log verification failed: 1 problem(s)", bad.Err, StringComparison.Ordinal);

        var badJson = await wk.RunAsync("audit", "verify", "-o", "json");
        Assert.Equal(5, badJson.Code);
        Assert.False(badJson.Json.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Audit_verify_expect_fails_in_one_line_when_the_log_does_not_hold_the_published_head()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        Assert.Equal(0, (await wk.RunAsync("incident", "start", "--title", "a", "--severity", "SEV3")).Code);
        var head = s.Services.GetRequiredService<AuditLog>().Head!;
        var expect = $"{head.Seq}:{head.Hash[..16]}";
        var ok = await wk.RunAsync("audit", "verify", "--expect", expect);
        Assert.True(ok.Code == 0, ok.ToString());
        Assert.Contains($"Contains the expected head {expect}.", ok.Out);

        // The tail goes; a restarted server would not know, the published head does.
        var db = s.Services.GetRequiredService<Db>();
        await db.WriteAsync(async (c, tx) => await c.ExecuteAsync("DELETE FROM audit_log WHERE seq >= @Seq", head, tx));
        var bad = await wk.RunAsync("audit", "verify", "--expect", expect);
        Assert.Equal(5, bad.Code);
        Assert.Single(bad.Err.TrimEnd().Split('\n'));
        Assert.StartsWith($"wk: audit log does not contain the expected head: expected head {expect} is not in the log: the log ends at {head.Seq - 1}", bad.Err, StringComparison.Ordinal);

        var usage = await wk.RunAsync("audit", "verify", "--expect", "12:xyz");
        Assert.Equal(2, usage.Code);
        Assert.Contains("--expect: '12:xyz' is not SEQ:HASH", usage.Err);
    }
}
