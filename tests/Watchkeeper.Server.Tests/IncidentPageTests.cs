using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Incidents.Ui;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Issue 11's incident page on the server side: the resolve flow (service and confirm page), the live parts and their
/// event stream, fetch posts, the lists across incidents, the audit page, the Markdown renderer and declare links.
/// </summary>
public sealed partial class IncidentPageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpClient Html(TestServer s, string token)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };
        c.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    [GeneratedRegex("name=\"([^\"]+)\" value=\"([^\"]+)\"")]
    private static partial Regex Antiforgery();

    /// <summary>Posts a form of a page as a logged-in browser would (antiforgery token from the page).</summary>
    private static async Task<HttpResponseMessage> PostForm(Browser b, string page, string action, Dictionary<string, string> fields, bool fetch = false)
    {
        var html = await b.Http.GetStringAsync(page, Ct);
        var m = Antiforgery().Match(html);
        Assert.True(m.Success, $"{page} has no antiforgery field");
        fields[m.Groups[1].Value] = m.Groups[2].Value;
        using var req = new HttpRequestMessage(HttpMethod.Post, action) { Content = new FormUrlEncodedContent(fields) };
        req.Headers.Accept.ParseAdd(fetch ? "application/problem+json" : "text/html");
        if (fetch) req.Headers.Add("X-Requested-With", "fetch");
        return await b.Http.SendAsync(req, Ct);
    }

    private static async Task<Browser> Responder(TestServer s, string name = "dana")
    {
        await s.Get<Users>().CreateAsync(name, "password-" + name, "responder", "admin", Ct);
        return await new Browser(s).LoggedInAsync(name, "password-" + name);
    }

    [Fact]
    public async Task Resolving_publishes_the_final_update_or_the_resolution_so_the_last_public_update_is_resolved()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var a = await svc.CreateAsync(new CreateIncidentRequest("API down", null, "SEV2", null, null, ["api-service"], null, null, null, null, null, null), "dana", Ct);
        await svc.PostStatusUpdateAsync(a.Id, new StatusUpdateRequest("Rolling back", "public", "30m", "identified"), null, "dana", Ct);

        // A final public update given: published with status resolved, no next update promised.
        var resolved = await svc.ResolveAsync(a.Id, "Rolled back the deploy", "All services operate normally.", null, "dana", requireMessage: true, ct: Ct);
        Assert.Equal(IncidentStatus.Resolved, resolved.Status);
        var last = (await svc.StatusUpdatesAsync(a.Id, "public", Ct))[^1];
        Assert.Equal("resolved", last.Status);
        Assert.Equal("All services operate normally.", last.CurrentStatus);
        Assert.Null(last.NextUpdateAt);
        Assert.Contains("No further updates planned", last.Body, StringComparison.Ordinal);
        Assert.Contains((await svc.TimelineAsync(a.Id, Ct)), t => t.Kind == "resolved" && t.Message.EndsWith(": Rolled back the deploy", StringComparison.Ordinal));

        // Blank final update after public updates: the resolution message is published.
        var b = await svc.CreateAsync(new CreateIncidentRequest("Cache cold", null, "SEV3", null, null, null, null, null, null, null, null, null), "dana", Ct);
        await svc.PostStatusUpdateAsync(b.Id, new StatusUpdateRequest("Warming", "public", null, null), null, "dana", Ct);
        await svc.ResolveAsync(b.Id, "Cache warmed", "  ", null, "dana", ct: Ct);
        var lastB = (await svc.StatusUpdatesAsync(b.Id, "public", Ct))[^1];
        Assert.Equal(("resolved", "Cache warmed"), (lastB.Status, lastB.CurrentStatus));

        // Never public: stays internal.
        var c = await svc.CreateAsync(new CreateIncidentRequest("Internal", null, "SEV4", null, null, null, null, null, null, null, null, null), "dana", Ct);
        await svc.ResolveAsync(c.Id, "done", null, null, "dana", ct: Ct);
        Assert.Empty(await svc.StatusUpdatesAsync(c.Id, "public", Ct));

        // The page requires the message; nothing is half done when it is missing.
        var d = await svc.CreateAsync(new CreateIncidentRequest("Needs message", null, "SEV4", null, null, null, null, null, null, null, null, null), "dana", Ct);
        var ex = await Assert.ThrowsAsync<ValidationException>(() => svc.ResolveAsync(d.Id, " ", "x", null, "dana", requireMessage: true, ct: Ct));
        Assert.Equal("message", ex.Field);
        Assert.Equal(IncidentStatus.Investigating, (await svc.GetAsync(d.Id, Ct))!.Status);
        Assert.Empty(await svc.StatusUpdatesAsync(d.Id, null, Ct));
    }

    [Fact]
    public async Task The_resolve_page_confirms_requires_a_message_and_the_api_takes_a_public_update()
    {
        await using var s = await TestServer.StartAsync();
        using var b = await Responder(s);
        var svc = s.Get<IncidentService>();
        var i = await svc.CreateAsync(new CreateIncidentRequest("Gateway 502", null, "SEV2", null, null, null, null, null, null, null, null, null), "dana", Ct);
        var page = $"/incidents/{i.Id}/resolve";
        var html = await b.Http.GetStringAsync(page, Ct);
        Assert.Contains("id=\"confirm-resolve\"", html, StringComparison.Ordinal);
        Assert.Contains("nothing is published", html, StringComparison.Ordinal);

        using (var r = await PostForm(b, page, page, new() { ["message"] = "", ["public_update"] = "fixed", ["version"] = "1" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var body = await r.Content.ReadAsStringAsync(Ct);
            Assert.Contains("id=\"message\" name=\"message\" rows=\"4\" aria-required=\"true\" aria-invalid=\"true\"", body, StringComparison.Ordinal);
            Assert.Contains(">fixed</textarea>", body, StringComparison.Ordinal);
        }
        Assert.Equal(IncidentStatus.Investigating, (await svc.GetAsync(i.Id, Ct))!.Status);
        using (var r = await PostForm(b, page, page, new() { ["message"] = "Rolled back", ["public_update"] = "Fixed for everyone.", ["version"] = "1" }))
        {
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            Assert.Equal($"/incidents/{i.Id}?tab=overview", r.Headers.Location?.OriginalString);
        }
        Assert.Equal("Fixed for everyone.", (await svc.StatusUpdatesAsync(i.Id, "public", Ct))[^1].CurrentStatus);

        // The API's resolve takes the same final update.
        using var api = s.Client((await s.NewUserAsync("responder")).Token);
        var j = await svc.CreateAsync(new CreateIncidentRequest("DB slow", null, "SEV3", null, null, null, null, null, null, null, null, null), "dana", Ct);
        var v = await api.Post($"/api/v1/incidents/{j.Id}/resolve", new { message = "index added", public_update = "Queries are fast again." });
        Assert.Equal("resolved", v.Str("status"));
        Assert.Equal("Queries are fast again.", (await svc.StatusUpdatesAsync(j.Id, "public", Ct))[^1].CurrentStatus);
    }

    [Fact]
    public async Task Single_actions_posted_with_fetch_answer_204_or_problem_details_and_plain_posts_redirect_to_the_tab()
    {
        await using var s = await TestServer.StartAsync();
        using var b = await Responder(s);
        var svc = s.Get<IncidentService>();
        var i = await svc.CreateAsync(new CreateIncidentRequest("Checkout errors", null, "SEV2", null, null, null, null, null, null, null, null, null), "dana", Ct);
        var page = $"/incidents/{i.Id}";
        var item = (await svc.ChecklistAsync(i.Id, Ct)).Phases[0].Items[1];

        using (var r = await PostForm(b, page, $"/incidents/{i.Id}/checklist/{item.Id}", new() { ["done"] = "true" }, fetch: true))
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        Assert.True((await svc.ChecklistAsync(i.Id, Ct)).Phases[0].Items[1].Done);
        using (var r = await PostForm(b, page, $"/incidents/{i.Id}/notes", new() { ["text"] = "" }, fetch: true))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            Assert.Contains("\"text\"", await r.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        using (var r = await PostForm(b, page, $"/incidents/{i.Id}/notes", new() { ["text"] = "See https://example.com/x" }))
        {
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            Assert.Equal($"/incidents/{i.Id}?tab=timeline#timeline", r.Headers.Location?.OriginalString);
        }
        using (var r = await PostForm(b, page, $"/incidents/{i.Id}/acknowledge", new() { ["version"] = "3" }, fetch: true))
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        Assert.NotNull((await svc.GetAsync(i.Id, Ct))!.AcknowledgedAt);

        // The live parts: each with its id and data-live; the note's link is clickable.
        var live = await b.Http.GetStringAsync($"/incidents/{i.Id}/live", Ct);
        foreach (var part in new[] { "pinned", "facts-live", "transitions", "updates-live", "timeline-live", "checklist", "actions-live", "count-timeline" })
            Assert.Matches($"id=\"{part}\"[^>]*data-live", live);
        Assert.Contains("<a href=\"https://example.com/x\" rel=\"noopener nofollow\">https://example.com/x</a>", live, StringComparison.Ordinal);
        Assert.DoesNotContain("<html", live, StringComparison.Ordinal);

        // A role or owner that is not an active user is refused on the page's forms.
        using (var r = await PostForm(b, page, $"/incidents/{i.Id}/roles", new() { ["commander"] = "mallory", ["version"] = "4" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("'mallory' is not an active user", System.Net.WebUtility.HtmlDecode(await r.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_event_stream_sends_a_change_when_someone_else_changes_the_incident_and_is_bounded_per_user()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var i = await svc.CreateAsync(new CreateIncidentRequest("Slow pages", null, "SEV3", null, null, null, null, null, null, null, null, null), "dana", Ct);
        var (viewer, token) = await s.NewUserAsync("viewer");
        using var c = Html(s, token);
        c.Timeout = TimeSpan.FromSeconds(60);

        using var stream = await c.GetAsync($"/incidents/{i.Id}/events?v={i.Version}", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(Ct));
        Assert.Equal("retry: 5000", await reader.ReadLineAsync(Ct));
        await reader.ReadLineAsync(Ct);
        Assert.Equal(": connected", await reader.ReadLineAsync(Ct));
        await reader.ReadLineAsync(Ct);

        await svc.AddNoteAsync(i.Id, "found it", "erin", Ct);
        Assert.Equal("event: change", await reader.ReadLineAsync(Ct));
        var data = await reader.ReadLineAsync(Ct);
        Assert.Equal("data: {\"version\":2,\"actor\":\"erin\",\"action\":\"incident.note\"}", data);

        // A page rendered at an older version hears about the newer one at once.
        using (var late = await c.GetAsync($"/incidents/{i.Id}/events?v=1", HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            using var lr = new StreamReader(await late.Content.ReadAsStreamAsync(Ct));
            await lr.ReadLineAsync(Ct);
            await lr.ReadLineAsync(Ct);
            Assert.Equal("event: change", await lr.ReadLineAsync(Ct));
        }

        // At most MaxStreamsPerUser at once per user: opening more is refused with 429 (one is open above; the closed
        // one is released when the server sees its request end, so count what is held when the refusal comes).
        var events = s.Get<IncidentEvents>();
        var extra = new List<HttpResponseMessage>();
        try
        {
            HttpStatusCode last = HttpStatusCode.OK;
            for (var n = 0; n <= IncidentEvents.MaxStreamsPerUser && last == HttpStatusCode.OK; n++)
            {
                var r = await c.GetAsync($"/incidents/{i.Id}/events", HttpCompletionOption.ResponseHeadersRead, Ct);
                extra.Add(r);
                last = r.StatusCode;
            }
            Assert.Equal(HttpStatusCode.TooManyRequests, last);
            Assert.Equal(IncidentEvents.MaxStreamsPerUser, events.StreamsOf(viewer));
            // Another user is not affected.
            using var other = Html(s, (await s.NewUserAsync("viewer")).Token);
            using var theirs = await other.GetAsync($"/incidents/{i.Id}/events", HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
        }
        finally
        {
            foreach (var r in extra) r.Dispose();
        }
        using var missing = await c.GetAsync("/incidents/999/events", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Postmortems_and_action_items_are_listed_across_incidents_and_the_postmortem_exports_as_markdown()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var a = await svc.CreateAsync(new CreateIncidentRequest("Outage A", null, "SEV1", null, null, null, null, null, null, null, null, null), "dana", Ct);
        var b = await svc.CreateAsync(new CreateIncidentRequest("Outage B", null, "SEV3", null, null, null, null, null, null, null, null, null), "dana", Ct);
        await svc.ResolveAsync(a.Id, "fixed", null, null, "dana", ct: Ct);
        await svc.ResolveAsync(b.Id, "fixed", null, null, "dana", ct: Ct);
        await svc.SavePostmortemAsync(a.Id, new PostmortemRequest("A bad deploy", null, "No canary", "Add canaries"), "dana", Ct);
        var now = s.Time.GetUtcNow();
        await svc.AddActionItemAsync(a.Id, new ActionItemRequest("Add a canary stage", "dana", now.AddDays(-1), null), "dana", Ct);
        await svc.AddActionItemAsync(b.Id, new ActionItemRequest("Alert on cache misses", "erin", now.AddDays(5), null), "dana", Ct);
        await svc.AddActionItemAsync(b.Id, new ActionItemRequest("Done already", "erin", null, "done"), "dana", Ct);

        using var c = Html(s, (await s.NewUserAsync("viewer")).Token);
        var pms = await c.GetStringAsync("/postmortems", Ct);
        Assert.Contains($"#{a.Id} Outage A", pms, StringComparison.Ordinal);
        Assert.Contains("A bad deploy", pms, StringComparison.Ordinal);
        Assert.Contains("<span class=\"flag warn\">missing</span>", pms, StringComparison.Ordinal);
        Assert.DoesNotContain("Outage B", await c.GetStringAsync("/postmortems?state=written", Ct), StringComparison.Ordinal);
        Assert.DoesNotContain("Outage A", await c.GetStringAsync("/postmortems?state=missing", Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/postmortems?state=bogus", Ct)).StatusCode);

        using var md = await c.GetAsync($"/incidents/{a.Id}/postmortem.md", Ct);
        Assert.Equal("text/markdown", md.Content.Headers.ContentType?.MediaType);
        Assert.Equal($"postmortem-{a.Id}.md", md.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var text = await md.Content.ReadAsStringAsync(Ct);
        Assert.StartsWith("# Postmortem: Outage A", text, StringComparison.Ordinal);
        Assert.Contains("- [ ] Add a canary stage (owner: dana", text, StringComparison.Ordinal);

        // Open items by default, overdue first and marked; filters by owner, overdue and status.
        var open = await c.GetStringAsync("/action-items", Ct);
        Assert.True(open.IndexOf("Add a canary stage", StringComparison.Ordinal) < open.IndexOf("Alert on cache misses", StringComparison.Ordinal));
        Assert.DoesNotContain("Done already", open, StringComparison.Ordinal);
        Assert.Contains("2 action items · 1 overdue", open, StringComparison.Ordinal);
        var erin = await c.GetStringAsync("/action-items?status=&owner=erin", Ct);
        Assert.Contains("Done already", erin, StringComparison.Ordinal);
        Assert.DoesNotContain("Add a canary stage", erin, StringComparison.Ordinal);
        var overdue = await c.GetStringAsync("/action-items?overdue=1", Ct);
        Assert.Contains("Add a canary stage", overdue, StringComparison.Ordinal);
        Assert.DoesNotContain("Alert on cache misses", overdue, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("/action-items?status=bogus", Ct)).StatusCode);
    }

    [Fact]
    public async Task The_audit_page_is_for_admins_and_filters_by_actor_action_and_time()
    {
        await using var s = await TestServer.StartAsync();
        var svc = s.Get<IncidentService>();
        var i = await svc.CreateAsync(new CreateIncidentRequest("Audited", null, "SEV3", null, null, null, null, null, null, null, null, null), "dana", Ct);
        await svc.AddNoteAsync(i.Id, "n", "erin", Ct);

        using var responder = Html(s, (await s.NewUserAsync("responder")).Token);
        Assert.Equal(HttpStatusCode.Forbidden, (await responder.GetAsync("/audit", Ct)).StatusCode);
        using var admin = Html(s, await s.AdminApiTokenAsync());
        var all = await admin.GetStringAsync("/audit", Ct);
        Assert.Contains("<code>incident.create</code>", all, StringComparison.Ordinal);
        Assert.Contains("<code>incident.note</code>", all, StringComparison.Ordinal);
        var byErin = await admin.GetStringAsync("/audit?actor=erin", Ct);
        Assert.Contains("<code>incident.note</code>", byErin, StringComparison.Ordinal);
        Assert.DoesNotContain("<code>incident.create</code>", byErin, StringComparison.Ordinal);
        var notes = await admin.GetStringAsync("/audit?action=incident.n", Ct);
        Assert.Contains("<code>incident.note</code>", notes, StringComparison.Ordinal);
        Assert.DoesNotContain("<code>user.create</code>", notes, StringComparison.Ordinal);
        var day = s.Time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("<code>incident.note</code>", await admin.GetStringAsync($"/audit?from={day}&to={day}", Ct), StringComparison.Ordinal);
        Assert.DoesNotContain("<code>incident.note</code>", await admin.GetStringAsync("/audit?to=2001-01-01", Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/audit?from=yesterday", Ct)).StatusCode);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;")]
    [InlineData("[x](javascript:alert(1))", "<a href=\"\" rel=\"noopener nofollow\">x</a>")]
    [InlineData("see https://example.com/a?b=1", "<a href=\"https://example.com/a?b=1\" rel=\"noopener nofollow\">https://example.com/a?b=1</a>")]
    [InlineData("[q](/query?expr=up)", "<a href=\"/query?expr=up\" rel=\"noopener nofollow\">q</a>")]
    [InlineData("# Title", "<h2>Title</h2>")]
    [InlineData("**bold** <b>x</b>", "<strong>bold</strong> &lt;b&gt;x&lt;/b&gt;")]
    public void The_one_markdown_renderer_keeps_raw_html_as_text_and_makes_safe_links(string source, string expected) =>
        Assert.Contains(expected, Watchkeeper.Server.Web.Markdown.ToHtml(source), StringComparison.Ordinal);

    [Fact]
    public void Declare_links_from_a_target_or_a_query_prefill_the_service_and_link_the_query()
    {
        var catalog = new FixedCatalog();
        var t = DeclarePrefill.From(catalog, "api-service", null, null, "10.0.0.5:8080", null);
        Assert.Equal(["api-service"], t.Services);
        Assert.Equal("API service target 10.0.0.5:8080 is down", t.Title);
        Assert.Equal("automated", t.Source);
        var link = DeclarePrefill.LinkForQuery("rate(http_requests_total{job=\"api-service\",status=~\"5..\"}[5m])");
        Assert.StartsWith("/incidents/new?query=rate%28http_requests_total", link, StringComparison.Ordinal);
        Assert.EndsWith("&service=api-service", link, StringComparison.Ordinal);
        var q = DeclarePrefill.From(catalog, "api-service", null, "up == 0", null, null);
        Assert.Contains("[up == 0](/query?expr=up%20%3D%3D%200)", q.Summary, StringComparison.Ordinal);
        Assert.Empty(DeclarePrefill.From(catalog, "unknown-job", null, null, null, null).Services);
    }

    private sealed class FixedCatalog : IServiceCatalog
    {
        public IReadOnlyList<ServiceConfig> All { get; } = [new() { Name = "api-service", DisplayName = "API service", Job = "api-service" }];
        public ServiceConfig? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        public ServiceConfig? ForJob(string job) => All.FirstOrDefault(s => s.JobLabel == job);
    }
}
