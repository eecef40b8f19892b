using Dapper;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>Firing alerts declare incidents, join them, resolve them to Monitoring (never further), and fire again.</summary>
public sealed class AlertIncidentsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AlertForIncident Alert(string name, string job, string instance, string severity, DateTimeOffset startsAt, bool muted = false,
        IReadOnlyDictionary<string, string>? annotations = null)
    {
        var labels = new Dictionary<string, string> { ["alertname"] = name, ["job"] = job, ["instance"] = instance, ["severity"] = severity };
        return new AlertForIncident($"{name}/{job}/{instance}", labels, annotations ?? new Dictionary<string, string>
        {
            ["summary"] = $"Service {job} is down",
            ["description"] = $"Service {job} has been down for more than 1 minute",
        }, startsAt, muted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_firing_ServiceDown_declares_a_SEV2_whose_clocks_start_at_the_alert_and_later_alerts_join_it(bool postgres)
    {
        TestServer.SkipUnlessAvailable(postgres);
        await using var s = await TestServer.StartAsync(postgres);
        var svc = s.Get<IncidentService>();
        var started = s.Time.GetUtcNow() - TimeSpan.FromMinutes(1);
        var a1 = Alert("ServiceDown", "api-service", "a:1", "critical", started);

        var r = await svc.SyncAlertsAsync([a1], Ct);

        Assert.Equal(new AlertSyncResult(1, 0, 0, 0, 0), r);
        var incident = Assert.Single((await svc.ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items);
        Assert.Equal("Service api-service is down", incident.Title);
        Assert.Equal("SEV2", incident.Severity);
        Assert.Equal("automated", incident.DetectionSource);
        Assert.Equal(["api-service"], incident.Impact.ServicesAffected);
        Assert.Equal(started, incident.DetectedAt);
        Assert.Equal(started + TimeSpan.FromMinutes(15), incident.ResponseSla.DueAt);
        Assert.Contains("Service api-service has been down for more than 1 minute", incident.Summary, StringComparison.Ordinal);

        // Nothing changes when the same alert is seen again (the comparison runs every interval).
        Assert.Equal(new AlertSyncResult(0, 0, 0, 0, 0), await svc.SyncAlertsAsync([a1], Ct));

        // A second instance of the same service joins the incident; another service opens its own.
        var a2 = Alert("ServiceDown", "api-service", "a:2", "critical", started + TimeSpan.FromSeconds(30));
        var w1 = Alert("HighResponseTime", "web-interface", "w:1", "warning", started);
        r = await svc.SyncAlertsAsync([a1, a2, w1], Ct);
        Assert.Equal(new AlertSyncResult(1, 1, 0, 0, 0), r);
        var open = (await svc.ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items;
        Assert.Equal(2, open.Count);
        Assert.Equal("SEV3", open.Single(i => i.Id != incident.Id).Severity);
        var timeline = await svc.TimelineAsync(incident.Id, Ct);
        Assert.Contains(timeline, t => t.Message.StartsWith("Alert firing: ServiceDown{instance=\"a:2\", job=\"api-service\", severity=\"critical\"}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task When_all_alerts_resolve_the_incident_is_monitored_never_resolved_and_a_new_firing_reopens_the_investigation()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var t0 = s.Time.GetUtcNow();
        var a1 = Alert("ServiceDown", "api-service", "a:1", "critical", t0);
        var a2 = Alert("ServiceDown", "api-service", "a:2", "critical", t0);
        await svc.SyncAlertsAsync([a1, a2], Ct);
        var id = Assert.Single((await svc.ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items).Id;

        s.Time.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(new AlertSyncResult(0, 0, 1, 0, 0), await svc.SyncAlertsAsync([a2], Ct));
        Assert.Equal(IncidentStatus.Investigating, (await svc.GetAsync(id, Ct))!.Status);

        s.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(new AlertSyncResult(0, 0, 1, 1, 0), await svc.SyncAlertsAsync([], Ct));
        var v = (await svc.GetAsync(id, Ct))!;
        Assert.Equal(IncidentStatus.Monitoring, v.Status);
        Assert.Null(v.ResolvedAt);
        Assert.Equal(new AlertSyncResult(0, 0, 0, 0, 0), await svc.SyncAlertsAsync([], Ct));
        Assert.Equal(IncidentStatus.Monitoring, (await svc.GetAsync(id, Ct))!.Status);

        // The fix did not hold: the alert fires again, the same incident goes back to Investigating.
        s.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(new AlertSyncResult(0, 0, 0, 0, 1), await svc.SyncAlertsAsync([a1 with { StartsAt = s.Time.GetUtcNow() }], Ct));
        Assert.Equal(IncidentStatus.Investigating, (await svc.GetAsync(id, Ct))!.Status);
        var timeline = (await svc.TimelineAsync(id, Ct)).Select(t => t.Message).ToList();
        Assert.Contains(timeline, m => m.StartsWith("Status changed from Investigating to Monitoring: all of its alerts have resolved", StringComparison.Ordinal));
        Assert.Contains(timeline, m => m.StartsWith("Alert firing again: ServiceDown{instance=\"a:1\"", StringComparison.Ordinal));
        Assert.Contains(timeline, m => m == "Status changed from Monitoring to Investigating: alert ServiceDown is firing again");

        // Once a person resolves it, the next firing opens a new incident.
        await svc.TransitionAsync(id, IncidentStatus.Resolved, "fixed", null, "dana", Ct);
        Assert.Equal(new AlertSyncResult(1, 1, 0, 0, 0), await svc.SyncAlertsAsync([a1, a2], Ct));
        Assert.Equal(2, (await svc.ListAsync("", null, null, null, null, null, 10, null, Ct)).Total);
    }

    [Fact]
    public async Task Muted_info_and_incident_alerts_declare_nothing_but_a_muted_alert_still_counts_as_firing()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var t0 = s.Time.GetUtcNow();
        var info = Alert("DiskWillFill", "node", "n:1", "info", t0);
        var muted = Alert("ServiceDown", "web-interface", "w:1", "critical", t0, muted: true);
        var breach = new AlertForIncident("x", new Dictionary<string, string> { ["alertname"] = "IncidentSlaBreached", ["severity"] = "critical", ["incident_id"] = "7" },
            new Dictionary<string, string>(), t0);
        Assert.Equal(new AlertSyncResult(0, 0, 0, 0, 0), await svc.SyncAlertsAsync([info, muted, breach], Ct));

        var a1 = Alert("ServiceDown", "api-service", "a:1", "critical", t0);
        await svc.SyncAlertsAsync([a1], Ct);
        // Silenced during maintenance, the alert still fires: the incident is not moved to Monitoring.
        Assert.Equal(new AlertSyncResult(0, 0, 0, 0, 0), await svc.SyncAlertsAsync([a1 with { Muted = true }], Ct));
        Assert.Equal(IncidentStatus.Investigating, Assert.Single((await svc.ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items).Status);
    }

    [Fact]
    public async Task Acknowledging_an_incident_that_an_alert_opened_ticks_the_acknowledge_item()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        await svc.SyncAlertsAsync([Alert("ServiceDown", "api-service", "a:1", "critical", s.Time.GetUtcNow())], Ct);
        var id = Assert.Single((await svc.ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items).Id;
        var manual = await svc.CreateAsync(new CreateIncidentRequest("By hand", "operational", "SEV3", null, null, null, null, null, null, null, null, null), "dana", Ct);

        s.Time.Advance(TimeSpan.FromMinutes(2));
        await svc.AcknowledgeAsync(id, null, "dana", Ct);
        await svc.AcknowledgeAsync(manual.Id, null, "dana", Ct);

        var item = (await svc.ChecklistAsync(id, Ct)).Phases.SelectMany(p => p.Items).Single(i => i.Text == "Acknowledge incident alert");
        Assert.True(item.Done);
        Assert.Equal("dana", item.DoneBy);
        var untouched = (await svc.ChecklistAsync(manual.Id, Ct)).Phases.SelectMany(p => p.Items).Single(i => i.Text == "Acknowledge incident alert");
        Assert.False(untouched.Done);
    }

    [Fact]
    public async Task Alert_text_with_control_characters_becomes_a_valid_incident()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var evil = Alert("ServiceDown", "api\u202Eservice", "a:1", "critical", s.Time.GetUtcNow(), annotations: new Dictionary<string, string>
        {
            ["summary"] = "line one\nline two\u0000" + new string('x', 400),
        });
        Assert.Equal(1, (await svc.SyncAlertsAsync([evil], Ct)).Declared);
        var v = Assert.Single((await svc.ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items);
        Assert.StartsWith("line one line two", v.Title, StringComparison.Ordinal);
        Assert.True(v.Title.Length <= 200);
        Assert.DoesNotContain('\u202E', v.Impact.ServicesAffected[0]);
    }

    [Theory]
    [InlineData("      - matchers: ['alertname=\"ServiceDown\"']", "      - matchers: ['alertname ServiceDown']", "incidents.from_alerts.rules[0].matchers[0]", "not a matcher")]
    [InlineData("        severity: SEV2\n      - matchers: ['severity=\"critical\"']", "        severity: SEV9\n      - matchers: ['severity=\"critical\"']", "incidents.from_alerts.rules[0].severity", "unknown severity 'SEV9'")]
    public void A_bad_rule_names_file_line_and_key(string from, string to, string key, string problem)
    {
        var dir = Directory.CreateTempSubdirectory("wk-fa-").FullName;
        var path = TestServer.CopyConfig(dir, y =>
        {
            Assert.Contains(from, y, StringComparison.Ordinal);
            return y.Replace(from, to, StringComparison.Ordinal);
        });
        var ex = Assert.Throws<Watchkeeper.Metrics.Configuration.ConfigException>(() => ConfigLoader.Load(path));
        Assert.Contains(":" + key + ": ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Matches(@"watchkeeper\.yml:\d+:", ex.Message);
        Assert.DoesNotContain(":0:", ex.Message, StringComparison.Ordinal);
    }
    [Fact]
    public async Task An_SLA_breach_is_an_alert_until_the_incident_is_acknowledged_then_resolved_for_a_while()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var v = await svc.CreateAsync(new CreateIncidentRequest("Checkout down", "operational", "SEV1", null, null, null, null, null, null, null, null, null), "dana", Ct);
        Assert.Empty(await svc.SlaBreachAlertsAsync(Ct));

        s.Time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(1, await svc.CheckSlaAsync(Ct));
        var alert = Assert.Single(await svc.SlaBreachAlertsAsync(Ct));
        Assert.Equal("IncidentSlaBreached", alert.Labels["alertname"]);
        Assert.Equal(v.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), alert.Labels["incident_id"]);
        Assert.Equal("response", alert.Labels["sla"]);
        Assert.Equal("critical", alert.Labels["severity"]);
        Assert.Equal("SEV1", alert.Labels["incident_severity"]);
        Assert.Equal(v.ResponseSla.DueAt, alert.StartsAt);
        Assert.Null(alert.EndsAt);
        Assert.Equal($"SEV1 incident #{v.Id} missed its response SLA", alert.Annotations["summary"]);
        // An alert about an incident never declares another one.
        Assert.Null(svc.SeverityForAlert(alert.Labels));

        s.Time.Advance(TimeSpan.FromMinutes(1));
        await svc.AcknowledgeAsync(v.Id, null, "dana", Ct);
        var ended = Assert.Single(await svc.SlaBreachAlertsAsync(Ct));
        Assert.Equal(s.Time.GetUtcNow(), ended.EndsAt);

        s.Time.Advance(IncidentService.ResolvedBreachResend + TimeSpan.FromSeconds(1));
        Assert.Empty(await svc.SlaBreachAlertsAsync(Ct));

        // An hour after detection the resolution SLA is breached too.
        s.Time.Advance(TimeSpan.FromMinutes(40));
        Assert.Equal(1, await svc.CheckSlaAsync(Ct));
        Assert.Equal("resolution", Assert.Single(await svc.SlaBreachAlertsAsync(Ct)).Labels["sla"]);
    }
    [Fact]
    public async Task An_alert_posted_to_the_Alertmanager_API_opens_an_incident_and_shows_first_on_the_overview()
    {
        await using var s = await TestServer.StartAsync();
        using var c = await s.ClientAsAsync("responder");
        var starts = s.Time.GetUtcNow() - TimeSpan.FromSeconds(75);
        var body = "[{\"labels\":{\"alertname\":\"ServiceDown\",\"job\":\"api-service\",\"instance\":\"a:1\",\"severity\":\"critical\"},"
            + "\"annotations\":{\"summary\":\"Service api-service is down\"},\"startsAt\":\"" + starts.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + "\"}]";
        using (var r = await c.PostAsync("/alertmanager/api/v2/alerts", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct))
            Assert.Equal(System.Net.HttpStatusCode.OK, r.StatusCode);

        var result = await s.Get<AlertIncidentWorker>().RunOnceAsync(Ct);

        Assert.Equal(1, result.Declared);
        var incident = Assert.Single((await s.Get<IncidentService>().ListAsync("open", null, null, null, null, null, 10, null, Ct)).Items);
        Assert.Equal("SEV2", incident.Severity);
        Assert.Equal(starts.ToUnixTimeMilliseconds(), incident.DetectedAt.ToUnixTimeMilliseconds());
        var html = await c.GetStringAsync("/", Ct);
        var alerts = html.IndexOf("id=\"alerts\"", StringComparison.Ordinal);
        var services = html.IndexOf("id=\"services\"", StringComparison.Ordinal);
        Assert.True(alerts > 0 && services > alerts, "firing alerts come first");
        Assert.Contains("<span class=\"alert-count sev-critical\" data-severity=\"critical\">1 critical</span>", html);
        Assert.Contains("<tr data-alert=\"ServiceDown\">", html);
        Assert.Contains($"<tr data-id=\"{incident.Id}\">", html);
        // The worker runs again with nothing new: still one incident.
        Assert.Equal(0, (await s.Get<AlertIncidentWorker>().RunOnceAsync(Ct)).Declared);
    }
}
