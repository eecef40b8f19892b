using System.Net;
using Dapper;
using Watchkeeper.Server.OnCall;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests.OnCall;

public sealed class EscalationTests
{
    // The test clock starts on Monday 2026-11-02 09:00Z: week 43 of the shipped weekly rotation from 2026-01-05,
    // so oncall-engineer-2 is on call for "primary".
    private const string OnCall = "oncall-engineer-2";

    private static async Task<long> DeclareAsync(TestServer s, string severity, string title = "API down")
    {
        using var c = s.Client((await s.NewUserAsync("responder")).Token);
        return (await c.Post("/api/v1/incidents", new { title, severity }, HttpStatusCode.Created)).Long("id");
    }

    private static Task<List<(string State, int Round, int Step)>> EscalationsAsync(TestServer s, long incident) =>
        s.Get<Db>().ReadAsync(async c => (await c.QueryAsync<(string, long, long)>("SELECT state, round, step FROM escalations WHERE incident_id = @incident ORDER BY id", new { incident }))
            .Select(x => (x.Item1, (int)x.Item2, (int)x.Item3)).ToList());

    public static string Rfc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sev2_pages_on_call_then_team_lead_and_acknowledgement_stops_it(bool postgres)
    {
        TestServer.SkipUnlessAvailable(postgres);
        var outbox = new RecordingOutbox();
        await using var s = await OnCallServer.StartAsync(outbox, postgres);
        var engine = s.Get<EscalationEngine>();
        var id = await DeclareAsync(s, "SEV2");

        Assert.Equal(1, await engine.RunDueAsync(default));
        var first = outbox.Items.ToList();
        Assert.Equal([("user:" + OnCall, "email"), ("user:" + OnCall, "slack")], first.Select(i => (i.Receiver, i.Integration)));
        var data = first[0].Data;
        Assert.Equal("firing", data.Status);
        Assert.Equal(id.ToString(System.Globalization.CultureInfo.InvariantCulture), data.CommonLabels["incident"]);
        Assert.Equal("SEV2", data.CommonLabels["incident_severity"]);
        Assert.StartsWith("/ack/", data.CommonAnnotations["acknowledge_url"], StringComparison.Ordinal);
        Assert.Equal($"incident-{id}", first[0].DedupKey);

        // Nothing more until the step's wait (15m, the SEV2 response target) has passed.
        s.Time.Advance(TimeSpan.FromMinutes(14));
        Assert.Equal(0, await engine.RunDueAsync(default));
        s.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await engine.RunDueAsync(default));
        var second = outbox.Items.Skip(2).Select(i => i.Receiver).Distinct().Order().ToList();
        Assert.Equal(["user:" + OnCall, "user:team-lead"], second);
        Assert.Equal([("active", 0, 2)], await EscalationsAsync(s, id));

