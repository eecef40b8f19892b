using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Watchkeeper.Server.Incidents;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

/// <summary>Issue 11's incident page and the pages around it, in Chromium: tabs, people and service pickers, lists across incidents, the audit page.</summary>
public sealed class IncidentPageUiTests
{
    [Fact]
    public async Task Tabs_work_without_javascript_through_links_and_the_pinned_bar_shows_the_next_action()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Search returns stale results", null, "SEV3", null, null, ["cache"], null, null, null, null, null, null), "admin");
        var page = await server.LoginAsync(javaScript: false, width: 390, height: 844);
        await page.GotoAsync($"/incidents/{i.Id}");
        await Expect(page.Locator("#panel-overview")).ToBeVisibleAsync();
        await Expect(page.Locator("#panel-checklist")).ToBeHiddenAsync();
        await Expect(page.Locator("#next-action")).ToContainTextAsync("Acknowledge");
        await page.ClickAsync("#tab-checklist");
        await Expect(page).ToHaveURLAsync(new Regex(@"\?tab=checklist$"));
        await Expect(page.Locator("#panel-checklist")).ToBeVisibleAsync();
        await Expect(page.Locator("#panel-overview")).ToBeHiddenAsync();
        // Without JavaScript the checklist's own button posts the form; the page comes back on the same tab.
        var item = page.Locator("[data-phase=immediate-response] li").Nth(1);
        await item.Locator("button.save").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex(@"\?tab=checklist#item-\d+$"));
        await Expect(page.Locator("[data-phase=immediate-response] li").Nth(1)).ToHaveClassAsync("done");
        // The pinned bar stays in view on a phone while the page scrolls.
        await page.Mouse.WheelAsync(0, 3000);
        await Expect(page.Locator("#pinned")).ToBeInViewportAsync();
        // Acknowledge from the pinned bar (a plain post without JavaScript).
        await page.ClickAsync("#next-form button");
        await Expect(page.Locator("#fact-acknowledged")).Not.ToContainTextAsync("not yet");
        await Expect(page.Locator("#next-action")).ToContainTextAsync("Assign an incident commander");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, "incident-phone.png") });
    }

    [Fact]
    public async Task Declare_picks_services_from_the_catalog_and_people_from_users_and_shows_every_error_at_once()
    {
        await using var server = await BrowserServer.StartAsync();
        await server.CreateUserAsync("dana", "responder");
        await server.CreateUserAsync("erin", "responder");
        var page = await server.LoginAsync("dana", "password-dana");
        await page.GotoAsync("/incidents/new");
        await Expect(page.Locator("#services_affected input[type=checkbox]")).ToHaveCountAsync(4);
        await Expect(page.Locator("#commander option")).ToContainTextAsync(["– unassigned –", "admin", "dana", "erin"]);
        await Expect(page.Locator("#commander")).ToHaveValueAsync("dana");
        await Expect(page.Locator("#title")).ToHaveAttributeAsync("aria-required", "true");

        // Nothing filled in and a role forged to a non-user: every problem at once, each field marked.
        await page.SelectOptionAsync("#scribe", "erin");
        await page.EvaluateAsync("() => document.getElementById('scribe').add(new Option('mallory', 'mallory', true, true))");
        await page.ClickAsync("#declare button[type=submit]");
        await Expect(page.Locator("#error")).ToContainTextAsync("3 fields need attention");
        foreach (var f in new[] { "title", "severity", "scribe" })
            await Expect(page.Locator($"#{f}-error")).ToBeVisibleAsync();
        await Expect(page.Locator("#scribe-error")).ToContainTextAsync("'mallory' is not an active user");

        await page.FillAsync("#title", "Database connections exhausted");
        await page.CheckAsync("input[name=severity][value=SEV2]");
        await page.CheckAsync("input[name=services_affected][value=database]");
        await page.SelectOptionAsync("#scribe", "erin");
        await page.SelectOptionAsync("#communications_lead", "erin");
        await page.ClickAsync("#declare button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex(@"/incidents/\d+$"));
        await Expect(page.Locator("#services li[data-service=database]")).ToContainTextAsync("Database");
        await Expect(page.Locator("#fact-scribe")).ToContainTextAsync("erin");

        // Roles change through a select of active users.
        await page.ClickAsync("#change-details summary");
        await page.SelectOptionAsync("#r-commander", "erin");
        await page.ClickAsync("#roles-form button[type=submit]");
        await Expect(page.Locator("#fact-commander")).ToContainTextAsync("erin");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, "incident-overview.png") });
    }

    [Fact]
    public async Task A_query_declares_an_incident_with_its_service_and_a_link_back_to_the_query()
    {
        await using var server = await BrowserServer.StartAsync();
        var page = await server.LoginAsync();
        await page.GotoAsync("/query?expr=" + Uri.EscapeDataString("up{job=\"api-service\"}") + "&tab=table");
        await page.ClickAsync("#declare-from-query");
        await Expect(page).ToHaveURLAsync(new Regex("/incidents/new\\?query="));
        await Expect(page.Locator("input[name=services_affected][value=api-service]")).ToBeCheckedAsync();
        await Expect(page.Locator("#summary")).ToHaveValueAsync(new Regex(@"Declared from the query \[up\{job=""api-service""\}\]\(/query\?expr="));
        await page.FillAsync("#title", "API targets down");
        await page.CheckAsync("input[name=severity][value=SEV2]");
        await page.ClickAsync("#declare button[type=submit]");
        await Expect(page).ToHaveURLAsync(new Regex(@"/incidents/\d+$"));
        var link = page.Locator("#summary a");
        await Expect(link).ToHaveAttributeAsync("href", new Regex("^/query\\?expr=up"));
        await Expect(link).ToHaveAttributeAsync("rel", "noopener nofollow");
    }

    [Fact]
    public async Task Postmortems_action_items_and_the_audit_log_have_their_pages()
    {
        await using var server = await BrowserServer.StartAsync();
        var s = server.Incidents;
        var a = await s.CreateAsync(new CreateIncidentRequest("Checkout errors", null, "SEV1", null, null, ["api-service"], null, null, "admin", null, null, null), "admin");
        await s.ResolveAsync(a.Id, "Rolled back", null, null, "admin");
        await s.SavePostmortemAsync(a.Id, new PostmortemRequest("A bad deploy broke checkout.", null, "No canary", null), "admin");
        await s.AddActionItemAsync(a.Id, new ActionItemRequest("Add a canary stage", "admin", server.Time.GetUtcNow().AddDays(-2), null), "admin");
        await s.AddActionItemAsync(a.Id, new ActionItemRequest("Page on checkout 5xx", "admin", server.Time.GetUtcNow().AddDays(3), null), "admin");
        var page = await server.LoginAsync();

        await page.ClickAsync("header.top nav >> text=Postmortems");
        await Expect(page.Locator("#postmortems tr[data-incident]")).ToContainTextAsync("A bad deploy broke checkout.");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#postmortems a[download]"));
        Assert.Equal($"postmortem-{a.Id}.md", download.SuggestedFilename);
        Assert.StartsWith("# Postmortem: Checkout errors", await File.ReadAllTextAsync((await download.PathAsync())!), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, "postmortems.png") });

        await page.ClickAsync("header.top nav >> text=Action items");
        await Expect(page.Locator("#action-items tr.overdue")).ToContainTextAsync("Add a canary stage");
        await Expect(page.Locator("#action-items tr.overdue .flag")).ToHaveTextAsync("overdue");
        await page.CheckAsync("input[name=overdue]");
        await page.ClickAsync("form[role=search] button[type=submit]");
        await Expect(page.Locator("#action-items tbody tr")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, "action-items.png") });

        await page.ClickAsync("header.top nav >> text=Audit log");
        await Expect(page.Locator("#audit")).ToContainTextAsync("incident.postmortem");
        await page.FillAsync("#f-action", "incident.action");
        await page.ClickAsync("form[role=search] button[type=submit]");
        await Expect(page.Locator("#audit tbody tr")).ToHaveCountAsync(2);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, "audit-log.png") });
    }

    [Fact]
    public async Task Only_destructive_actions_are_red()
    {
        await using var server = await BrowserServer.StartAsync();
        var i = await server.Incidents.CreateAsync(new CreateIncidentRequest("Colours", null, "SEV2", null, null, null, null, null, null, null, null, null), "admin");
        var page = await server.LoginAsync();
        await page.GotoAsync($"/incidents/{i.Id}");
        // The danger colour as the stylesheet gives it (revoke, disable user).
        var red = await page.EvaluateAsync<string>("() => { const b = document.createElement('button'); b.className = 'danger'; document.body.append(b); const c = getComputedStyle(b).backgroundColor; b.remove(); return c; }");
        foreach (var sel in new[] { "button[data-action=acknowledge]", "#transitions button[data-status=identified]", "#transitions a[data-status=resolved]" })
            Assert.NotEqual(red, await page.Locator(sel).EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        await server.Incidents.ResolveAsync(i.Id, "done", null, null, "admin");
        await page.ReloadAsync();
        Assert.NotEqual(red, await page.Locator("#transitions button[data-status=investigating]").EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        await Expect(page.Locator("#transitions button[data-status=investigating]")).ToHaveTextAsync("Reopen");
    }
}
