using System.Globalization;
using System.Text.Json;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class IncidentCommandTests
{
    private static async Task<long> StartAsync(Wk wk, string title = "API down", string severity = "SEV1", params string[] more)
    {
        var j = await wk.JsonAsync(["incident", "start", "--title", title, "--severity", severity, .. more]);
        return j.GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task Start_declares_an_incident_with_the_matrix_sla_and_list_shows_it_in_json_and_table()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var inc = await wk.JsonAsync("incident", "start", "--title", "API down", "--severity", "SEV1", "--services", "api-service,web-interface",
            "--services", "database", "--commander", "alice", "--summary", "5xx on every request", "--detection-source", "automated");
        Assert.Equal("investigating", inc.GetProperty("status").GetString());
        Assert.Equal(300, inc.GetProperty("response_sla").GetProperty("target_seconds").GetDouble());
        Assert.Equal(["api-service", "web-interface", "database"], inc.GetProperty("impact").GetProperty("services_affected").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal("alice", inc.GetProperty("roles").GetProperty("commander").GetString());
        await StartAsync(wk, "Slow dashboard", "SEV3");

        var list = await wk.JsonAsync("incident", "list");
        Assert.Equal(2, list.GetProperty("total").GetInt32());
        Assert.Equal("Slow dashboard", list.GetProperty("items")[0].GetProperty("title").GetString());

        var sev1 = await wk.JsonAsync("incident", "list", "--severity", "SEV1", "--status", "open", "--since", "1h", "--limit", "5");
        Assert.Equal(1, sev1.GetProperty("total").GetInt32());

        s.Time.Advance(TimeSpan.FromMinutes(2));
        var table = await wk.RunAsync("incident", "list");
        Assert.True(table.Code == 0, table.ToString());
        var lines = table.Out.Split('\n');
        Assert.Contains(lines, l => l.Contains("ID", StringComparison.Ordinal) && l.Contains("SEV", StringComparison.Ordinal) && l.Contains("RESPONSE", StringComparison.Ordinal));
        var row = Assert.Single(lines, l => l.Contains("API down", StringComparison.Ordinal));
        Assert.Contains("SEV1", row);
        Assert.Contains("investigating", row);
        Assert.Contains("alice", row);
        Assert.Contains("2m ago", row);
        Assert.Contains("3m left", row);
        Assert.Contains("2 of 2 incident(s)", table.Out);

        var human = await wk.RunAsync("incident", "start", "--title", "Login broken", "--severity", "2");
        Assert.True(human.Code == 0, human.ToString());
        Assert.Contains("Declared incident #3 (SEV2)", human.Out);
        Assert.Contains("15m left of 15m", human.Out);
    }

    [Fact]
    public async Task Update_moves_the_status_changes_fields_and_posts_a_status_update()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var id = (await StartAsync(wk)).ToString(CultureInfo.InvariantCulture);
        s.Time.Advance(TimeSpan.FromMinutes(3));

        var r = await wk.RunAsync("incident", "update", id, "--status", "identified");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("Updated incident #1.", r.Out);
        Assert.Contains("Identified", r.Out);
        Assert.Contains("met after 3m (target 5m)", r.Out);

        var j = await wk.JsonAsync("incident", "update", id, "--severity", "SEV2", "--summary", "Bad deploy", "--message", "Rolled back the deploy",
            "--public", "--next-update", "30m", "--status", "monitoring");
        Assert.Equal("SEV2", j.GetProperty("severity").GetString());
        Assert.Equal("monitoring", j.GetProperty("status").GetString());
        Assert.Equal("Bad deploy", j.GetProperty("summary").GetString());
        Assert.Equal(s.Time.GetUtcNow().AddMinutes(30), j.GetProperty("next_update_due_at").GetDateTimeOffset());

        var posted = await wk.RunAsync("incident", "status-update", id, "--message", "Error rate back to normal");
        Assert.True(posted.Code == 0, posted.ToString());
        Assert.Contains("## Incident: API down", posted.Out);
        Assert.Contains("Error rate back to normal", posted.Out);

        var show = await wk.RunAsync("incident", "show", id);
        Assert.Contains("Monitoring", show.Out);
        Assert.Contains("internal", show.Out);
        Assert.Contains("Error rate back to normal", show.Out);
    }

    [Fact]
    public async Task Invalid_transition_exits_1_with_one_line_naming_the_allowed_states()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        await StartAsync(wk, severity: "SEV3");
        var resolved = await wk.RunAsync("incident", "resolve", "1", "--message", "fixed");
        Assert.True(resolved.Code == 0, resolved.ToString());

        var r = await wk.RunAsync("incident", "update", "1", "--status", "monitoring");
        Assert.Equal(1, r.Code);
        Assert.Equal("", r.Out);
        Assert.Equal("wk: cannot move an incident from 'resolved' to 'monitoring'; allowed: investigating", r.Err.TrimEnd());

        // JSON output changes stdout, not errors: still one line on stderr and nothing to parse by mistake.
        var json = await wk.RunAsync("incident", "update", "1", "--status", "monitoring", "--output", "json");
        Assert.Equal(1, json.Code);
        Assert.Equal("", json.Out);
        Assert.Equal(r.Err, json.Err);
    }

    [Fact]
    public async Task Validation_errors_name_the_field_and_the_option_that_sets_it()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var r = await wk.RunAsync("incident", "start", "--title", "x", "--severity", "SEV9");
        Assert.Equal(1, r.Code);
        Assert.Equal("wk: invalid request: severity (--severity): unknown severity 'SEV9'; use one of SEV1, SEV2, SEV3, SEV4", r.Err.TrimEnd());

        var missing = await wk.RunAsync("incident", "show", "42");
        Assert.Equal(1, missing.Code);
        Assert.Equal("wk: incident 42 not found", missing.Err.TrimEnd());

        await StartAsync(wk);
        var nu = await wk.RunAsync("incident", "status-update", "1", "--message", "  ");
        Assert.Equal(1, nu.Code);
        Assert.Contains("current_status (--message): is required", nu.Err);
    }

    [Fact]
    public async Task Show_prints_sla_clocks_roles_checklist_progress_and_the_last_status_update()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        await StartAsync(wk, "Checkout failing", "SEV1", "--commander", "alice");
        var assign = await wk.RunAsync("incident", "assign", "1", "--comms-lead", "bob", "--scribe", "carol");
        Assert.True(assign.Code == 0, assign.ToString());
        s.Time.Advance(TimeSpan.FromMinutes(7));
        Assert.Equal(0, (await wk.RunAsync("incident", "status-update", "1", "--message", "Investigating the payment provider", "--public")).Code);

        var r = await wk.RunAsync("incident", "show", "#1");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("#1 Checkout failing", r.Out);
        Assert.Contains("alice", r.Out);
        Assert.Contains("bob", r.Out);
        Assert.Contains("carol", r.Out);
        Assert.Contains("BREACHED 2m ago (target 5m", r.Out);
        Assert.Contains("53m left of 1h", r.Out);
        Assert.Contains("0/20 done", r.Out);
        Assert.Contains("Immediate Response", r.Out);
        Assert.Contains("public", r.Out);
        Assert.Contains("Investigating the payment provider", r.Out);

        var j = await wk.JsonAsync("incident", "show", "1");
        Assert.Equal(1, j.GetProperty("id").GetInt64());
        Assert.Equal("bob", j.GetProperty("roles").GetProperty("communications_lead").GetString());
    }

    [Fact]
    public async Task Ack_note_timeline_resolve_and_reopen()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        await StartAsync(wk, severity: "SEV2");
        s.Time.Advance(TimeSpan.FromMinutes(4));
        var ack = await wk.JsonAsync("incident", "ack", "1");
        Assert.Equal(240, ack.GetProperty("response_sla").GetProperty("elapsed_seconds").GetDouble());
        var again = await wk.RunAsync("incident", "ack", "1");
        Assert.Equal(1, again.Code);
        Assert.Contains("already acknowledged", again.Err);

        Assert.Equal(0, (await wk.RunAsync("incident", "note", "1", "Paged the database team")).Code);
        var resolved = await wk.JsonAsync("incident", "resolve", "1", "--message", "Failed over to the replica", "--public");
        Assert.Equal("resolved", resolved.GetProperty("status").GetString());
        var reopened = await wk.JsonAsync("incident", "reopen", "1", "--message", "Errors are back");
        Assert.Equal("investigating", reopened.GetProperty("status").GetString());

        var timeline = await wk.RunAsync("incident", "timeline", "1");
        Assert.Contains("Paged the database team", timeline.Out);
        Assert.Contains("Errors are back", timeline.Out);
        var tj = await wk.JsonAsync("incident", "timeline", "1");
        Assert.Contains(tj.EnumerateArray(), e => e.GetProperty("kind").GetString() == "note");
    }

    [Fact]
    public async Task Checklist_shows_phases_and_check_and_uncheck_items()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        await StartAsync(wk);
        var cl = await wk.JsonAsync("incident", "checklist", "1");
        var phase = cl.GetProperty("phases")[0];
        var first = phase.GetProperty("items")[0].GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);
        var second = phase.GetProperty("items")[1].GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);

        var r = await wk.RunAsync("incident", "checklist", "check", "1", first, second);
        Assert.True(r.Code == 0, r.ToString());
        Assert.Contains("2/20 done", r.Out);
        Assert.Contains("[x]", r.Out);
        Assert.Contains("Acknowledge incident alert", r.Out);

        var u = await wk.JsonAsync("incident", "checklist", "uncheck", "1", second);
        Assert.Equal(1, u.GetProperty("done").GetInt32());

        s.Time.Advance(TimeSpan.FromMinutes(6));
        var overdue = await wk.RunAsync("incident", "checklist", "1");
        Assert.Contains("OVERDUE", overdue.Out);
        Assert.Contains("[!]", overdue.Out);

        var bad = await wk.RunAsync("incident", "checklist", "check", "1", "99999");
        Assert.Equal(1, bad.Code);
        Assert.Equal("wk: checklist item 99999 not found on incident 1", bad.Err.TrimEnd());
    }

    [Fact]
    public async Task Postmortem_edits_fields_and_prints_the_markdown_with_action_items()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        await StartAsync(wk);
        Assert.Equal(0, (await wk.RunAsync("incident", "resolve", "1", "--message", "rolled back")).Code);

        var rcaFile = Path.Combine(Path.GetDirectoryName(wk.ConfigPath)!, "rca.md");
        Directory.CreateDirectory(Path.GetDirectoryName(rcaFile)!);
        await File.WriteAllTextAsync(rcaFile, "A config push disabled the connection pool.", TestContext.Current.CancellationToken);
        var r = await wk.RunAsync("incident", "postmortem", "1", "--root-cause", "@" + rcaFile, "--lessons", "Canary config pushes", "--impact", "All API users for 20 minutes");
        Assert.True(r.Code == 0, r.ToString());
        Assert.StartsWith("# Postmortem: API down", r.Out, StringComparison.Ordinal);
        Assert.Contains("## Root cause\nA config push disabled the connection pool.", r.Out);
        Assert.Contains("## Lessons learned\nCanary config pushes", r.Out);

        var add = await wk.JsonAsync("incident", "action-item", "add", "1", "--title", "Add a canary stage", "--owner", "alice", "--due", "14d");
        Assert.Equal(s.Time.GetUtcNow().AddDays(14).ToUnixTimeSeconds(), add.GetProperty("due_at").GetDateTimeOffset().ToUnixTimeSeconds());
        var itemId = add.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);
        var list = await wk.RunAsync("incident", "action-item", "list", "1");
        Assert.Contains("Add a canary stage", list.Out);
        Assert.Contains("open", list.Out);
        var done = await wk.RunAsync("incident", "action-item", "done", "1", itemId);
        Assert.True(done.Code == 0, done.ToString());
        var all = await wk.JsonAsync("incident", "action-item", "list", "--status", "done");
        Assert.Single(all.EnumerateArray());

        var pm = await wk.RunAsync("incident", "postmortem", "1");
        Assert.Contains("- [x] Add a canary stage (owner: alice", pm.Out);
        var pj = await wk.JsonAsync("incident", "postmortem", "1");
        Assert.Equal("Canary config pushes", pj.GetProperty("lessons_learned").GetString());
    }

    [Fact]
    public async Task A_viewer_cannot_declare_incidents_exit_4()
    {
        await using var s = await TestServer.StartAsync();
        var wk = new Wk(s);
        wk.Env["WATCHKEEPER_TOKEN"] = await s.UserTokenAsync("viewer");
        var r = await wk.RunAsync("incident", "start", "--title", "x", "--severity", "SEV4");
        Assert.Equal(4, r.Code);
        Assert.Equal("wk: Your role does not allow this action.", r.Err.TrimEnd());
        Assert.Equal(0, (await wk.RunAsync("incident", "list")).Code);
    }
}
