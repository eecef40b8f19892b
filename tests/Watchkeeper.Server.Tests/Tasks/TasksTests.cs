using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Tasks;

namespace Watchkeeper.Server.Tests.Tasks;

public sealed class TasksTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");

    private static JsonElement Item(JsonElement list, string id) => list.EnumerateArray().Single(t => t.GetProperty("id").GetString() == id);

    private static IEnumerable<Alert> TaskAlerts(TestServer s, string task) =>
        s.Get<AlertingEngine>().Store.Snapshot().Where(a => a.Labels.TryGetValue("alertname", out var n) && n == TaskService.AlertName
            && a.Labels.TryGetValue("task", out var t) && t == task);

    [Theory, MemberData(nameof(Providers))]
    public async Task An_overdue_task_raises_an_info_alert_until_it_is_done_and_each_completion_is_recorded(string provider)
    {
        var postgres = provider == "postgres";
        TestServer.SkipUnlessAvailable(postgres);
        await using var s = await TestServer.StartAsync(postgres);
        var ct = TestContext.Current.CancellationToken;
        using var viewer = await s.ClientAsAsync("viewer");
        var (responderName, responderToken) = await s.NewUserAsync("responder");
        using var responder = s.Client(responderToken);

        // Monday 2 Nov 2026 09:00 UTC: the daily reviews are due at 10:00, owned by whoever is on call on "primary".
        var list = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/tasks", ct);
        Assert.Equal(16, list.GetArrayLength());
        var health = Item(list, "health-check-review");
        Assert.Equal("open", health.GetProperty("status").GetString());
        Assert.Equal("daily", health.GetProperty("group").GetString());
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), health.GetProperty("due_at").GetDateTimeOffset());
        Assert.StartsWith("oncall-engineer-", health.GetProperty("owner").GetString(), StringComparison.Ordinal);
        Assert.Equal("team-lead", Item(list, "capacity-review").GetProperty("owner").GetString());
        // Quarterly: the next 1 January, 12:00.
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 12, 0, 0, TimeSpan.Zero), Item(list, "disaster-recovery").GetProperty("due_at").GetDateTimeOffset());
        var service = s.Get<TaskService>();
        Assert.Equal(0, await service.SendAlertsAsync(s.Time.GetUtcNow(), ct));
        Assert.Empty(TaskAlerts(s, "health-check-review"));

        s.Time.Advance(TimeSpan.FromMinutes(90));
        Assert.Equal(4, await service.SendAlertsAsync(s.Time.GetUtcNow(), ct));
        var alert = Assert.Single(TaskAlerts(s, "health-check-review"));
        Assert.False(alert.Resolved(s.Time.GetUtcNow()));
        Assert.Equal("info", alert.Labels["severity"]);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), alert.StartsAt);
        Assert.Equal("overdue", Item(await viewer.GetFromJsonAsync<JsonElement>("/api/v1/tasks", ct), "health-check-review").GetProperty("status").GetString());

        var done = await responder.PostAsJsonAsync("/api/v1/tasks/health-check-review/done", new { note = "all green" }, ct);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var d = await done.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal(responderName, d.GetProperty("completion").GetProperty("completed_by").GetString());
        Assert.True(d.GetProperty("completion").GetProperty("late").GetBoolean());
        Assert.Equal("open", d.GetProperty("task").GetProperty("status").GetString());
        Assert.Equal(new DateTimeOffset(2026, 11, 3, 10, 0, 0, TimeSpan.Zero), d.GetProperty("task").GetProperty("due_at").GetDateTimeOffset());
        Assert.True(Assert.Single(TaskAlerts(s, "health-check-review")).Resolved(s.Time.GetUtcNow()));
        Assert.Equal(3, await service.SendAlertsAsync(s.Time.GetUtcNow() - TimeSpan.FromMinutes(3), ct));
        Assert.True(Assert.Single(TaskAlerts(s, "health-check-review")).Resolved(s.Time.GetUtcNow()));

        // Done early for tomorrow's occurrence; a third time is a conflict until tomorrow's is due.
        var early = await (await responder.PostAsJsonAsync("/api/v1/tasks/health-check-review/done", new { }, ct)).Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.Equal("done", early.GetProperty("task").GetProperty("status").GetString());
        Assert.False(early.GetProperty("completion").GetProperty("late").GetBoolean());
        var again = await responder.PostAsJsonAsync("/api/v1/tasks/health-check-review/done", new { }, ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);

        var history = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/tasks/health-check-review/completions", ct);
        Assert.Equal(2, history.GetArrayLength());
        Assert.Equal("all green", history[1].GetProperty("note").GetString());
        var audit = await s.Get<Db>().ReadAsync(async c => await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_log WHERE action = 'task.done'"), ct);
        Assert.Equal(2, audit);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Bad_input_gets_a_problem_naming_the_field_and_saves_nothing(string provider)
    {
        var postgres = provider == "postgres";
        TestServer.SkipUnlessAvailable(postgres);
        await using var s = await TestServer.StartAsync(postgres);
        var ct = TestContext.Current.CancellationToken;
        using var responder = await s.ClientAsAsync("responder");
        using var viewer = await s.ClientAsAsync("viewer");

        var tooLong = await responder.PostAsJsonAsync("/api/v1/tasks/log-analysis/done", new { note = new string('n', TaskService.MaxNoteLength + 1) }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        var problem = await tooLong.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty("note", out _), problem.ToString());
        var unknown = await responder.PostAsJsonAsync("/api/v1/tasks/no-such-task/done", new { }, ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/api/v1/tasks/log-analysis/done", new { }, ct)).StatusCode);
        var badLimit = await viewer.GetAsync("/api/v1/tasks/log-analysis/completions?limit=lots", ct);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Contains("limit", await badLimit.Content.ReadAsStringAsync(ct));

        var rows = await s.Get<Db>().ReadAsync(async c => await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ops_task_completions"), ct);
        Assert.Equal(0, rows);
    }

    [Fact]
    public async Task Due_times_follow_the_tasks_time_zone_across_the_end_of_summer_time()
    {
        // Saturday 24 Oct 2026 12:00 UTC; Europe/London leaves summer time at 01:00 UTC on Sunday 25 Oct.
        await using var s = await TestServer.StartAsync(start: new DateTimeOffset(2026, 10, 24, 12, 0, 0, TimeSpan.Zero),
            editConfig: y => y.Replace("  time_zone: UTC\n  items:", "  time_zone: Europe/London\n  items:", StringComparison.Ordinal));
        var ct = TestContext.Current.CancellationToken;
        using var viewer = await s.ClientAsAsync("viewer");
        var list = await viewer.GetFromJsonAsync<JsonElement>("/api/v1/tasks", ct);
        var t = Item(list, "alert-review");
        Assert.Equal("Europe/London", t.GetProperty("time_zone").GetString());
        // 10:00 London on Sunday is 10:00 UTC (GMT again); on Saturday it was 09:00 UTC.
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 10, 0, 0, TimeSpan.Zero), t.GetProperty("due_at").GetDateTimeOffset());
        s.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal("overdue", Item(await viewer.GetFromJsonAsync<JsonElement>("/api/v1/tasks", ct), "alert-review").GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("schedule: \"0 10 * * *\", owner: {schedule: primary},\n       description: \"wk health", "schedule: \"61 10 * * *\", owner: {schedule: primary},\n       description: \"wk health", "tasks.items[0].schedule", "is not a cron expression")]
    [InlineData("time_zone: UTC\n  items:", "time_zone: Mars/Olympus\n  items:", "tasks.time_zone", "unknown IANA time zone 'Mars/Olympus'")]
    [InlineData("owner: {user: manager}}\n    - {id: capacity-planning", "owner: {user: nobody}}\n    - {id: capacity-planning", "tasks.items[14].owner.user", "unknown person 'nobody'")]
    [InlineData("{id: log-analysis,", "{id: health-check-review,", "tasks.items[1].id", "duplicate task id 'health-check-review'")]
    [InlineData("owner: {user: team-lead}}\n    - {id: performance-optimization", "owner: {}}\n    - {id: performance-optimization", "tasks.items[7].owner", "exactly one of user")]
    public void Config_errors_name_file_line_and_key(string from, string to, string key, string problem) =>
        TestServer.AssertShippedConfigEditFails(from, to, key, problem);
}