        using var responder = s.Client((await s.NewUserAsync("responder", "oncall-engineer-2")).Token);
        var inc = await responder.Post($"/api/v1/incidents/{id}/acknowledge");
        Assert.False(inc.IsNull("acknowledged_at"));
        Assert.Equal(15 * 60, inc.GetProperty("response_sla").Dbl("elapsed_seconds"));
        var count = outbox.Items.Count;
        s.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await engine.RunDueAsync(default));
        Assert.Equal(count, outbox.Items.Count);
        Assert.Equal("acknowledged", (await EscalationsAsync(s, id))[0].State);

        var api = (await responder.Get($"/api/v1/oncall/escalations?incident={id}")).Items();
        Assert.Equal("acknowledged", api[0].Str("state"));
        Assert.Equal("oncall-engineer-2", api[0].Str("ended_by"));
        Assert.Equal(5, api[0].Items("pages").Count);
        var timeline = (await responder.Get($"/api/v1/incidents/{id}/timeline")).Items().Select(t => t.Str("message")).ToList();
        Assert.Contains(timeline, m => m.StartsWith("Escalation 'sev2-high' step 1/2: paged oncall-engineer-2 (email, slack)", StringComparison.Ordinal));
        Assert.Contains("Escalation stopped: acknowledged by oncall-engineer-2", timeline);
    }

    [Fact]
    public async Task A_restart_continues_the_escalation_without_paging_a_done_step_again()
    {
        var outbox = new RecordingOutbox();
        var root = Directory.CreateTempSubdirectory("wk-oncall-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            long id;
            DateTimeOffset now;
            await using (var s = await OnCallServer.StartAsync(outbox, dataDir: data))
            {
                id = await DeclareAsync(s, "SEV1");
                Assert.Equal(1, await s.Get<EscalationEngine>().RunDueAsync(default));
                s.Time.Advance(TimeSpan.FromMinutes(2));
                now = s.Time.GetUtcNow();
            }
            // Pages only: the alert dispatcher may also notify route receivers (an SLA alert) as the clock moves.
            static IEnumerable<string> Paged(RecordingOutbox o) => o.Items.Select(i => i.Receiver).Where(r => r.StartsWith("user:", StringComparison.Ordinal)).Distinct();
            Assert.Equal(["user:" + OnCall], Paged(outbox));
            var after = new RecordingOutbox();
            await using (var s = await OnCallServer.StartAsync(after, dataDir: data, start: now))
            {
                var engine = s.Get<EscalationEngine>();
                Assert.Equal(0, await engine.RunDueAsync(default));
                Assert.Empty(Paged(after));
                s.Time.Advance(TimeSpan.FromMinutes(3));
                Assert.Equal(1, await engine.RunDueAsync(default));
                Assert.Equal(["user:" + OnCall, "user:team-lead"], Paged(after).Order());
                var pages = await s.Get<Db>().ReadAsync(c => c.QueryAsync<long>("SELECT step FROM escalation_pages ORDER BY id"));
                Assert.Equal([0L, 0L, 1L, 1L, 1L], pages);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task Unacknowledged_policy_repeats_then_ends_exhausted()
    {
        var outbox = new RecordingOutbox();
        await using var s = await OnCallServer.StartAsync(outbox);
        var engine = s.Get<EscalationEngine>();
        var id = await DeclareAsync(s, "SEV3");
        Assert.Equal(1, await engine.RunDueAsync(default));
        s.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await engine.RunDueAsync(default));   // repeat 1: round 1, step 1
        Assert.Equal([("active", 1, 1)], await EscalationsAsync(s, id));
        s.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await engine.RunDueAsync(default));   // the policy ends
        Assert.Equal([("exhausted", 1, 1)], await EscalationsAsync(s, id));
        Assert.Equal(4, outbox.Items.Count);                   // 2 rounds x (email, slack)
        s.Time.Advance(TimeSpan.FromHours(5));
        Assert.Equal(0, await engine.RunDueAsync(default));
        Assert.Equal(4, outbox.Items.Count);
    }

    [Fact]
    public async Task Raising_the_severity_starts_the_higher_policy_and_SEV4_pages_nobody()
    {
        var outbox = new RecordingOutbox();
        await using var s = await OnCallServer.StartAsync(outbox);
        var engine = s.Get<EscalationEngine>();
        var id = await DeclareAsync(s, "SEV3");
        await engine.RunDueAsync(default);
        using var c = s.Client(await s.AdminApiTokenAsync());
        await c.Patch($"/api/v1/incidents/{id}", new { severity = "SEV1" });
        Assert.Equal([("superseded", 0, 1), ("active", 0, 0)], await EscalationsAsync(s, id));
        Assert.Equal(1, await engine.RunDueAsync(default));
        Assert.Equal("sev1-critical", outbox.Items.Last().Data.CommonLabels["escalation_policy"]);
        // Lowering it again leaves the running escalation alone.
        await c.Patch($"/api/v1/incidents/{id}", new { severity = "SEV2" });
        Assert.Equal("active", (await EscalationsAsync(s, id))[^1].State);

        var low = await DeclareAsync(s, "SEV4", "typo on the status page");
        Assert.Empty(await EscalationsAsync(s, low));
        var timeline = (await c.Get($"/api/v1/incidents/{low}/timeline")).Items().Select(t => t.Str("message"));
        Assert.Contains(timeline, m => m.Contains("no page", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resolving_stops_the_escalation_and_an_override_decides_who_is_paged()
    {
        var outbox = new RecordingOutbox();
        await using var s = await OnCallServer.StartAsync(outbox);
        using var responder = s.Client((await s.NewUserAsync("responder")).Token);
        var now = s.Time.GetUtcNow();
        await responder.Post("/api/v1/oncall/overrides", new { schedule = "primary", person = "oncall-engineer-1", start = Rfc(now.AddMinutes(-1)), end = Rfc(now.AddHours(3)), reason = "swap" },
            HttpStatusCode.Created);
        var id = await DeclareAsync(s, "SEV3");
        await s.Get<EscalationEngine>().RunDueAsync(default);
        Assert.Equal(["user:oncall-engineer-1"], outbox.Items.Select(i => i.Receiver).Distinct());
        await responder.Post($"/api/v1/incidents/{id}/resolve", new { message = "fixed" });
        Assert.Equal("acknowledged", (await EscalationsAsync(s, id))[0].State); // resolving acknowledges first, as the lifecycle does
        s.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await s.Get<EscalationEngine>().RunDueAsync(default));
    }
}
