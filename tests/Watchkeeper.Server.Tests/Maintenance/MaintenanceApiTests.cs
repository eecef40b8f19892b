using System.Net;
using System.Text.Json;
using Dapper;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Silences;
using Watchkeeper.Server.Maintenance;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Tests.Maintenance;

/// <summary>Windows and runs through the API, on SQLite and on PostgreSQL (the same calls and assertions on both).</summary>
public sealed class MaintenanceApiTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    private static async Task<TestServer> Start(string provider)
    {
        var pg = provider == "postgres";
        TestServer.SkipUnlessAvailable(pg);
        return await TestServer.StartAsync(pg, null, T0);
    }

    private static object DbUpgrade(string[]? promql = null, string id = "db-upgrade") => new
    {
        id, title = "Database upgrade", description = "Upgrading PostgreSQL to 16.", time_zone = "Europe/London",
        start = "2026-11-02T10:00", end = "2026-11-02T12:00", components = new[] { "database" },
        checks = new { promql = promql ?? ["vector(1) > 0"] },
    };

    private static async Task<List<(string Key, string Kind)>> Deliveries(TestServer s) => (await s.Get<Db>().ReadAsync(async c =>
        (await c.QueryAsync<(string, string)>("SELECT event_key, kind FROM status_deliveries ORDER BY id")).AsList()));

    private static async Task<List<string>> AuditActions(TestServer s) => (await s.Get<Db>().ReadAsync(async c =>
        (await c.QueryAsync<string>("SELECT action FROM audit_log WHERE action LIKE 'maintenance%' ORDER BY seq")).AsList()));

    private static async Task<JsonElement> Summary(TestServer s)
    {
        await s.Get<StatusSnapshots>().RefreshAsync(force: true, default);
        using var anon = s.Client();
        return await anon.Get("/status/api/v2/summary.json");
    }

    private static string Level(JsonElement summary, string component) =>
        summary.Items("components").Single(x => x.Str("id") == component).Str("status");

    [Theory, MemberData(nameof(Providers))]
    public async Task A_run_goes_from_announcement_to_completion_with_silences_status_page_notifications_and_audit(string provider)
    {
        await using var s = await Start(provider);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var responder = s.Client((await s.NewUserAsync("responder", "rita")).Token);
        await s.Get<Db>().WriteAsync((c, tx) => c.ExecuteAsync(
            "INSERT INTO status_subscribers (kind, target, state, nonce, secret, created_at) VALUES ('webhook', 'https://hooks.example.org/x', 'active', 'n', 's', 0)", transaction: tx));

        var w = await admin.Post("/api/v1/maintenance/windows", DbUpgrade(), HttpStatusCode.Created);
        Assert.Equal("api", w.Str("source"));
        Assert.Equal(T0.AddHours(1), w.Items("next").Single().Time("start"));

        // Announced by the worker's pass (within notify_before, 24h): a run in "preparing", users told.
        var runs = s.Get<MaintenanceRuns>();
        Assert.Equal(1, await runs.TickAsync(default));
        Assert.Equal(0, await runs.TickAsync(default));
        var run = (await responder.Get("/api/v1/maintenance/runs")).Items().Single();
        var id = run.Long("id");
        Assert.Equal("preparing", run.Str("state"));
        Assert.Equal(T0, run.Time("notified_at"));
        Assert.Equal(["start", "cancel"], run.Items("allowed_actions").Select(x => x.GetString()));
        var sched = (await Summary(s)).Items("scheduled_maintenances").Single();
        Assert.Equal(("scheduled", "Database upgrade"), (sched.Str("status"), sched.Str("name")));
        Assert.Equal("operational", Level(await Summary(s), "database"));

        // Too early (more than early_start, 15m, before 10:00).
        await responder.Post($"/api/v1/maintenance/runs/{id}/start", new { rollback_plan = "r", backup_confirmation = "b" }, HttpStatusCode.Conflict);
        s.Time.Advance(TimeSpan.FromHours(1));
        // No rollback plan: refused naming the field, and nothing changed (no backup taken, no silence).
        var p1 = await responder.Post($"/api/v1/maintenance/runs/{id}/start", new { team = "rita" }, HttpStatusCode.BadRequest);
        Assert.True(p1.GetProperty("errors").TryGetProperty("rollback_plan", out _), p1.ToString());
        Assert.Equal("preparing", (await responder.Get($"/api/v1/maintenance/runs/{id}")).Str("state"));
        Assert.Empty(await s.Get<Watchkeeper.Server.Backups.IBackupService>().ListAsync(default));
        var engine = s.Get<AlertingEngine>();
        Assert.Empty(engine.Silences.All());

        var started = await responder.Post($"/api/v1/maintenance/runs/{id}/start",
            new { rollback_plan = "Restore the snapshot taken before the upgrade", team = "rita, sam" });
        Assert.Equal("in_progress", started.Str("state"));
        // The backup step took a real backup through the backup service, and it verifies.
        Assert.Equal("service", started.GetProperty("backup").Str("kind"));
        var backup = Assert.Single(await s.Get<Watchkeeper.Server.Backups.IBackupService>().ListAsync(default));
        Assert.StartsWith(backup.Name + " (", started.GetProperty("backup").Str("reference"), StringComparison.Ordinal);
        Assert.Equal($"maintenance run {id}: Database upgrade", backup.Reason);
        Assert.True((await s.Get<Watchkeeper.Server.Backups.IBackupService>().VerifyAsync(backup.Name, default)).Ok);
        var silences = started.Items("silence_ids").Select(x => x.GetString()!).ToList();
        Assert.Equal(2, silences.Count); // job="database" and service="database", as the status page picks the component's alerts
        foreach (var sid in silences)
        {
            var sil = engine.Silences.Get(sid)!;
            Assert.Equal((s.Time.GetUtcNow(), T0.AddHours(3)), (sil.StartsAt, sil.EndsAt));
            Assert.Equal(SilenceState.Active, sil.State(s.Time.GetUtcNow()));
        }
        Assert.NotEmpty(engine.Silences.Mutes(new Dictionary<string, string> { ["alertname"] = "DatabaseDown", ["job"] = "database" }));
        Assert.Empty(engine.Silences.Mutes(new Dictionary<string, string> { ["alertname"] = "ApiDown", ["job"] = "api-service" }));
        var live = await Summary(s);
        Assert.Equal("under_maintenance", Level(live, "database"));
        Assert.Equal("operational", Level(live, "api-service"));
        Assert.Equal("maintenance", live.GetProperty("status").Str("indicator"));
        Assert.Equal("in_progress", live.Items("scheduled_maintenances").Single().Str("status"));

        // Completing needs a passed validation.
        await responder.Post($"/api/v1/maintenance/runs/{id}/complete", new { summary = "done" }, HttpStatusCode.Conflict);
        var validated = await responder.Post($"/api/v1/maintenance/runs/{id}/validate");
        Assert.Equal("validating", validated.Str("state"));
        var v = validated.Items("validations").Single();
        Assert.True(v.Bool("passed"));
        Assert.Equal(("promql", "vector(1) > 0", true), (v.Items("results")[0].Str("kind"), v.Items("results")[0].Str("name"), v.Items("results")[0].Bool("passed")));

        s.Time.Advance(TimeSpan.FromMinutes(30));
        var done = await responder.Post($"/api/v1/maintenance/runs/{id}/complete", new { summary = "Upgraded to 16.4; no issues." });
        Assert.Equal("completed", done.Str("state"));
        Assert.Equal(s.Time.GetUtcNow().AddDays(7), done.Time("review_due_at"));
        Assert.All(done.Items("checklist"), item => Assert.True(item.Bool("done"), item.ToString()));
        foreach (var sid in silences) Assert.Equal(SilenceState.Expired, engine.Silences.Get(sid)!.State(s.Time.GetUtcNow()));
        var after = await Summary(s);
        Assert.Equal("operational", Level(after, "database"));
        Assert.Empty(after.Items("scheduled_maintenances"));

        Assert.Equal([($"maintenance:{id}:scheduled", "maintenance"), ($"maintenance:{id}:in_progress", "maintenance"), ($"maintenance:{id}:completed", "maintenance")],
            await Deliveries(s));
        Assert.Equal(["maintenance_window.create", "maintenance_run.prepare", "maintenance_run.start", "maintenance_run.validate", "maintenance_run.complete"],
            await AuditActions(s));
        var report = await responder.Get("/api/v1/reports/maintenance");
        Assert.Equal((1, 1, 0), (report.Long("finished"), report.Long("completed"), report.Long("rolled_back")));
        Assert.Equal(100, report.Dbl("success_percent"));
        Assert.True(report.Bool("meets_target"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task A_failed_validation_blocks_completion_and_a_rollback_counts_against_the_success_rate(string provider)
    {
        await using var s = await Start(provider);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await admin.Post("/api/v1/maintenance/windows", DbUpgrade(["vector(0) > 0", "vector(1)"]), HttpStatusCode.Created);
        s.Time.Advance(TimeSpan.FromHours(1));
        // Started from the window (the worker did not announce it): the run is created and users told at start.
        var run = await admin.Post("/api/v1/maintenance/runs/start", new { window = "db-upgrade", rollback_plan = "Restore", backup_confirmation = "snapshot 42" });
        var id = run.Long("id");
        Assert.Equal("in_progress", run.Str("state"));
        var v = await admin.Post($"/api/v1/maintenance/runs/{id}/validate");
        var results = v.Items("validations").Single().Items("results");
        Assert.Equal([false, true], results.Select(r => r.Bool("passed")));
        Assert.Contains("empty result", results[0].Str("detail"), StringComparison.Ordinal);
        await admin.Post($"/api/v1/maintenance/runs/{id}/complete", new { }, HttpStatusCode.Conflict);
        var noReason = await admin.Post($"/api/v1/maintenance/runs/{id}/rollback", new { }, HttpStatusCode.BadRequest);
        Assert.True(noReason.GetProperty("errors").TryGetProperty("reason", out _));
        var rolled = await admin.Post($"/api/v1/maintenance/runs/{id}/rollback", new { reason = "Replication lag did not recover" });
        Assert.Equal("rolled_back", rolled.Str("state"));
        Assert.Contains(rolled.Items("events"), e => e.Str("step") == "rolled_back" && e.Str("detail") == "Replication lag did not recover");
        var report = await admin.Get("/api/v1/reports/maintenance");
        Assert.Equal((1, 0, 1), (report.Long("finished"), report.Long("completed"), report.Long("rolled_back")));
        Assert.Equal(0, report.Dbl("success_percent"));
        Assert.False(report.Bool("meets_target"));
        Assert.Equal(99, report.Dbl("target_percent"));
    }

    [Fact]
    public async Task Bad_windows_are_problems_naming_the_field_and_nothing_is_saved()
    {
        await using var s = await Start("sqlite");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var cases = new (object Body, string Field)[]
        {
            (new { id = "w1", title = "t", time_zone = "UTC", cron = "0 25 * * *", duration = "1h", components = new[] { "database" } }, "cron"),
            (new { id = "w1", title = "t", time_zone = "UTC", cron = "0 0 31 2 *", duration = "1h", components = new[] { "database" } }, "cron"),
            (new { id = "w1", title = "t", time_zone = "Europe/Atlantis", cron = "0 2 * * *", duration = "1h", components = new[] { "database" } }, "time_zone"),
            (new { id = "w1", title = "t", time_zone = "UTC", start = "2026-12-20T04:00", end = "2026-12-20T02:00", components = new[] { "database" } }, "end"),
            (new { id = "w1", title = "t", time_zone = "UTC", cron = "0 2 * * *", duration = "1h", components = new[] { "mainframe" } }, "components[0]"),
            (new { id = "w1", title = "t", time_zone = "UTC", rule = "2nd tuesday", duration = "1h", components = new[] { "database" } }, "at"),
            (new { id = "Bad Id", title = "t", time_zone = "UTC", cron = "0 2 * * *", duration = "1h", components = new[] { "database" } }, "id"),
            (new { id = "w1", title = "t", time_zone = "UTC", cron = "0 2 * * *", duration = "1h", components = new[] { "database" }, checks = new { promql = new[] { "up ==" } } }, "checks.promql[0]"),
            (new { id = "w1", title = "t", time_zone = "UTC", cron = "0 2 * * *", duration = "1h", components = new[] { "database" }, checks = new { probes = new[] { "nope" } } }, "checks.probes[0]"),
        };
        foreach (var (body, field) in cases)
        {
            var p = await admin.Post("/api/v1/maintenance/windows", body, HttpStatusCode.BadRequest);
            Assert.True(p.GetProperty("errors").TryGetProperty(field, out _), $"{field}: {p}");
        }
        // A configuration window's id is taken.
        await admin.Post("/api/v1/maintenance/windows", new { id = "weekly-updates", title = "t", cron = "0 2 * * *", duration = "1h", components = new[] { "database" } }, HttpStatusCode.Conflict);
        var all = await admin.Get("/api/v1/maintenance/windows");
        Assert.Equal(["weekly-updates", "monthly-performance"], all.Items().Select(x => x.Str("id")));
        Assert.Equal(0L, await s.Get<Db>().ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM maintenance_windows")));
        Assert.Empty(await AuditActions(s));
        // The shipped schedule: weekly on Sunday 02:00 UTC, monthly on the 2nd Tuesday 03:00 London time.
        Assert.Equal(new DateTimeOffset(2026, 11, 8, 2, 0, 0, TimeSpan.Zero), all.Items()[0].Items("next")[0].Time("start"));
        Assert.Equal(new DateTimeOffset(2026, 11, 10, 3, 0, 0, TimeSpan.Zero), all.Items()[1].Items("next")[0].Time("start"));
    }

    [Fact]
    public async Task Unstarted_runs_are_cancelled_when_their_window_ends_and_cancelled_runs_do_not_count()
    {
        await using var s = await Start("sqlite");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await admin.Post("/api/v1/maintenance/windows", DbUpgrade(), HttpStatusCode.Created);
        var runs = s.Get<MaintenanceRuns>();
        await runs.TickAsync(default);
        s.Time.Advance(TimeSpan.FromHours(3));
        Assert.Equal(1, await runs.TickAsync(default));
        var run = (await admin.Get("/api/v1/maintenance/runs")).Items().Single();
        Assert.Equal("cancelled", run.Str("state"));
        Assert.True(run.IsNull("review_due_at"));
        var report = await admin.Get("/api/v1/reports/maintenance");
        Assert.Equal((0, 1), (report.Long("finished"), report.Long("cancelled")));
        Assert.True(report.IsNull("success_percent"));
        // The window with an ended run cannot be started again; deleting it keeps the run.
        await admin.Post("/api/v1/maintenance/runs/start", new { window = "db-upgrade", rollback_plan = "r", backup_confirmation = "b" }, HttpStatusCode.Conflict);
        using var responder = s.Client((await s.NewUserAsync("responder")).Token);
        await responder.Send(HttpMethod.Delete, "/api/v1/maintenance/windows/db-upgrade", null, HttpStatusCode.Forbidden);
        await admin.Send(HttpMethod.Delete, "/api/v1/maintenance/windows/db-upgrade", null, HttpStatusCode.NoContent);
        Assert.Single((await admin.Get("/api/v1/maintenance/runs")).Items());
    }

    [Fact]
    public async Task The_calendar_lists_occurrences_with_their_runs()
    {
        await using var s = await Start("sqlite");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await admin.Post("/api/v1/maintenance/windows", DbUpgrade(), HttpStatusCode.Created);
        await s.Get<MaintenanceRuns>().TickAsync(default);
        var cal = (await admin.Get("/api/v1/maintenance/occurrences?to=2026-12-01T00:00:00Z")).Items();
        // 10:00 today (with its run), four Sundays, the 2nd Tuesday.
        Assert.Equal(["db-upgrade", "weekly-updates", "monthly-performance", "weekly-updates", "weekly-updates", "weekly-updates"], cal.Select(x => x.Str("window_id")));
        Assert.Equal("preparing", cal[0].Str("run_state"));
        Assert.True(cal[1].IsNull("run_id"));
        Assert.Equal("2026-11-10 03:00 +00", cal[2].Str("start_local"));
        await admin.Get("/api/v1/maintenance/occurrences?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", HttpStatusCode.BadRequest);
    }
}
