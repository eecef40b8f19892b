using System.Net;
using System.Text.RegularExpressions;
using Watchkeeper.Server.OnCall;

namespace Watchkeeper.Server.Tests.OnCall;

public sealed partial class OnCallApiTests
{
    [GeneratedRegex("name=\"([^\"]+)\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenField();

    private static async Task<(HttpStatusCode Status, string Html)> GetPage(HttpClient c, string url)
    {
        using var r = await c.GetAsync(url);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Status, string Html)> PostForm(HttpClient c, string url, string page)
    {
        var m = HiddenField().Match(page);
        Assert.True(m.Success, "no antiforgery field on the page");
        using var r = await c.PostAsync(url, new FormUrlEncodedContent(new Dictionary<string, string> { [m.Groups[1].Value] = m.Groups[2].Value }));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Acknowledgement_link_shows_a_form_on_GET_acknowledges_once_on_POST_without_login()
    {
        var outbox = new RecordingOutbox();
        await using var s = await OnCallServer.StartAsync(outbox);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var id = (await admin.Post("/api/v1/incidents", new { title = "db down", severity = "SEV1" }, HttpStatusCode.Created)).Long("id");
        await s.Get<EscalationEngine>().RunDueAsync(default);
        var url = outbox.Items.First().Data.CommonAnnotations["acknowledge_url"];

        using var browser = new Browser(s);
        var (status, html) = await GetPage(browser.Http, url);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"Acknowledge incident #{id}", html, StringComparison.Ordinal);
        Assert.True((await admin.Get($"/api/v1/incidents/{id}")).IsNull("acknowledged_at"), "a GET must not acknowledge");

        s.Time.Advance(TimeSpan.FromMinutes(3));
        var (postStatus, done) = await PostForm(browser.Http, url, html);
        Assert.Equal(HttpStatusCode.OK, postStatus);
        Assert.Contains("is acknowledged", done, StringComparison.Ordinal);
        var inc = await admin.Get($"/api/v1/incidents/{id}");
        Assert.Equal(180, inc.GetProperty("response_sla").Dbl("elapsed_seconds"));
        var esc = (await admin.Get($"/api/v1/oncall/escalations?incident={id}")).Items()[0];
        Assert.Equal("acknowledged", esc.Str("state"));
        Assert.Equal("oncall-engineer-2 (link)", esc.Str("ended_by"));

        // Single use.
        var (again, _) = await PostForm(browser.Http, url, html);
        Assert.Equal(HttpStatusCode.Conflict, again);
        // A changed signature, a changed incident and an expired link are refused.
        var tampered = url[..^3] + (url[^3..] == "AAA" ? "BBB" : "AAA");
        Assert.Equal(HttpStatusCode.BadRequest, (await GetPage(browser.Http, tampered)).Status);
        var parts = url["/ack/".Length..].Split('.');
        Assert.Equal(HttpStatusCode.BadRequest, (await GetPage(browser.Http, $"/ack/{id + 1}.{parts[1]}.{parts[2]}.{parts[3]}")).Status);
        var id2 = (await admin.Post("/api/v1/incidents", new { title = "cache down", severity = "SEV1" }, HttpStatusCode.Created)).Long("id");
        await s.Get<EscalationEngine>().RunDueAsync(default);
        var url2 = outbox.Items.Last().Data.CommonAnnotations["acknowledge_url"];
        s.Time.Advance(TimeSpan.FromHours(25));
        var (expired, text) = await GetPage(browser.Http, url2);
        Assert.Equal(HttpStatusCode.BadRequest, expired);
        Assert.Contains("expired", text, StringComparison.Ordinal);
        Assert.True((await admin.Get($"/api/v1/incidents/{id2}")).IsNull("acknowledged_at"));
    }

    [Fact]
    public async Task Who_is_on_call_overrides_and_shifts_through_the_API_with_roles()
    {
        await using var s = await OnCallServer.StartAsync(new RecordingOutbox());
        using var viewer = s.Client((await s.NewUserAsync("viewer")).Token);
        using var responder = s.Client((await s.NewUserAsync("responder")).Token);
        var now = (await viewer.Get("/api/v1/oncall")).Items().Single();
        Assert.Equal("primary", now.Str("schedule"));
        Assert.Equal("oncall-engineer-2", now.Str("person"));
        Assert.Equal("oncall-engineer-1", now.Str("next_person"));
        Assert.Equal(DateTimeOffset.Parse("2026-11-09T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture), now.Time("until"));
        var later = (await viewer.Get("/api/v1/oncall?at=2026-11-10T00:00:00Z&schedule=primary")).Items().Single();
        Assert.Equal("oncall-engineer-1", later.Str("person"));

        var body = new { schedule = "primary", person = "manager", start = "2026-11-03T00:00:00Z", end = "2026-11-04T00:00:00Z", reason = "cover" };
        await viewer.Post("/api/v1/oncall/overrides", body, HttpStatusCode.Forbidden);
        var o = await responder.Post("/api/v1/oncall/overrides", body, HttpStatusCode.Created);
        Assert.Equal("manager", (await viewer.Get("/api/v1/oncall?at=2026-11-03T12:00:00Z")).Items()[0].Str("person"));
        var shifts = (await viewer.Get("/api/v1/oncall/schedules/primary/shifts?start=2026-11-02T09:00:00Z&end=2026-11-09T09:00:00Z")).Items();
        Assert.Equal(["oncall-engineer-2", "manager", "oncall-engineer-2"], shifts.Select(x => x.Str("person")));
        await responder.Post("/api/v1/oncall/overrides", body with { person = "nobody-known" }, HttpStatusCode.BadRequest);
        await responder.Post("/api/v1/oncall/overrides", body with { end = "2026-11-02T00:00:00Z" }, HttpStatusCode.BadRequest);
        await responder.Send(HttpMethod.Delete, $"/api/v1/oncall/overrides/{o.Long("id")}", null, HttpStatusCode.NoContent);
        Assert.Equal("oncall-engineer-2", (await viewer.Get("/api/v1/oncall?at=2026-11-03T12:00:00Z")).Items()[0].Str("person"));
        await viewer.Get("/api/v1/oncall/schedules/nope/shifts", HttpStatusCode.NotFound);

        var policies = (await viewer.Get("/api/v1/oncall/escalation-policies")).Items();
        Assert.Equal(["sev1-critical", "sev2-high", "sev3-medium", "sev4-review"], policies.Select(p => p.Str("name")));
        var people = (await viewer.Get("/api/v1/oncall/people")).Items();
        Assert.True(people[0].IsNull("contact"), "a viewer does not see addresses");
    }

    [Fact]
    public async Task Calendar_feed_needs_the_persons_secret_token_or_a_login_and_lists_their_shifts()
    {
        await using var s = await OnCallServer.StartAsync(new RecordingOutbox());
        using var me = s.Client((await s.NewUserAsync("viewer", "oncall-engineer-1")).Token);
        using var other = s.Client((await s.NewUserAsync("viewer")).Token);
        await other.Post("/api/v1/oncall/calendar-token", new { person = "oncall-engineer-1" }, HttpStatusCode.Forbidden);
        var r = await me.Post("/api/v1/oncall/calendar-token", new { });
        var url = r.Str("url");
        Assert.StartsWith("/oncall/calendar/oncall-engineer-1.ics?token=wkcal_", url, StringComparison.Ordinal);

        using var anon = s.Client();
        using var feed = await anon.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, feed.StatusCode);
        Assert.Equal("text/calendar", feed.Content.Headers.ContentType?.MediaType);
        var ics = await feed.Content.ReadAsStringAsync();
        Assert.Contains("BEGIN:VCALENDAR", ics, StringComparison.Ordinal);
        // The feed covers last week and the next 8: engineer 1 has the weeks starting 2026-10-26, 11-09, 11-23, 12-07, 12-21.
        Assert.Contains("DTSTART:20261026T090000Z", ics, StringComparison.Ordinal);
        Assert.Contains("DTSTART:20261109T090000Z", ics, StringComparison.Ordinal);
        Assert.Contains("DTEND:20261116T090000Z", ics, StringComparison.Ordinal);
        Assert.Equal(5, Regex.Count(ics, "BEGIN:VEVENT"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync("/oncall/calendar/oncall-engineer-1.ics?token=wkcal_wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync(url.Replace("oncall-engineer-1", "oncall-engineer-2", StringComparison.Ordinal))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/oncall/calendar/oncall-engineer-2.ics")).StatusCode);
        // A new token replaces the old one.
        await me.Post("/api/v1/oncall/calendar-token", new { });
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync(url)).StatusCode);
    }

    [Fact]
    public async Task Landing_page_says_who_is_on_call_and_which_incidents_are_paging()
    {
        var outbox = new RecordingOutbox();
        await using var s = await OnCallServer.StartAsync(outbox);
        using var viewer = s.Client((await s.NewUserAsync("viewer")).Token);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await admin.Post("/api/v1/incidents", new { title = "payments down", severity = "SEV1" }, HttpStatusCode.Created);
        await s.Get<EscalationEngine>().RunDueAsync(default);
        var (status, html) = await GetPage(viewer, "/");
        Assert.Equal(HttpStatusCode.OK, status);
        var section = html[html.IndexOf("id=\"oncall\"", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("</section>", StringComparison.Ordinal)];
        Assert.Contains("<b>oncall-engineer-2</b>", section, StringComparison.Ordinal);
        Assert.Contains("Mon 2026-11-09 09:00", section, StringComparison.Ordinal);
        Assert.Contains("payments down", section, StringComparison.Ordinal);
        Assert.Contains("step 1 of 3", section, StringComparison.Ordinal);
    }
}
