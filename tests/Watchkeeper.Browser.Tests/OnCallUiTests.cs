using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.OnCall;
using Watchkeeper.Server.Platform;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class OnCallUiTests
{
    // The server clock starts Monday 2026-11-02 09:00Z: the shipped weekly rotation has oncall-engineer-2 on call.

    [Fact]
    public async Task Schedule_page_shows_who_is_on_call_a_timeline_that_fits_a_phone_and_takes_an_override()
    {
        await using var server = await BrowserServer.StartAsync();
        await server.CreateUserAsync("oncall-engineer-1", "responder");
        var page = await server.LoginAsync("oncall-engineer-1", "password-oncall-engineer-1");
        await page.ClickAsync("header.top >> text=On call");
        await Expect(page).ToHaveURLAsync(new Regex("/oncall$"));
        var now = page.Locator("#now tr[data-schedule=primary]");
        await Expect(now.Locator(".who-now")).ToHaveTextAsync("oncall-engineer-2");
        await Expect(now).ToContainTextAsync("Mon 2026-11-09 09:00");
        await Expect(page.Locator("#s-primary .week")).ToHaveCountAsync(8);
        // The first week row starts at midnight: engineer 1 until the 09:00 handoff, then engineer 2.
        var firstWeek = page.Locator("#s-primary .week").First.Locator(".seg");
        await Expect(firstWeek).ToHaveTextAsync(["oncall-engineer-1", "oncall-engineer-2"]);

        // An override from now for two hours, entered in the schedule's local time (UTC here).
        await page.SelectOptionAsync("#o-schedule", "primary");
        await page.SelectOptionAsync("#o-person", "team-lead");
        await page.FillAsync("#o-start", "2026-11-02T08:30");
        await page.FillAsync("#o-end", "2026-11-02T11:00");
        await page.FillAsync("#o-reason", "covering the deploy");
        await page.ClickAsync("#override-form button[type=submit]");
        await Expect(page.Locator("#overrides tr[data-override]")).ToContainTextAsync("covering the deploy");
        await Expect(now.Locator(".who-now")).ToContainTextAsync("team-lead");
        await Expect(now.Locator(".who-now .flag")).ToHaveTextAsync("override");

        // A bad override keeps the form and says why.
        await page.FillAsync("#o-start", "2026-11-03T10:00");
        await page.FillAsync("#o-end", "2026-11-03T09:00");
        await page.ClickAsync("#override-form button[type=submit]");
        await Expect(page.Locator("#override-error")).ToContainTextAsync("must be after start");

        // The calendar link for the signed-in person.
        await page.ClickAsync("#calendar-link");
        await Expect(page.Locator("#calendar-url")).ToHaveValueAsync(new Regex(@"/oncall/calendar/oncall-engineer-1\.ics\?token=wkcal_[0-9a-f]+$"));

        // On a phone: the timeline still shows and nothing scrolls sideways.
        await page.SetViewportSizeAsync(375, 800);
        await page.GotoAsync("/oncall");
        await Expect(page.Locator("#s-primary .week .bar").First).ToBeVisibleAsync();
        var wide = await page.EvaluateAsync<string>("""
            () => document.documentElement.scrollWidth <= window.innerWidth + 1 ? "" :
              [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className).join(', ')
            """);
        Assert.True(wide.Length == 0, "the schedules page scrolls sideways on a phone: " + wide);
        await page.ScreenshotAsync(new() { Path = Path.Combine(BrowserServer.ResultsDir, "oncall-phone.png"), FullPage = true });
    }

    [Fact]
    public async Task Escalations_page_shows_the_running_step_and_acknowledging_on_the_incident_page_stops_it()
    {
        await using var server = await BrowserServer.StartAsync();
        await server.CreateUserAsync("dana", "responder");
        var incident = await server.Incidents.CreateAsync(new CreateIncidentRequest("Checkout fails", null, "SEV1", null, null, null, null, null, null, null, null, null), "dana");
        await server.Services.GetRequiredService<EscalationEngine>().RunDueAsync(default);

        var page = await server.LoginAsync("dana", "password-dana");
        await page.ClickAsync("header.top >> text=Escalations");
        var row = page.Locator($"#active tr[data-escalation]");
        await Expect(row).ToContainTextAsync("Checkout fails");
        await Expect(row.Locator(".current-step")).ToHaveTextAsync("step 1 of 3");
        await Expect(row).ToContainTextAsync("oncall-engineer-2");
        await Expect(page.Locator("[data-policy=sev1-critical] ol.steps li")).ToHaveCountAsync(3);
        await Expect(page.Locator("[data-policy=sev4-review]")).ToContainTextAsync("no page");

        await row.Locator("a").First.ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/incidents/{incident.Id}$"));
        server.Time.Advance(TimeSpan.FromMinutes(2));
        await page.ClickAsync("#transitions >> text=Acknowledge");
        await Expect(page.Locator("#fact-acknowledged")).Not.ToContainTextAsync("not yet");
        await Expect(page.Locator("#timeline")).ToContainTextAsync("Escalation stopped: acknowledged by dana");

        await page.GotoAsync("/oncall/escalations");
        await Expect(page.Locator("#active")).ToContainTextAsync("No escalation is running");
        var done = page.Locator("#recent tr[data-escalation]");
        await Expect(done).ToContainTextAsync("acknowledged by dana");
        await Expect(done).ToContainTextAsync("2m");
    }

    [Fact]
    public async Task Acknowledgement_link_works_without_login_only_through_its_button()
    {
        await using var server = await BrowserServer.StartAsync();
        var incident = await server.Incidents.CreateAsync(new CreateIncidentRequest("Search is down", null, "SEV2", null, null, null, null, null, null, null, null, null), "admin");
        var links = server.Services.GetRequiredService<AckLinks>();
        await links.WarmAsync(default);
        var token = await server.Services.GetRequiredService<Db>().WriteAsync((c, tx) => links.CreateAsync(c, tx, incident.Id, "oncall-engineer-2", TimeSpan.FromHours(1), default));

        var context = await server.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString().TrimEnd('/') });
        var page = await context.NewPageAsync();
        await page.GotoAsync($"/ack/{token}");
        await Expect(page.Locator("#ack")).ToContainTextAsync("Search is down");
        await Expect(page.Locator("#ack")).ToContainTextAsync("sent to oncall-engineer-2");
        Assert.Null((await server.Incidents.GetAsync(incident.Id))!.AcknowledgedAt);
        await page.ClickAsync("#ack-button");
        await Expect(page.Locator("#ack-done")).ToContainTextAsync($"Incident #{incident.Id} is acknowledged");
        Assert.NotNull((await server.Incidents.GetAsync(incident.Id))!.AcknowledgedAt);

        await page.GotoAsync($"/ack/{token}");
        await Expect(page.Locator("#ack-problem")).ToContainTextAsync("already used");
        await context.CloseAsync();
    }
}
