using System.Net;
using System.Text.Json;
using Watchkeeper.Server.Incidents;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Every incident operation against both storage providers: the same HTTP calls and assertions run on
/// SQLite and on PostgreSQL, so a query that only works on one of them fails here.
/// </summary>
public sealed class IncidentStorageTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    private static async Task<TestServer> Start(string provider, Func<string, string>? editConfig = null)
    {
        var pg = provider == "postgres";
        TestServer.SkipUnlessAvailable(pg);
        return await TestServer.StartAsync(pg, editConfig, T0);
    }

    private static async Task<JsonElement> Declare(HttpClient c, string title, string severity, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["title"] = title, ["severity"] = severity };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToElement(extra, TestServer.Json).EnumerateObject()) body[p.Name] = p.Value;
        return await c.Post("/api/v1/incidents", body, HttpStatusCode.Created);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Declared_incident_round_trips_every_field_and_takes_defaults_from_the_severity_matrix(string provider)
    {
        await using var s = await Start(provider);
        var (responder, token) = await s.NewUserAsync("responder");
        using var c = s.Client(token);
        var detected = T0.AddMinutes(-3);
        var created = await Declare(c, "  Checkout API returns 500s  ", "sev2", new
        {
            kind = "operational",
            summary = "Checkout fails for most users",
            services_affected = new[] { "api-service", "Database", "api-service" },
            detection_source = "automated",
            commander = "alice",
            communications_lead = "bob",
            scribe = "carol",
            detected_at = detected,
        });
        var id = created.Long("id");
        var got = await c.Get($"/api/v1/incidents/{id}");
        foreach (var inc in new[] { created, got })
        {
            Assert.Equal("Checkout API returns 500s", inc.Str("title"));
            Assert.Equal("SEV2", inc.Str("severity"));
            Assert.Equal("operational", inc.Str("kind"));
            Assert.Equal("investigating", inc.Str("status"));
            Assert.Equal("Checkout fails for most users", inc.Str("summary"));
            var impact = inc.GetProperty("impact");
            Assert.Equal("Most users", impact.Str("users_affected"));
            Assert.Equal("Significant business impact", impact.Str("business_impact"));
            Assert.Equal(["api-service", "database"], impact.Items("services_affected").Select(x => x.GetString()));
            Assert.Equal("automated", inc.Str("detection_source"));
            Assert.Equal("alice", inc.GetProperty("roles").Str("commander"));
            Assert.Equal("bob", inc.GetProperty("roles").Str("communications_lead"));
            Assert.Equal("carol", inc.GetProperty("roles").Str("scribe"));
            Assert.Equal(detected, inc.Time("detected_at"));
            Assert.Equal(T0, inc.Time("created_at"));
            Assert.Equal(responder, inc.Str("created_by"));
            Assert.Equal(detected.AddMinutes(15), inc.GetProperty("response_sla").Time("due_at"));
            Assert.Equal(detected.AddHours(4), inc.GetProperty("resolution_sla").Time("due_at"));
            Assert.Equal(T0.AddHours(1), inc.Time("next_update_due_at"));
            Assert.True(inc.IsNull("acknowledged_at"));
            Assert.True(inc.IsNull("resolved_at"));
            Assert.Equal(1, inc.Long("version"));
            Assert.Equal(["identified", "monitoring", "resolved"], inc.Items("allowed_transitions").Select(x => x.GetString()));
        }

        var timeline = NoEscalation((await c.Get($"/api/v1/incidents/{id}/timeline")).Items());
        Assert.Equal(["created", "role_assigned"], timeline.Select(t => t.Str("kind")));
        Assert.All(timeline, t => Assert.Equal(responder, t.Str("author")));
        Assert.Contains("SEV2 operational incident declared: Checkout API returns 500s (detected via automated)", timeline[0].Str("message"));
        await c.Get("/api/v1/incidents/999999", HttpStatusCode.NotFound);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Create_rejects_bad_input_naming_the_field(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        async Task Bad(object body, string field)
        {
            var p = await c.Post("/api/v1/incidents", body, HttpStatusCode.BadRequest);
            Assert.True(p.GetProperty("errors").TryGetProperty(field, out _), $"expected an error for {field}: {p}");
        }
        await Bad(new { severity = "SEV1" }, "title");
        await Bad(new { title = "x" }, "severity");
        await Bad(new { title = "x", severity = "SEV1", kind = "weather" }, "kind");
        await Bad(new { title = "x", severity = "SEV1", detection_source = "psychic" }, "detection_source");
        await Bad(new { title = "x", severity = "SEV1", detected_at = T0.AddHours(2) }, "detected_at");
        await Bad(new { title = "x", severity = "SEV1", services_affected = new[] { "" } }, "services_affected[0]");
        await Bad(new { title = new string('x', 201), severity = "SEV1" }, "title");
        Assert.Equal(0, (await c.Get("/api/v1/incidents")).Long("total"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task List_filters_by_status_severity_kind_time_range_and_title(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var a = (await Declare(c, "Database down", "SEV1", new { detected_at = T0.AddDays(-2) })).Long("id");
        var b = (await Declare(c, "Slow search", "SEV3", new { detected_at = T0.AddDays(-1) })).Long("id");
        var d = (await Declare(c, "Phishing campaign", "SEV2", new { kind = "security", detected_at = T0.AddHours(-1) })).Long("id");
        var e = (await Declare(c, "Typo on status page", "SEV4")).Long("id");
        await c.Post($"/api/v1/incidents/{b}/status", new { status = "identified" });
        await c.Post($"/api/v1/incidents/{e}/resolve", new { message = "fixed" });

        async Task<long[]> Ids(string query)
        {
            var page = await c.Get("/api/v1/incidents" + query);
            var ids = page.Items("items").Select(i => i.Long("id")).ToArray();
            Assert.Equal(ids.Length, page.Long("total"));
            return ids;
        }
        Assert.Equal([e, d, b, a], await Ids(""));
        Assert.Equal([d, b, a], await Ids("?status=open"));
        Assert.Equal([e], await Ids("?status=resolved"));
        Assert.Equal([b, a], await Ids("?status=investigating,identified&kind=operational"));
        Assert.Equal([d, a], await Ids("?severity=SEV1,sev2"));
        Assert.Equal([a], await Ids("?severity=1"));
        Assert.Equal([d], await Ids("?kind=security"));
        Assert.Equal([e, b, a], await Ids("?kind=operational"));
        var from = Uri.EscapeDataString(T0.AddDays(-1).AddMinutes(-1).ToString("O"));
        var to = Uri.EscapeDataString(T0.ToString("O"));
        Assert.Equal([d, b], await Ids($"?from={from}&to={to}"));
        Assert.Equal([e, d, b], await Ids($"?from={from}"));
        Assert.Equal([a], await Ids($"?to={Uri.EscapeDataString(T0.AddDays(-1).ToString("O"))}"));
        Assert.Equal([a], await Ids("?q=DATABASE"));
        Assert.Equal([b], await Ids("?q=search&status=identified"));

        await c.Get("/api/v1/incidents?status=sleeping", HttpStatusCode.BadRequest);
        await c.Get("/api/v1/incidents?severity=SEV9", HttpStatusCode.BadRequest);
        await c.Get("/api/v1/incidents?kind=weather", HttpStatusCode.BadRequest);
        await c.Get("/api/v1/incidents?from=yesterday", HttpStatusCode.BadRequest);
        await c.Get($"/api/v1/incidents?from={to}&to={from}", HttpStatusCode.BadRequest);
        await c.Get("/api/v1/incidents?limit=0", HttpStatusCode.BadRequest);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task List_pages_newest_first_with_a_cursor_until_every_incident_is_seen_once(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var ids = new List<long>();
        for (var i = 0; i < 7; i++) ids.Add((await Declare(c, $"incident {i}", i % 2 == 0 ? "SEV3" : "SEV4")).Long("id"));

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await c.Get("/api/v1/incidents?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.Equal(7, page.Long("total"));
            seen.AddRange(page.Items("items").Select(x => x.Long("id")));
            cursor = page.IsNull("next_cursor") ? null : page.Long("next_cursor").ToString(System.Globalization.CultureInfo.InvariantCulture);
            pages++;
        } while (cursor is not null && pages < 10);
        Assert.Equal(3, pages);
        Assert.Equal(ids.OrderDescending(), seen);

        // The cursor combines with filters: SEV3 are ids 0, 2, 4, 6.
        var first = await c.Get("/api/v1/incidents?severity=SEV3&limit=2");
        Assert.Equal([ids[6], ids[4]], first.Items("items").Select(x => x.Long("id")));
        var second = await c.Get($"/api/v1/incidents?severity=SEV3&limit=2&cursor={first.Long("next_cursor")}");
        Assert.Equal([ids[2], ids[0]], second.Items("items").Select(x => x.Long("id")));
        Assert.True(second.IsNull("next_cursor"));
        Assert.Equal(4, second.Long("total"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Update_changes_fields_records_timeline_and_a_severity_change_moves_the_sla_clocks(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await Declare(c, "Latency", "SEV3")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(2));
        var u = await c.Patch($"/api/v1/incidents/{id}", new
        {
            title = "Latency on all endpoints",
            summary = "p99 above 2s",
            users_affected = "All users",
            services_affected = new[] { "cache" },
            business_impact = "Orders slowed",
            severity = "SEV1",
        }, ifMatch: "\"1\"");
        Assert.Equal("Latency on all endpoints", u.Str("title"));
        Assert.Equal("SEV1", u.Str("severity"));
        Assert.Equal("p99 above 2s", u.Str("summary"));
        Assert.Equal("All users", u.GetProperty("impact").Str("users_affected"));
        Assert.Equal(["cache"], u.GetProperty("impact").Items("services_affected").Select(x => x.GetString()));
        Assert.Equal("Orders slowed", u.GetProperty("impact").Str("business_impact"));
        Assert.Equal(T0.AddMinutes(5), u.GetProperty("response_sla").Time("due_at"));
        Assert.Equal(T0.AddHours(1), u.GetProperty("resolution_sla").Time("due_at"));
        Assert.Equal(T0.AddMinutes(2), u.Time("updated_at"));
        Assert.Equal(2, u.Long("version"));

        var got = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal("SEV1", got.Str("severity"));
        Assert.Equal(300, got.GetProperty("response_sla").Dbl("target_seconds"));
        var tl = NoEscalation((await c.Get($"/api/v1/incidents/{id}/timeline")).Items());
        Assert.Equal(["created", "severity_changed", "updated"], tl.Select(t => t.Str("kind")));
        Assert.Equal("Severity changed from SEV3 to SEV1", tl[1].Str("message"));
        Assert.Contains("title set to \"Latency on all endpoints\"", tl[2].Str("message"));

        await c.Patch($"/api/v1/incidents/{id}", new { severity = "SEV7" }, HttpStatusCode.BadRequest);
        await c.Patch($"/api/v1/incidents/{id}", new { title = " " }, HttpStatusCode.BadRequest);
        await c.Patch("/api/v1/incidents/424242", new { title = "x" }, HttpStatusCode.NotFound);
        Assert.Equal(2, (await c.Get($"/api/v1/incidents/{id}")).Long("version"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Transitions_follow_the_lifecycle_and_a_resolved_incident_can_be_reopened(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await Declare(c, "Queue backlog", "SEV2")).Long("id");

        s.Time.Advance(TimeSpan.FromMinutes(4));
        var identified = await c.Post($"/api/v1/incidents/{id}/status", new { status = "identified", message = "consumer stuck" });
        Assert.Equal("identified", identified.Str("status"));
        Assert.Equal(T0.AddMinutes(4), identified.Time("acknowledged_at"));
        Assert.True(identified.IsNull("mitigated_at"));

        s.Time.Advance(TimeSpan.FromMinutes(10));
        var monitoring = await c.Post($"/api/v1/incidents/{id}/status", new { status = "monitoring" });
        Assert.Equal(T0.AddMinutes(14), monitoring.Time("mitigated_at"));
        Assert.Equal(T0.AddMinutes(4), monitoring.Time("acknowledged_at"));

        var back = await c.Post($"/api/v1/incidents/{id}/status", new { status = "identified", message = "fix did not hold" });
        Assert.Equal("identified", back.Str("status"));

        s.Time.Advance(TimeSpan.FromMinutes(16));
        var resolved = await c.Post($"/api/v1/incidents/{id}/resolve", new { message = "restarted consumer" });
        Assert.Equal("resolved", resolved.Str("status"));
        Assert.Equal(T0.AddMinutes(30), resolved.Time("resolved_at"));
        Assert.True(resolved.IsNull("next_update_due_at"));
        Assert.False(resolved.Bool("status_update_overdue"));
        Assert.Equal(["investigating"], resolved.Items("allowed_transitions").Select(x => x.GetString()));
        Assert.Equal(1800, resolved.GetProperty("resolution_sla").Dbl("elapsed_seconds"));
        Assert.False(resolved.GetProperty("resolution_sla").Bool("breached"));

        var conflict = await c.Post($"/api/v1/incidents/{id}/status", new { status = "monitoring" }, HttpStatusCode.Conflict);
        Assert.Equal("resolved", conflict.Str("current_status"));
        await c.Post($"/api/v1/incidents/{id}/status", new { status = "resolved" }, HttpStatusCode.Conflict);
        await c.Post($"/api/v1/incidents/{id}/status", new { status = "asleep" }, HttpStatusCode.BadRequest);

        s.Time.Advance(TimeSpan.FromMinutes(5));
        var reopened = await c.Post($"/api/v1/incidents/{id}/reopen", new { message = "errors are back" });
        Assert.Equal("investigating", reopened.Str("status"));
        Assert.True(reopened.IsNull("resolved_at"));
        Assert.Equal(T0.AddMinutes(35).AddHours(1), reopened.Time("next_update_due_at"));
        Assert.Equal(T0.AddMinutes(4), reopened.Time("acknowledged_at"));

        var got = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal("investigating", got.Str("status"));
        Assert.True(got.IsNull("resolved_at"));
        var tl = NoEscalation((await c.Get($"/api/v1/incidents/{id}/timeline")).Items());
        Assert.Equal(["created", "acknowledged", "status_changed", "status_changed", "status_changed", "resolved", "reopened"], tl.Select(t => t.Str("kind")));
        Assert.Equal("Status changed from Investigating to Identified: consumer stuck", tl[2].Str("message"));
        Assert.Equal("Status changed from Resolved to Investigating: errors are back", tl[6].Str("message"));
        Assert.Equal(T0.AddMinutes(35), tl[6].Time("at"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Concurrent_changes_without_if_match_all_succeed_and_keep_every_entry(string provider)
    {
        await using var s = await Start(provider);
        var token = await s.AdminApiTokenAsync();
        using var c = s.Client(token);
        var id = (await Declare(c, "Busy incident", "SEV2")).Long("id");
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            using var w = s.Client(token);
            using var r = i % 2 == 0
                ? await w.PostAsync($"/api/v1/incidents/{id}/notes", System.Net.Http.Json.JsonContent.Create(new { text = $"note {i}" }))
                : await w.PostAsync($"/api/v1/incidents/{id}/status-updates", System.Net.Http.Json.JsonContent.Create(new { current_status = $"update {i}" }));
            return (i, r.StatusCode, await r.Content.ReadAsStringAsync());
        }));
        Assert.All(results, x => Assert.True(x.StatusCode == HttpStatusCode.Created, $"request {x.i}: {(int)x.StatusCode} {x.Item3}"));
        var inc = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal(17, inc.Long("version"));
        Assert.Equal(8, (await c.Get($"/api/v1/incidents/{id}/status-updates")).Items().Count);
        Assert.Equal(8, (await c.Get($"/api/v1/incidents/{id}/timeline")).Items().Count(t => t.Str("kind") == "note"));
        Assert.True((await s.Get<Watchkeeper.Server.Platform.AuditLog>().VerifyAsync()).Ok);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Acknowledge_stamps_the_time_once_and_a_second_acknowledge_is_a_conflict(string provider)
    {
        await using var s = await Start(provider);
        var (responder, token) = await s.NewUserAsync("responder");
        using var c = s.Client(token);
        var id = (await Declare(c, "Disk full", "SEV3")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(12));
        var acked = await c.Post($"/api/v1/incidents/{id}/acknowledge", ifMatch: "\"1\"");
        Assert.Equal(T0.AddMinutes(12), acked.Time("acknowledged_at"));
        Assert.Equal("investigating", acked.Str("status"));
        var sla = acked.GetProperty("response_sla");
        Assert.Equal(720, sla.Dbl("elapsed_seconds"));
        Assert.Equal(T0.AddMinutes(12), sla.Time("met_at"));
        Assert.False(sla.Bool("breached"));
        Assert.Equal(2880, sla.Dbl("remaining_seconds"));

        var again = await c.Post($"/api/v1/incidents/{id}/acknowledge", expect: HttpStatusCode.Conflict);
        Assert.Contains("already acknowledged", again.Str("detail"));
        var tl = NoEscalation((await c.Get($"/api/v1/incidents/{id}/timeline")).Items());
        var ack = Assert.Single(tl, t => t.Str("kind") == "acknowledged");
        Assert.Equal($"Acknowledged by {responder} after 12m", ack.Str("message"));
        Assert.Empty((await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Roles_are_assigned_changed_and_unassigned(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await Declare(c, "CDN errors", "SEV2")).Long("id");
        var r1 = await c.Put($"/api/v1/incidents/{id}/roles", new { commander = "alice", communications_lead = "bob", scribe = "carol" });
        Assert.Equal("alice", r1.GetProperty("roles").Str("commander"));
        var r2 = await c.Put($"/api/v1/incidents/{id}/roles", new { commander = "dave", scribe = "" });
        Assert.Equal("dave", r2.GetProperty("roles").Str("commander"));
        Assert.Equal("bob", r2.GetProperty("roles").Str("communications_lead"));
        Assert.Null(r2.GetProperty("roles").StrOrNull("scribe"));
        await c.Put($"/api/v1/incidents/{id}/roles", new { }, HttpStatusCode.BadRequest);

        var got = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal("dave", got.GetProperty("roles").Str("commander"));
        Assert.Null(got.GetProperty("roles").StrOrNull("scribe"));
        var msgs = (await c.Get($"/api/v1/incidents/{id}/timeline")).Items().Where(t => t.Str("kind") == "role_assigned").Select(t => t.Str("message"));
        Assert.Equal(["Incident commander: alice", "Communications lead: bob", "Scribe: carol", "Incident commander: dave", "Scribe unassigned"], msgs);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Timeline_keeps_notes_and_changes_in_order_with_their_authors_and_times(string provider)
    {
        await using var s = await Start(provider);
        var (alice, aliceToken) = await s.NewUserAsync("responder", "alice");
        var (bob, bobToken) = await s.NewUserAsync("responder", "bob");
        using var a = s.Client(aliceToken);
        using var b = s.Client(bobToken);
        var id = (await Declare(a, "Login failures", "SEV2")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(1));
        var note = await b.Post($"/api/v1/incidents/{id}/notes", new { text = "  Seeing 401s from the IdP  " }, HttpStatusCode.Created);
        Assert.Equal("Seeing 401s from the IdP", note.Str("message"));
        Assert.Equal(bob, note.Str("author"));
        s.Time.Advance(TimeSpan.FromMinutes(1));
        await a.Post($"/api/v1/incidents/{id}/acknowledge");
        s.Time.Advance(TimeSpan.FromMinutes(1));
        await b.Post($"/api/v1/incidents/{id}/notes", new { text = "IdP certificate expired" }, HttpStatusCode.Created);
        await b.Post($"/api/v1/incidents/{id}/notes", new { text = "" }, HttpStatusCode.BadRequest);
        await b.Post("/api/v1/incidents/999/notes", new { text = "x" }, HttpStatusCode.NotFound);

        var tl = NoEscalation((await a.Get($"/api/v1/incidents/{id}/timeline")).Items());
        Assert.Equal([("created", alice), ("note", bob), ("acknowledged", alice), ("note", bob)], tl.Select(t => (t.Str("kind"), t.Str("author"))));
        Assert.Equal([T0, T0.AddMinutes(1), T0.AddMinutes(2), T0.AddMinutes(3)], tl.Select(t => t.Time("at")));
        Assert.Equal("IdP certificate expired", tl[3].Str("message"));
        Assert.True(tl.Select(t => t.Long("id")).SequenceEqual(tl.Select(t => t.Long("id")).Order()));
        await a.Get("/api/v1/incidents/999/timeline", HttpStatusCode.NotFound);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Status_update_is_rendered_from_the_template_with_every_field_and_sets_the_next_update_due(string provider)
    {
        await using var s = await Start(provider);
        var (responder, token) = await s.NewUserAsync("responder");
        using var c = s.Client(token);
        var id = (await Declare(c, "Payments degraded", "SEV1", new
        {
            summary = "Card payments time out",
            users_affected = "About 40% of buyers",
            services_affected = new[] { "database", "api-service" },
            business_impact = "Lost orders",
        })).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(7));
        var u = await c.Post($"/api/v1/incidents/{id}/status-updates",
            new { current_status = "Failing over to the secondary processor", visibility = "public", status = "identified" }, HttpStatusCode.Created);
        Assert.Equal(responder, u.Str("author"));
        Assert.Equal("public", u.Str("visibility"));
        Assert.Equal("identified", u.Str("status"));
        Assert.Equal(T0.AddMinutes(7), u.Time("at"));
        Assert.Equal(T0.AddMinutes(37), u.Time("next_update_at"));
        var body = u.Str("body");
        Assert.DoesNotContain("{{", body);
        Assert.Contains("## Incident: Payments degraded", body);
        Assert.Contains("**Severity**: SEV1", body);
        Assert.Contains("**Status**: Identified", body);
        Assert.Contains("**Last Updated**: 2026-11-02 09:07 UTC", body);
        Assert.Contains("## Summary\nCard payments time out", body);
        Assert.Contains("- **Users Affected**: About 40% of buyers", body);
        Assert.Contains("- **Services Affected**: database, api-service", body);
        Assert.Contains("- **Business Impact**: Lost orders", body);
        Assert.Contains("## Current Status\nFailing over to the secondary processor", body);
        Assert.Contains("## Next Update\nBy 2026-11-02 09:37 UTC", body);
        Assert.Contains("## Contact\nIncident response team: #incident-response on Slack, or page the on-call engineer", body);

        var inc = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal("identified", inc.Str("status"));
        Assert.Equal(T0.AddMinutes(37), inc.Time("next_update_due_at"));
        Assert.Equal(T0.AddMinutes(7), inc.Time("acknowledged_at"));

        s.Time.Advance(TimeSpan.FromMinutes(3));
        var internalUpdate = await c.Post($"/api/v1/incidents/{id}/status-updates",
            new { current_status = "Secondary processor healthy", next_update_in = "15m" }, HttpStatusCode.Created);
        Assert.Equal("internal", internalUpdate.Str("visibility"));
        Assert.Equal(T0.AddMinutes(25), internalUpdate.Time("next_update_at"));
        Assert.Equal(T0.AddMinutes(25), (await c.Get($"/api/v1/incidents/{id}")).Time("next_update_due_at"));
        await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "x", next_update_in = "soon" }, HttpStatusCode.BadRequest);
        await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "" }, HttpStatusCode.BadRequest);
        await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "x", visibility = "secret" }, HttpStatusCode.BadRequest);

        var all = (await c.Get($"/api/v1/incidents/{id}/status-updates")).Items();
        Assert.Equal(["Failing over to the secondary processor", "Secondary processor healthy"], all.Select(x => x.Str("current_status")));
        Assert.Equal(body, all[0].Str("body"));
        var pub = (await c.Get($"/api/v1/incidents/{id}/status-updates?visibility=public")).Items();
        Assert.Single(pub);
        await c.Get($"/api/v1/incidents/{id}/status-updates?visibility=secret", HttpStatusCode.BadRequest);
        await c.Get("/api/v1/incidents/999999/status-updates", HttpStatusCode.NotFound);

        s.Time.Advance(TimeSpan.FromMinutes(5));
        var final = await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Resolved", status = "resolved" }, HttpStatusCode.Created);
        Assert.True(final.IsNull("next_update_at"));
        Assert.Contains("## Next Update\nNo further updates planned: the incident is resolved.", final.Str("body"));
        var resolved = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal("resolved", resolved.Str("status"));
        Assert.True(resolved.IsNull("next_update_due_at"));
        Assert.Equal(T0.AddMinutes(15), resolved.Time("resolved_at"));
        var kinds = (await c.Get($"/api/v1/incidents/{id}/timeline")).Items().Select(t => t.Str("kind")).ToList();
        Assert.Equal(3, kinds.Count(k => k == "status_update"));
        Assert.Contains("resolved", kinds);

        // A status update can reopen the incident, exactly like the reopen endpoint does.
        s.Time.Advance(TimeSpan.FromMinutes(5));
        var again = await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Errors are back", status = "investigating" }, HttpStatusCode.Created);
        Assert.Equal(T0.AddMinutes(50), again.Time("next_update_at"));
        var reopened = await c.Get($"/api/v1/incidents/{id}");
        Assert.Equal("investigating", reopened.Str("status"));
        Assert.True(reopened.IsNull("resolved_at"));
        Assert.Equal(T0.AddMinutes(50), reopened.Time("next_update_due_at"));
        var last = NoEscalation((await c.Get($"/api/v1/incidents/{id}/timeline")).Items()).TakeLast(2).Select(t => t.Str("kind"));
        Assert.Equal(["reopened", "status_update"], last);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Status_update_becomes_overdue_when_the_update_interval_passes(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await Declare(c, "Search down", "SEV1")).Long("id"); // SEV1: an update every 30 minutes
        s.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.False((await c.Get($"/api/v1/incidents/{id}")).Bool("status_update_overdue"));
        s.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await c.Get($"/api/v1/incidents/{id}")).Bool("status_update_overdue"));
        Assert.True((await c.Get("/api/v1/incidents")).Items("items")[0].Bool("status_update_overdue"));

        await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Rebuilding the index" }, HttpStatusCode.Created);
        var fresh = await c.Get($"/api/v1/incidents/{id}");
        Assert.False(fresh.Bool("status_update_overdue"));
        Assert.Equal(T0.AddMinutes(30).AddSeconds(1).AddMinutes(30), fresh.Time("next_update_due_at"));

        s.Time.Advance(TimeSpan.FromHours(1));
        Assert.True((await c.Get($"/api/v1/incidents/{id}")).Bool("status_update_overdue"));
        await c.Post($"/api/v1/incidents/{id}/resolve");
        s.Time.Advance(TimeSpan.FromDays(1));
        Assert.False((await c.Get($"/api/v1/incidents/{id}")).Bool("status_update_overdue"));
    }

    private static readonly string[] OperationalPhases = ["Immediate Response", "Initial Assessment", "Response Execution", "Resolution", "Post-Incident"];

    [Theory, MemberData(nameof(Providers))]
    public async Task Checklist_comes_from_the_seed_per_phase_records_who_and_when_and_flags_overdue_phases(string provider)
    {
        await using var s = await Start(provider);
        var (responder, token) = await s.NewUserAsync("responder");
        using var c = s.Client(token);
        var id = (await Declare(c, "Outage", "SEV1")).Long("id");
        var cl = await c.Get($"/api/v1/incidents/{id}/checklist");
        Assert.Equal("Incident Response Checklist", cl.Str("checklist"));
        var phases = cl.Items("phases");
        Assert.Equal(OperationalPhases, phases.Select(p => p.Str("title")));
        Assert.Equal([T0, T0.AddMinutes(5), T0.AddMinutes(15), T0.AddHours(4), T0.AddHours(24)], phases.Select(p => p.Time("starts_at")));
        Assert.Equal([T0.AddMinutes(5), T0.AddMinutes(15), T0.AddHours(4), T0.AddHours(24), T0.AddHours(72)], phases.Select(p => p.Time("due_at")));
        Assert.Equal(["Acknowledge incident alert", "Assess incident severity and impact", "Designate incident commander", "Notify on-call engineer"],
            phases[0].Items("items").Select(i => i.Str("text")));
        Assert.Equal("Implement preventive measures", phases[4].Items("items")[3].Str("text"));
        Assert.All(phases, p => Assert.Equal(4, p.Long("total")));
        Assert.Equal(20, cl.Long("total"));
        Assert.Equal(0, cl.Long("overdue"));

        var first = phases[0].Items("items");
        s.Time.Advance(TimeSpan.FromMinutes(2));
        foreach (var item in first)
            await c.Post($"/api/v1/incidents/{id}/checklist/{item.Long("id")}", new { done = true });
        var secondPhase = phases[1].Items("items");
        var checkedView = await c.Post($"/api/v1/incidents/{id}/checklist/{secondPhase[0].Long("id")}", new { done = true });
        var p0 = checkedView.Items("phases")[0];
        Assert.Equal(4, p0.Long("done"));
        Assert.All(p0.Items("items"), i =>
        {
            Assert.True(i.Bool("done"));
            Assert.Equal(responder, i.Str("done_by"));
            Assert.Equal(T0.AddMinutes(2), i.Time("done_at"));
        });

        // 16 minutes in: phase 1 is complete (not overdue), phase 2 is past due with 3 items open.
        s.Time.Advance(TimeSpan.FromMinutes(14));
        cl = await c.Get($"/api/v1/incidents/{id}/checklist");
        phases = cl.Items("phases");
        Assert.False(phases[0].Bool("overdue"));
        Assert.True(phases[1].Bool("overdue"));
        Assert.False(phases[1].Items("items")[0].Bool("overdue"));
        Assert.True(phases[1].Items("items")[1].Bool("overdue"));
        Assert.False(phases[2].Bool("overdue"));
        Assert.Equal(3, cl.Long("overdue"));
        Assert.Equal(5, cl.Long("done"));

        // Unchecking clears who and when, and the item is overdue again.
        var un = await c.Post($"/api/v1/incidents/{id}/checklist/{secondPhase[0].Long("id")}", new { done = false });
        var unItem = un.Items("phases")[1].Items("items")[0];
        Assert.False(unItem.Bool("done"));
        Assert.True(unItem.IsNull("done_by"));
        Assert.True(unItem.IsNull("done_at"));
        Assert.Equal(4, un.Long("overdue"));

        await c.Post($"/api/v1/incidents/{id}/checklist/999999", new { done = true }, HttpStatusCode.NotFound);
        var tl = (await c.Get($"/api/v1/incidents/{id}/timeline")).Items().Where(t => t.Str("kind") == "checklist_item").Select(t => t.Str("message")).ToList();
        Assert.Equal(6, tl.Count);
        Assert.Equal("Checked [Immediate Response] Acknowledge incident alert", tl[0]);
        Assert.Equal("Unchecked [Initial Assessment] Gather initial information", tl[5]);

        // Once resolved nothing is late any more.
        await c.Post($"/api/v1/incidents/{id}/resolve");
        Assert.Equal(0, (await c.Get($"/api/v1/incidents/{id}/checklist")).Long("overdue"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Security_incidents_get_the_security_checklist(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var sec = (await Declare(c, "Credential stuffing", "SEV2", new { kind = "security" })).Long("id");
        var cl = await c.Get($"/api/v1/incidents/{sec}/checklist");
        Assert.Equal("Security Incident Response Checklist", cl.Str("checklist"));
        var phases = cl.Items("phases");
        Assert.Equal(["Detection", "Assessment", "Response", "Recovery", "Post-Incident"], phases.Select(p => p.Str("title")));
        Assert.Equal(["Contain immediate threat", "Preserve evidence", "Notify stakeholders"], phases[2].Items("items").Select(i => i.Str("text")));
        Assert.Equal(14, cl.Long("total"));

        var op = (await Declare(c, "Disk full", "SEV3")).Long("id");
        Assert.Equal("Incident Response Checklist", (await c.Get($"/api/v1/incidents/{op}/checklist")).Str("checklist"));
        await c.Get("/api/v1/incidents/999999/checklist", HttpStatusCode.NotFound);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Sla_clocks_run_from_detection_and_CheckSlaAsync_records_each_breach_once(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var sla = s.Get<IncidentService>();
        var id = (await Declare(c, "Replication lag", "SEV2")).Long("id"); // 15m response, 4h resolution
        var other = (await Declare(c, "Minor glitch", "SEV4")).Long("id"); // 4h response, 72h resolution

        s.Time.Advance(TimeSpan.FromMinutes(10));
        var inc = await c.Get($"/api/v1/incidents/{id}");
        Assert.False(inc.GetProperty("response_sla").Bool("breached"));
        Assert.Equal(300, inc.GetProperty("response_sla").Dbl("remaining_seconds"));
        Assert.True(inc.GetProperty("response_sla").IsNull("elapsed_seconds"));
        Assert.Equal(0, await sla.CheckSlaAsync());

        s.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await sla.CheckSlaAsync()); // exactly at the due time is still in time
        s.Time.Advance(TimeSpan.FromSeconds(1));
        inc = await c.Get($"/api/v1/incidents/{id}");
        Assert.True(inc.GetProperty("response_sla").Bool("breached"));
        Assert.Equal(-1, inc.GetProperty("response_sla").Dbl("remaining_seconds"));
        Assert.Equal(1, await sla.CheckSlaAsync());
        Assert.Equal(0, await sla.CheckSlaAsync());

        var breaches = (await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items();
        var b = Assert.Single(breaches);
        Assert.Equal("response", b.Str("kind"));
        Assert.Equal("SEV2", b.Str("severity"));
        Assert.Equal(T0.AddMinutes(15), b.Time("due_at"));
        Assert.Equal(T0.AddMinutes(15).AddSeconds(1), b.Time("breached_at"));

        // A late acknowledgement does not record the same breach twice.
        await c.Post($"/api/v1/incidents/{id}/acknowledge");
        Assert.Single((await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items());

        s.Time.Advance(TimeSpan.FromHours(4)); // SEV2 resolution (4h) and SEV4 response (4h) have both run out
        Assert.Equal(2, await sla.CheckSlaAsync());
        Assert.Equal(0, await sla.CheckSlaAsync());
        inc = await c.Get($"/api/v1/incidents/{id}");
        Assert.True(inc.GetProperty("resolution_sla").Bool("breached"));
        Assert.Equal(["response", "resolution"], (await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items().Select(x => x.Str("kind")));
        var sevFour = await c.Get($"/api/v1/incidents/{other}");
        Assert.True(sevFour.GetProperty("response_sla").Bool("breached"));
        Assert.Equal(1, (await c.Get("/api/v1/sla-breaches")).Items().Count(x => x.Long("incident_id") == other));

        // Resolving late does not add a second resolution breach either.
        await c.Post($"/api/v1/incidents/{id}/resolve");
        Assert.Equal(2, (await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items().Count);
        var tl = (await c.Get($"/api/v1/incidents/{id}/timeline")).Items().Where(t => t.Str("kind") == "sla_breach").ToList();
        Assert.Equal(2, tl.Count);
        Assert.All(tl, t => Assert.Equal("watchkeeper", t.Str("author")));
        Assert.StartsWith("SEV2 response SLA breached: due 2026-11-02 09:15:00 UTC (15m after detection)", tl[0].Str("message"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Late_acknowledgement_and_late_resolution_record_breaches_without_the_checker(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await Declare(c, "Total outage", "SEV1")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(6));
        var acked = await c.Post($"/api/v1/incidents/{id}/acknowledge");
        Assert.True(acked.GetProperty("response_sla").Bool("breached"));
        Assert.Equal(360, acked.GetProperty("response_sla").Dbl("elapsed_seconds"));
        var b = Assert.Single((await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items());
        Assert.Equal("response", b.Str("kind"));
        Assert.Equal(T0.AddMinutes(6), b.Time("breached_at"));

        s.Time.Advance(TimeSpan.FromMinutes(55));
        var resolved = await c.Post($"/api/v1/incidents/{id}/resolve");
        Assert.True(resolved.GetProperty("resolution_sla").Bool("breached"));
        Assert.Equal(["response", "resolution"], (await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items().Select(x => x.Str("kind")));
        Assert.Equal(0, await s.Get<IncidentService>().CheckSlaAsync());

        // Acknowledging via a status change is just as late.
        var other = (await Declare(c, "Second outage", "SEV1")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(7));
        await c.Post($"/api/v1/incidents/{other}/status", new { status = "identified" });
        Assert.Equal("response", Assert.Single((await c.Get($"/api/v1/incidents/{other}/sla-breaches")).Items()).Str("kind"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Postmortem_pulls_in_the_timeline_and_action_items_are_tracked_to_completion(string provider)
    {
        await using var s = await Start(provider);
        var (responder, token) = await s.NewUserAsync("responder");
        using var c = s.Client(token);
        var id = (await Declare(c, "Checkout outage", "SEV1", new { summary = "Checkout returned errors" })).Long("id");
        await c.Post($"/api/v1/incidents/{id}/notes", new { text = "Rolled back release 42" }, HttpStatusCode.Created);
        s.Time.Advance(TimeSpan.FromMinutes(20));
        await c.Post($"/api/v1/incidents/{id}/resolve", new { message = "rollback complete" });

        var empty = await c.Get($"/api/v1/incidents/{id}/postmortem");
        Assert.True(empty.IsNull("updated_at"));
        // Resolving an unacknowledged SEV1 after 20 minutes acknowledges it late.
        Assert.Equal(["created", "note", "acknowledged", "sla_breach", "resolved"], NoEscalation(empty.Items("timeline")).Select(t => t.Str("kind")));

        s.Time.Advance(TimeSpan.FromHours(1));
        var pm = await c.Put($"/api/v1/incidents/{id}/postmortem", new
        {
            summary = "A bad release broke checkout for 20 minutes",
            impact = "All buyers could not pay",
            root_cause = "Missing database migration",
            lessons_learned = "Run migrations before deploys",
        });
        Assert.Equal("Missing database migration", pm.Str("root_cause"));
        Assert.Equal(responder, pm.Str("updated_by"));
        Assert.Equal(T0.AddMinutes(80), pm.Time("updated_at"));

        var due = T0.AddDays(7);
        var ai = await c.Post($"/api/v1/incidents/{id}/action-items", new { title = "Add migration check to CI", owner = "alice", due_at = due }, HttpStatusCode.Created);
        Assert.Equal("open", ai.Str("status"));
        Assert.Equal(due, ai.Time("due_at"));
        Assert.False(ai.Bool("overdue"));
        var ai2 = await c.Post($"/api/v1/incidents/{id}/action-items", new { title = "Write deploy runbook", owner = "bob" }, HttpStatusCode.Created);
        await c.Post($"/api/v1/incidents/{id}/action-items", new { title = "", owner = "bob" }, HttpStatusCode.BadRequest);
        await c.Post($"/api/v1/incidents/{id}/action-items", new { title = "x", owner = "bob", status = "someday" }, HttpStatusCode.BadRequest);

        var full = await c.Get($"/api/v1/incidents/{id}/postmortem");
        Assert.Equal("A bad release broke checkout for 20 minutes", full.Str("summary"));
        Assert.Equal("All buyers could not pay", full.Str("impact"));
        Assert.Equal("Run migrations before deploys", full.Str("lessons_learned"));
        var timeline = NoEscalation(full.Items("timeline"));
        Assert.Equal(["created", "note", "acknowledged", "sla_breach", "resolved", "postmortem", "action_item", "action_item"], timeline.Select(t => t.Str("kind")));
        Assert.Equal(2, full.Items("action_items").Count);
        var md = full.Str("markdown");
        Assert.Contains("# Postmortem: Checkout outage", md);
        Assert.Contains("**Severity**: SEV1", md);
        Assert.Contains($"2026-11-02 09:00:00 UTC ({responder}) Rolled back release 42", md);
        Assert.Contains("## Root cause\nMissing database migration", md);
        Assert.Contains("- [ ] Add migration check to CI (owner: alice, due 2026-11-09, open)", md);

        // Partial update keeps the other fields.
        var partial = await c.Put($"/api/v1/incidents/{id}/postmortem", new { root_cause = "Migration skipped by the deploy script" });
        Assert.Equal("A bad release broke checkout for 20 minutes", partial.Str("summary"));
        Assert.Equal("Migration skipped by the deploy script", partial.Str("root_cause"));

        // Action items: overdue after the due date, done sets completed_at, reopening clears it.
        s.Time.Advance(TimeSpan.FromDays(8));
        var items = (await c.Get($"/api/v1/incidents/{id}/action-items")).Items();
        Assert.True(items[0].Bool("overdue"));
        Assert.False(items[1].Bool("overdue"));
        var done = await c.Patch($"/api/v1/incidents/{id}/action-items/{ai.Long("id")}", new { status = "done" });
        Assert.Equal(s.Time.GetUtcNow(), done.Time("completed_at"));
        Assert.False(done.Bool("overdue"));
        var moved = await c.Patch($"/api/v1/incidents/{id}/action-items/{ai2.Long("id")}", new { owner = "carol", status = "in_progress" });
        Assert.Equal("carol", moved.Str("owner"));
        Assert.True(moved.IsNull("completed_at"));
        await c.Patch($"/api/v1/incidents/{id}/action-items/999999", new { status = "done" }, HttpStatusCode.NotFound);

        Assert.Equal([ai2.Long("id")], (await c.Get("/api/v1/action-items?status=in_progress")).Items().Select(x => x.Long("id")));
        Assert.Equal([ai.Long("id")], (await c.Get("/api/v1/action-items?status=done")).Items().Select(x => x.Long("id")));
        Assert.Equal(2, (await c.Get("/api/v1/action-items")).Items().Count);
        Assert.Single((await c.Get("/api/v1/action-items?status=DONE")).Items());
        await c.Get("/api/v1/action-items?status=finished", HttpStatusCode.BadRequest);
        Assert.Contains("- [x] Add migration check to CI (owner: alice, due 2026-11-09, done)", (await c.Get($"/api/v1/incidents/{id}/postmortem")).Str("markdown"));
        await c.Get("/api/v1/incidents/999999/postmortem", HttpStatusCode.NotFound);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Report_gives_mtta_and_mttr_by_severity_breach_counts_and_the_trend(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        // Day 1 (T0): two SEV1 incidents. A: ack after 2m, resolved after 30m. B: ack after 6m (late), resolved after 70m (late).
        var a = (await Declare(c, "A", "SEV1")).Long("id");
        var b = (await Declare(c, "B", "SEV1")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(2));
        await c.Post($"/api/v1/incidents/{a}/acknowledge");
        s.Time.Advance(TimeSpan.FromMinutes(4));
        await c.Post($"/api/v1/incidents/{b}/acknowledge");
        s.Time.Advance(TimeSpan.FromMinutes(24));
        await c.Post($"/api/v1/incidents/{a}/resolve");
        s.Time.Advance(TimeSpan.FromMinutes(40));
        await c.Post($"/api/v1/incidents/{b}/resolve");
        // Day 2: one SEV3, acknowledged after 10m and still open; one SEV4 never acknowledged.
        s.Time.Advance(TimeSpan.FromDays(1));
        var day2 = s.Time.GetUtcNow();
        var d = (await Declare(c, "D", "SEV3")).Long("id");
        await Declare(c, "E", "SEV4");
        s.Time.Advance(TimeSpan.FromMinutes(10));
        await c.Post($"/api/v1/incidents/{d}/acknowledge");
        // An incident from before the period only counts in the previous period.
        await Declare(c, "Old", "SEV2", new { detected_at = T0.AddDays(-3) });
        s.Time.Advance(TimeSpan.FromHours(5)); // SEV4 response (4h) has run out
        await s.Get<IncidentService>().CheckSlaAsync();

        var from = Uri.EscapeDataString(T0.AddDays(-1).ToString("O"));
        var to = Uri.EscapeDataString(T0.AddDays(2).ToString("O"));
        var r = await c.Get($"/api/v1/reports/incidents?from={from}&to={to}&bucket=day");
        Assert.Equal(4, r.Long("total"));
        Assert.Equal("day", r.Str("bucket"));
        Assert.Equal(1, r.Dbl("previous_period_total"));
        var bySev = r.Items("by_severity").ToDictionary(x => x.Str("severity"));
        Assert.Equal(["SEV1", "SEV2", "SEV3", "SEV4"], bySev.Keys);
        var sev1 = bySev["SEV1"];
        Assert.Equal(2, sev1.Long("incidents"));
        Assert.Equal(2, sev1.Long("resolved"));
        Assert.Equal(0, sev1.Long("open"));
        Assert.Equal(240, sev1.Dbl("mtta_seconds")); // (120 + 360) / 2
        Assert.Equal(3000, sev1.Dbl("mttr_seconds")); // (1800 + 4200) / 2
        Assert.Equal(300, sev1.Dbl("response_target_seconds"));
        Assert.Equal(3600, sev1.Dbl("resolution_target_seconds"));
        Assert.Equal(1, sev1.Long("response_breaches"));
        Assert.Equal(1, sev1.Long("resolution_breaches"));
        Assert.Equal(50, sev1.Dbl("response_met_percent"));
        Assert.Equal(50, sev1.Dbl("resolution_met_percent"));
        var sev3 = bySev["SEV3"];
        Assert.Equal(1, sev3.Long("open"));
        Assert.Equal(600, sev3.Dbl("mtta_seconds"));
        Assert.True(sev3.IsNull("mttr_seconds"));
        Assert.Equal(0, sev3.Long("response_breaches"));
        var sev4 = bySev["SEV4"];
        Assert.True(sev4.IsNull("mtta_seconds"));
        Assert.Equal(1, sev4.Long("response_breaches"));
        Assert.Equal(0, sev4.Dbl("response_met_percent"));
        Assert.Equal(0, bySev["SEV2"].Long("incidents"));
        Assert.True(bySev["SEV2"].IsNull("response_met_percent"));

        var trend = r.Items("trend");
        Assert.Equal(3, trend.Count);
        Assert.Equal([T0.AddDays(-1), T0, T0.AddDays(1)], trend.Select(t => t.Time("start")));
        Assert.Equal([0, 2, 2], trend.Select(t => t.Long("incidents")));
        Assert.Equal(2, trend[1].GetProperty("by_severity").GetProperty("SEV1").GetInt64());
        Assert.Equal(1, trend[2].GetProperty("by_severity").GetProperty("SEV4").GetInt64());
        Assert.True(day2 < T0.AddDays(2));

        // The default period ends now.
        await Declare(c, "Just now", "SEV4");
        s.Time.Advance(TimeSpan.FromSeconds(1));
        var dflt = await c.Get("/api/v1/reports/incidents");
        Assert.Equal(6, dflt.Long("total"));
        await c.Get("/api/v1/reports/incidents?bucket=fortnight", HttpStatusCode.BadRequest);
        await c.Get($"/api/v1/reports/incidents?from={to}&to={from}", HttpStatusCode.BadRequest);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Metrics_expose_open_incidents_response_histogram_and_sla_breaches(string provider)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        using var anon = s.Client();
        var a = (await Declare(c, "A", "SEV1")).Long("id");
        await Declare(c, "B", "SEV1");
        var d = (await Declare(c, "C", "SEV3")).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(2));
        await c.Post($"/api/v1/incidents/{a}/acknowledge");
        s.Time.Advance(TimeSpan.FromMinutes(8)); // B is now past its 5m response target
        await c.Post($"/api/v1/incidents/{d}/acknowledge");
        await c.Post($"/api/v1/incidents/{a}/resolve");
        await s.Get<IncidentService>().CheckSlaAsync();

        var text = await anon.GetStringAsync("/metrics");
        var m = ParseMetrics(text);
        Assert.Equal(1, m["watchkeeper_incidents_open{severity=\"SEV1\"}"]);
        Assert.Equal(0, m["watchkeeper_incidents_open{severity=\"SEV2\"}"]);
        Assert.Equal(1, m["watchkeeper_incidents_open{severity=\"SEV3\"}"]);
        Assert.Contains("# TYPE watchkeeper_incidents_open gauge", text);

        Assert.Contains("# TYPE watchkeeper_incident_response_seconds histogram", text);
        Assert.Equal(0, m["watchkeeper_incident_response_seconds_bucket{severity=\"SEV1\",le=\"60\"}"]);
        Assert.Equal(1, m["watchkeeper_incident_response_seconds_bucket{severity=\"SEV1\",le=\"300\"}"]);
        Assert.Equal(1, m["watchkeeper_incident_response_seconds_bucket{severity=\"SEV1\",le=\"+Inf\"}"]);
        Assert.Equal(1, m["watchkeeper_incident_response_seconds_count{severity=\"SEV1\"}"]);
        Assert.Equal(120, m["watchkeeper_incident_response_seconds_sum{severity=\"SEV1\"}"]);
        Assert.Equal(0, m["watchkeeper_incident_response_seconds_bucket{severity=\"SEV3\",le=\"300\"}"]);
        Assert.Equal(1, m["watchkeeper_incident_response_seconds_bucket{severity=\"SEV3\",le=\"900\"}"]);
        Assert.Equal(600, m["watchkeeper_incident_response_seconds_sum{severity=\"SEV3\"}"]);
        Assert.Equal(0, m["watchkeeper_incident_response_seconds_count{severity=\"SEV2\"}"]);

        Assert.Contains("# TYPE watchkeeper_incident_sla_breaches_total counter", text);
        Assert.Equal(1, m["watchkeeper_incident_sla_breaches_total{severity=\"SEV1\",kind=\"response\"}"]);
        Assert.Equal(0, m["watchkeeper_incident_sla_breaches_total{severity=\"SEV1\",kind=\"resolution\"}"]);
        Assert.Equal(0, m["watchkeeper_incident_sla_breaches_total{severity=\"SEV3\",kind=\"response\"}"]);
        Assert.Equal(1, m["watchkeeper_incident_resolution_seconds_count{severity=\"SEV1\"}"]);
        Assert.Equal(600, m["watchkeeper_incident_resolution_seconds_sum{severity=\"SEV1\"}"]);
    }

    /// <summary>Parses Prometheus text format into series (name plus labels as written) and values; each series must appear once.</summary>
    public static Dictionary<string, double> ParseMetrics(string text)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var sp = line.LastIndexOf(' ');
            var value = line[(sp + 1)..] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture),
            };
            Assert.True(result.TryAdd(line[..sp], value), $"series {line[..sp]} appears twice");
        }
        return result;
    }

    /// <summary>The timeline without the entries of the escalation the incident started (on-call, tested in EscalationTests).</summary>
    private static List<JsonElement> NoEscalation(IEnumerable<JsonElement> timeline) => timeline.Where(t => t.Str("kind") != "escalation").ToList();
}
