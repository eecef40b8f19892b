using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Watchkeeper.Server.Incidents;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class IncidentUiTests
{
    private static ILocator Timeline(IPage page) => page.Locator("#timeline table.timeline tbody");

    [Fact]
    public async Task Responder_declares_a_SEV2_posts_an_update_works_the_checklist_and_resolves_it()
    {
        await using var server = await BrowserServer.StartAsync();
        await server.CreateUserAsync("dana", "responder");
        var page = await server.LoginAsync("dana", "password-dana");

        // Declare.
        await page.ClickAsync("header.top >> text=Declare incident");
        await page.FillAsync("#title", "Policy API returns 502 for most requests");
        await page.CheckAsync("input[name=severity][value=SEV2]");
        await page.FillAsync("#summary", "Gateway health checks failing after the 08:50 deploy.");
        await page.CheckAsync("input[name=services_affected][value=api-service]");
        await page.CheckAsync("input[name=services_affected][value=web-interface]");
        await page.SelectOptionAsync("#detection_source", "automated");
        await page.ClickAsync("#declare button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex(@"/incidents/\d+$"));
        await Expect(page.Locator("#pinned h1")).ToContainTextAsync("Policy API returns 502 for most requests");
        await Expect(page.Locator("#severity")).ToHaveTextAsync("SEV2");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Investigating");
        await Expect(page.Locator("#fact-commander")).ToContainTextAsync("dana");
        // The clock counts down live from 15m (the browser's clock runs; the server's is held).
        await Expect(page.Locator("#sla-response .big")).ToHaveTextAsync(new Regex("^1[45]m( \\d+s)? left$"));
        await Expect(Timeline(page).Locator("tr").First).ToContainTextAsync("SEV2 operational incident declared");

        // Three minutes later: a status update from the manual's template.
        server.Time.Advance(TimeSpan.FromMinutes(3));
        await page.ClickAsync("#update-box summary");
        await page.FillAsync("#current_status", "Rolling back the 08:50 gateway deploy.");
        await page.SelectOptionAsync("#visibility", "public");
        await page.FillAsync("#next_update_in", "30m");
        await page.SelectOptionAsync("#su-status", "identified");
        await page.ClickAsync("#update-form button[type=submit]");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Identified");
        var update = page.Locator("#updates .update-item").First;
        await Expect(update).ToContainTextAsync("Rolling back the 08:50 gateway deploy.");
        await Expect(update).ToContainTextAsync("public");
        await Expect(update.Locator("pre.update")).ToContainTextAsync("## Incident: Policy API returns 502 for most requests", new() { UseInnerText = false });
        await Expect(page.Locator("#next-update")).ToContainTextAsync("2026-11-02 09:33");
        await Expect(Timeline(page)).ToContainTextAsync("Public status update (Identified): Rolling back the 08:50 gateway deploy.");
        await Expect(Timeline(page)).ToContainTextAsync("Status changed from Investigating to Identified");
        await Expect(page.Locator("#sla-response")).ToContainTextAsync("Met in 3m");

        // Two checklist items, checked with their checkboxes on the Checklist tab (saved in place, no reload).
        await page.ClickAsync("#tab-checklist");
        await Expect(page).ToHaveURLAsync(new Regex("tab=checklist"));
        await page.EvaluateAsync("() => { window.__noReload = true; }");
        var first = page.Locator("[data-phase=immediate-response] li").Nth(0);
        var second = page.Locator("[data-phase=immediate-response] li").Nth(2);
        await first.Locator("input[type=checkbox]").ClickAsync();
        await Expect(first).ToHaveClassAsync("done");
        await second.Locator("input[type=checkbox]").ClickAsync();
        await Expect(second).ToHaveClassAsync("done");
        await Expect(first.Locator("input[type=checkbox]")).ToBeCheckedAsync();
        await Expect(second.Locator("input[type=checkbox]")).ToBeCheckedAsync();
        await Expect(first.Locator(".by")).ToContainTextAsync("dana");
        await Expect(page.Locator("#checklist-count")).ToContainTextAsync("2/20 done");
        await Expect(Timeline(page)).ToContainTextAsync("Checked [Immediate Response] Acknowledge incident alert");
        await Expect(Timeline(page)).ToContainTextAsync("Checked [Immediate Response] Designate incident commander");

        Assert.True(await page.EvaluateAsync<bool>("() => window.__noReload === true"), "the checklist ticks reloaded the page");

        // A note on the Timeline tab, then resolve with the confirmation page.
        await page.ClickAsync("#tab-timeline");
        await page.FillAsync("#note", "Rollback complete, error rate back to baseline.");
        await page.ClickAsync("#note-form button[type=submit]");
        await Expect(Timeline(page).Locator("tr.k-note")).ToContainTextAsync("Rollback complete, error rate back to baseline.");
        await Expect(Timeline(page).Locator("tr.k-note .who")).ToHaveTextAsync("dana");

        await Expect(page.Locator("#note")).ToHaveValueAsync("");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__noReload === true"), "the note reloaded the page");

        server.Time.Advance(TimeSpan.FromMinutes(40));
        await page.ClickAsync("#tab-overview");
        await page.ClickAsync("#transitions a[data-status=resolved]");
        await Expect(page).ToHaveURLAsync(new Regex(@"/incidents/\d+/resolve$"));
        await Expect(page.Locator("#public-rule")).ToContainTextAsync("Rolling back the 08:50 gateway deploy.");
        await page.ClickAsync("#confirm-resolve");
        await Expect(page.Locator("#error")).ToContainTextAsync("Resolution message: is required");
        await Expect(page.Locator("#message")).ToHaveAttributeAsync("aria-invalid", "true");
        await page.FillAsync("#message", "Rolled back the gateway deploy; 5xx at baseline for 30 minutes.");
        await page.FillAsync("#public_update", "Resolved: the API answers normally again.");
        await page.ClickAsync("#confirm-resolve");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Resolved");
        // The last public update is the resolution, not "Identified ... next by".
        var latest = page.Locator("#updates .update-item").First;
        await Expect(latest).ToContainTextAsync("Resolved: the API answers normally again.");
        await Expect(latest.Locator(".status")).ToHaveTextAsync("Resolved");
        await Expect(page.Locator("#next-action")).ToContainTextAsync("Write the postmortem");
        await Expect(page.Locator("#sla-resolution")).ToContainTextAsync("Met in 43m");
        await Expect(Timeline(page)).ToContainTextAsync("Status changed from Identified to Resolved");
        await Expect(page.Locator("#transitions button")).ToHaveTextAsync(["Reopen"]);

        // Every step is in the timeline, in order, with its author.
        var kinds = await Timeline(page).Locator("tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.kind)");
        Assert.Equal(["created", "role_assigned", "acknowledged", "status_changed", "status_update", "checklist_item", "checklist_item", "note", "resolved", "status_update"], kinds.Where(k => k != "escalation"));
        var authors = await Timeline(page).Locator("tr:not([data-kind=escalation]) td.who").AllInnerTextsAsync();
        Assert.All(authors, a => Assert.Equal("dana", a));

        var incidentUrl = page.Url;

        // The list shows it as resolved once "all" is selected (the default view is open incidents).
        await page.GotoAsync("/incidents");
        await Expect(page.Locator("#count")).ToContainTextAsync("0 incidents");
        await page.SelectOptionAsync("#f-status", "resolved");
        await page.ClickAsync("form[role=search] button[type=submit]");
        await Expect(page.Locator("table.incidents tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("table.incidents tbody tr")).ToContainTextAsync("Resolved");

        await page.GotoAsync(incidentUrl);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "incident-resolved.png"), FullPage = true });
    }

    [Fact]
    public async Task Open_incident_page_renders_header_clocks_checklist_and_postmortem()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Login latency above 5s for EU users", "operational", "SEV2",
            "p95 login latency 5-8s since 09:00.", null, ["api-service", "database"], null, "automated", "admin", "sam", null, null), "admin");
        await server.Incidents.AddNoteAsync(i.Id, "Suspect connection pool exhaustion on auth-db.", "admin");
        await server.Incidents.AddActionItemAsync(i.Id, new ActionItemRequest("Alert on pool saturation", "sam", new DateTimeOffset(2026, 11, 9, 0, 0, 0, TimeSpan.Zero), null), "admin");
        server.Time.Advance(TimeSpan.FromMinutes(20)); // response SLA (15m) breached, first checklist phases overdue
        await server.Incidents.CheckSlaAsync();

        var page = await server.LoginAsync();
        await page.GotoAsync($"/incidents/{i.Id}");
        await Expect(page.Locator("#sla-response .big")).ToHaveTextAsync(new Regex("^BREACHED 5m( \\d+s)? ago$"));
        await Expect(page.Locator("#next-action")).ToContainTextAsync("Acknowledge");
        await Expect(page.Locator("#services")).ToContainTextAsync("API service");
        await Expect(page.Locator("#services")).ToContainTextAsync("owner team-lead");
        await Expect(page.Locator("#sla-response")).ToHaveClassAsync(new Regex("breached"));
        await Expect(page.Locator("[data-phase=immediate-response]")).ToHaveClassAsync(new Regex("overdue"));
        await Expect(page.Locator("#checklist-count")).ToContainTextAsync("overdue");
        await Expect(Timeline(page)).ToContainTextAsync("SEV2 response SLA breached");

        await page.ClickAsync("#tab-postmortem");
        await page.FillAsync("#pm-root_cause", "Pool size of 10 against 40 workers.");
        await page.ClickAsync("#postmortem-form button[type=submit]");
        await Expect(page.Locator("#postmortem-view")).ToContainTextAsync("Pool size of 10 against 40 workers.");
        await Expect(page.Locator("#postmortem-view")).ToContainTextAsync("Suspect connection pool exhaustion on auth-db.");
        await Expect(page.Locator("#postmortem-view")).ToContainTextAsync("Alert on pool saturation");

        await page.ClickAsync("#tab-followups");
        await page.Locator("#actions tr[data-action] select").SelectOptionAsync("in_progress");
        await page.ClickAsync("#actions tr[data-action] button[type=submit]");
        await Expect(page.Locator("#actions tr[data-action] select")).ToHaveValueAsync("in_progress");

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "incident-open.png"), FullPage = true });
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        await page.ClickAsync("#tab-overview");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "incident-open-dark.png") });
    }

    [Fact]
    public async Task Declaring_without_a_title_shows_an_error_naming_the_field_and_keeps_the_input()
    {
        await using var server = await BrowserServer.StartAsync();
        var page = await server.LoginAsync();
        await page.GotoAsync("/incidents/new");
        await page.CheckAsync("input[name=severity][value=SEV3]");
        await page.FillAsync("#summary", "Something is slow");
        await page.ClickAsync("#declare button[type=submit]");

        await Expect(page.Locator("#error")).ToHaveTextAsync("Title: is required");
        await Expect(page.Locator("#title")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#title-error")).ToBeVisibleAsync();
        await Expect(page.Locator("#summary")).ToHaveValueAsync("Something is slow");
        await Expect(page.Locator("input[name=severity][value=SEV3]")).ToBeCheckedAsync();
        Assert.EndsWith("/incidents/new", page.Url, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Incidents.ListAsync(null, null, null, null, null, null, 10, null)).Total);
    }

    [Fact]
    public async Task A_status_change_that_is_not_allowed_shows_the_allowed_ones_and_a_bad_duration_names_its_field()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Disk filling on metrics-2", null, "SEV3", null, null, null, null, null, null, null, null, null), "admin");
        var page = await server.LoginAsync();
        await page.GotoAsync($"/incidents/{i.Id}");

        // The form offers only allowed moves; a forged one (added to the select) is refused with the allowed ones.
        await page.ClickAsync("#change-details summary");
        await page.EvaluateAsync("() => document.getElementById('tr-status').add(new Option('Investigating', 'investigating'))");
        await page.SelectOptionAsync("#tr-status", "investigating");
        await page.ClickAsync("#status-form button[type=submit]");
        await Expect(page.Locator("#error")).ToContainTextAsync("Cannot change status from Investigating to Investigating");
        await Expect(page.Locator("#error")).ToContainTextAsync("Identified, Monitoring, Resolved");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Investigating");

        await page.ClickAsync("#update-box summary");
        await page.FillAsync("#current_status", "Cleaning old blocks.");
        await page.FillAsync("#next_update_in", "soon");
        await page.ClickAsync("#update-form button[type=submit]");
        await Expect(page.Locator("#error")).ToContainTextAsync("Next update in: invalid duration");
        await Expect(page.Locator("#next_update_in")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#current_status")).ToHaveValueAsync("Cleaning old blocks.");
    }

    [Fact]
    public async Task A_status_button_on_a_stale_page_does_not_overwrite_a_newer_change()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("DNS resolution failures", null, "SEV1", null, null, null, null, null, null, null, null, null), "admin");
        // Without JavaScript (plain form posts): a page that does not follow changes live.
        var page = await server.LoginAsync(javaScript: false);
        await page.GotoAsync($"/incidents/{i.Id}");

        // Someone else resolves it while this page is open.
        await server.Incidents.TransitionAsync(i.Id, IncidentStatus.Resolved, "fixed upstream", null, "sam");
        await page.ClickAsync("#transitions button[data-status=identified]");
        await Expect(page.Locator("#error")).ToContainTextAsync("Someone else changed this incident");
        await Expect(page.Locator("#status")).ToHaveTextAsync("Resolved");
        await Expect(page.Locator("#transitions button")).ToHaveTextAsync(["Reopen"]);
        Assert.Equal(IncidentStatus.Resolved, (await server.Incidents.GetAsync(i.Id))!.Status);
    }

    [Fact]
    public async Task User_text_is_shown_as_text_never_as_markup()
    {
        await using var server = await BrowserServer.StartAsync();
        const string Evil = "<img src=x onerror=\"document.title='pwned'\"> **bold** <script>document.title='pwned'</script>";
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest(Evil, null, "SEV2", Evil, Evil, null, Evil, null, "<i>ic</i>", null, null, null), "admin");
        await server.Incidents.AddNoteAsync(i.Id, Evil, "admin");
        await server.Incidents.PostStatusUpdateAsync(i.Id, new StatusUpdateRequest(Evil, "public", null, null), null, "admin");
        await server.Incidents.SavePostmortemAsync(i.Id, new PostmortemRequest(Evil, Evil, Evil, Evil), "admin");
        await server.Incidents.AddActionItemAsync(i.Id, new ActionItemRequest(Evil, "<u>me</u>", null, null), "admin");
        var page = await server.LoginAsync();

        await page.GotoAsync($"/incidents/{i.Id}");
        await Expect(page.Locator("#pinned h1")).ToContainTextAsync("<img src=x");
        await Expect(page.Locator("main img, main script, main b:has-text('svc'), main i:has-text('ic'), main u")).ToHaveCountAsync(0);
        await Expect(page.Locator("#timeline tr.k-note")).ToContainTextAsync("<script>");
        await Expect(page).Not.ToHaveTitleAsync("pwned");
        await page.GotoAsync("/incidents");
        await Expect(page.Locator("table.incidents")).ToContainTextAsync("<img src=x");
        await Expect(page.Locator("main img")).ToHaveCountAsync(0);
        await Expect(page).Not.ToHaveTitleAsync("pwned");
    }

    [Fact]
    public async Task Viewer_sees_the_incident_read_only_and_their_writes_are_forbidden()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Status page stale", null, "SEV4", null, null, null, null, null, "admin", null, null, null), "admin");
        await server.CreateUserAsync("vic", "viewer");
        var page = await server.LoginAsync("vic", "password-vic");

        await Expect(page.Locator("header.top nav")).Not.ToContainTextAsync("Declare incident");
        await page.GotoAsync($"/incidents/{i.Id}");
        await Expect(page.Locator("#pinned h1")).ToContainTextAsync("Status page stale");
        await Expect(page.Locator("p.readonly")).ToBeVisibleAsync();
        // The only form on the page is the logout button's.
        await Expect(page.Locator("main form")).ToHaveCountAsync(0);
        await Expect(page.Locator("#transitions")).ToHaveCountAsync(0);
        await Expect(page.Locator("#checklist input[type=checkbox]").First).ToBeDisabledAsync();
        await page.ClickAsync("#tab-timeline");
        await Expect(page.Locator("#timeline")).ToBeVisibleAsync();

        // Posting anyway (with a valid antiforgery token) is refused by role.
        var token = await page.Locator("header form input[name=__RequestVerificationToken]").GetAttributeAsync("value");
        var form = page.APIRequest.CreateFormData();
        form.Set("__RequestVerificationToken", token!);
        form.Set("text", "viewer note");
        var r = await page.APIRequest.PostAsync($"/incidents/{i.Id}/notes", new APIRequestContextOptions { Form = form });
        Assert.Equal(403, r.Status);
        var r2 = await page.APIRequest.PostAsync("/incidents/new", new APIRequestContextOptions { Form = form });
        Assert.Equal(403, r2.Status);
        Assert.DoesNotContain(await server.Incidents.TimelineAsync(i.Id), t => t.Message == "viewer note");

        var newPage = await page.GotoAsync("/incidents/new");
        Assert.Equal(403, newPage!.Status);
    }

    [Fact]
    public async Task A_form_without_its_antiforgery_token_changes_nothing()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Queue backlog", null, "SEV3", null, null, null, null, null, null, null, null, null), "admin");
        var page = await server.LoginAsync();
        var form = page.APIRequest.CreateFormData();
        form.Set("text", "forged note");
        var r = await page.APIRequest.PostAsync($"/incidents/{i.Id}/notes", new APIRequestContextOptions { Form = form });
        Assert.Equal(400, r.Status);
        Assert.Contains("Form expired", await r.TextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await server.Incidents.TimelineAsync(i.Id), t => t.Message == "forged note");
    }
}

public sealed class SessionUiTests
{
    [Fact]
    public async Task Wrong_password_is_refused_and_login_returns_to_the_page_asked_for()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Replica lag", null, "SEV3", null, null, null, null, null, null, null, null, null), "admin");
        var context = await server.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString().TrimEnd('/') });
        context.SetDefaultTimeout(30_000);
        context.SetDefaultNavigationTimeout(60_000);
        var page = await context.NewPageAsync();

        await page.GotoAsync($"/incidents/{i.Id}");
        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", "not-the-password");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("[role=alert]")).ToContainTextAsync("Login failed");

        await page.FillAsync("#username", "admin");
        await page.FillAsync("#password", BrowserServer.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex($"/incidents/{i.Id}$"));
        await Expect(page.Locator("#pinned h1")).ToContainTextAsync("Replica lag");

        await page.ClickAsync("header.top >> text=Log out");
        await Expect(page).ToHaveURLAsync(new Regex("/login$"));
        var r = await page.GotoAsync("/incidents");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        Assert.Equal(200, r!.Status);
    }

    [Fact]
    public async Task Incident_page_shows_changes_by_others_without_a_reload()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Cache stampede", null, "SEV2", null, null, ["cache"], null, null, null, null, null, null), "admin");
        var page = await server.LoginAsync();
        await page.GotoAsync($"/incidents/{i.Id}?tab=timeline");
        await Expect(page.Locator("#changed")).ToBeHiddenAsync();
        await page.EvaluateAsync("() => { window.__noReload = true; }");
        // No wait for the event stream: it is opened with the page's version, so a change made before it connects is sent at once.
        await server.Incidents.AddNoteAsync(i.Id, "Scaled the cache tier, see https://example.com/runbook", "sam");
        await Expect(page.Locator("#timeline")).ToContainTextAsync("Scaled the cache tier");
        await Expect(page.Locator("#timeline tr.k-note a[href='https://example.com/runbook']")).ToHaveAttributeAsync("rel", "noopener nofollow");
        await Expect(page.Locator("#changed")).ToContainTextAsync("Updated by sam");
        await server.Incidents.AcknowledgeAsync(i.Id, null, "sam");
        await Expect(page.Locator("#fact-acknowledged")).Not.ToContainTextAsync("not yet");
        await Expect(page.Locator("#next-action")).Not.ToContainTextAsync("Acknowledge");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__noReload === true"), "the page reloaded");
    }
}
