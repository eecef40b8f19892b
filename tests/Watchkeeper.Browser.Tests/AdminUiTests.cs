using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class AdminUiTests
{
    [Fact]
    public async Task Admin_creates_a_user_changes_their_role_and_disables_them()
    {
        await using var server = await BrowserServer.StartAsync();
        var page = await server.LoginAsync();
        page.Dialog += (_, d) => d.AcceptAsync();
        await page.ClickAsync("header.top >> text=Users");

        await page.FillAsync("#u-name", "x");
        await page.FillAsync("#u-pass", "short");
        await page.ClickAsync("#create-user button[type=submit]");
        await Expect(page.Locator("#error")).ToHaveTextAsync("Password: must be at least 8 characters");
        await Expect(page.Locator("#u-pass")).ToHaveAttributeAsync("aria-invalid", "true");

        await page.FillAsync("#u-name", "priya");
        await page.FillAsync("#u-pass", "long-enough-password");
        await page.SelectOptionAsync("#u-role", "viewer");
        await page.ClickAsync("#create-user button[type=submit]");
        await Expect(page.Locator(".notice")).ToContainTextAsync("User 'priya' created with role viewer");
        var row = page.Locator("tr[data-user=priya]");
        await Expect(row.Locator("select[name=role]")).ToHaveValueAsync("viewer");

        await row.Locator("select[name=role]").SelectOptionAsync("responder");
        await row.Locator("button", new() { HasText = "Set role" }).ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync("now has role responder");
        await Expect(row.Locator("select[name=role]")).ToHaveValueAsync("responder");

        await row.Locator("button", new() { HasText = "Disable" }).ClickAsync();
        await Expect(row).ToContainTextAsync("disabled");
        Assert.Null(await server.Services.GetRequiredService<Users>().CheckPasswordAsync("priya", "long-enough-password"));

        // The last admin cannot lock everyone out (the same rule as the API's).
        await Expect(page.Locator("tr[data-user=admin] button", new() { HasText = "Disable" })).ToHaveCountAsync(0);
        await page.Locator("tr[data-user=admin] select[name=role]").SelectOptionAsync("viewer");
        await page.Locator("tr[data-user=admin] button", new() { HasText = "Set role" }).ClickAsync();
        await Expect(page.Locator("#error")).ToContainTextAsync("at least one active admin must remain");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "users.png"), FullPage = true });
    }

    [Fact]
    public async Task Any_user_creates_a_token_shown_once_and_revokes_it()
    {
        await using var server = await BrowserServer.StartAsync();
        await server.CreateUserAsync("vic", "viewer");
        var page = await server.LoginAsync("vic", "password-vic");
        page.Dialog += (_, d) => d.AcceptAsync();
        await Expect(page.Locator("header.top nav")).Not.ToContainTextAsync("Users");
        await page.ClickAsync("header.top >> text=API tokens");

        await page.FillAsync("#t-name", "grafana");
        await page.ClickAsync("#create-token button[type=submit]");
        var token = (await page.Locator("#token-value").InnerTextAsync()).Trim();
        Assert.StartsWith("wk_", token, StringComparison.Ordinal);
        Assert.NotNull(await server.Services.GetRequiredService<Users>().FindTokenAsync(token));

        // Shown once: reloading the list does not show it again.
        await page.GotoAsync("/tokens");
        await Expect(page.Locator("#token-value")).ToHaveCountAsync(0);
        Assert.DoesNotContain(token, await page.ContentAsync(), StringComparison.Ordinal);
        var row = page.Locator("#tokens tr[data-token]");
        await Expect(row).ToContainTextAsync("grafana");
        await Expect(row).ToContainTextAsync(token[..7]);

        await row.Locator("button", new() { HasText = "Revoke" }).ClickAsync();
        await Expect(page.Locator(".notice")).ToContainTextAsync("revoked");
        await Expect(row).ToContainTextAsync("revoked");
        Assert.Null(await server.Services.GetRequiredService<Users>().FindTokenAsync(token));

        // A viewer cannot open the users page.
        var r = await page.GotoAsync("/users");
        Assert.Equal(403, r!.Status);
    }

    [Fact]
    public async Task Reports_show_mtta_and_mttr_against_targets_breaches_and_the_trend()
    {
        await using var server = await BrowserServer.StartAsync();
        var s = server.Incidents;
        var a = await s.CreateAsync(new CreateIncidentRequest("Checkout errors", null, "SEV1", null, null, null, null, null, null, null, null, null), "admin");
        server.Time.Advance(TimeSpan.FromMinutes(2));
        await s.AcknowledgeAsync(a.Id, null, "admin");
        server.Time.Advance(TimeSpan.FromMinutes(88)); // resolved after 1h30m: over the 1h target
        await s.TransitionAsync(a.Id, IncidentStatus.Resolved, null, null, "admin");
        var b = await s.CreateAsync(new CreateIncidentRequest("Slow search", null, "SEV3", null, null, null, null, null, null, null, null, null), "admin");
        server.Time.Advance(TimeSpan.FromMinutes(30));
        await s.AcknowledgeAsync(b.Id, null, "admin");
        server.Time.Advance(TimeSpan.FromDays(1));

        var page = await server.LoginAsync();
        await page.ClickAsync("header.top >> text=Reports");
        await page.ClickAsync("text=7 days");
        await Expect(page.Locator("#total")).ToHaveTextAsync("2");
        var sev1 = page.Locator("tr[data-severity=SEV1]");
        await Expect(sev1.Locator("td").Nth(3)).ToHaveTextAsync("2m");
        await Expect(sev1.Locator("td").Nth(3)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("under"));
        await Expect(sev1.Locator("td").Nth(7)).ToHaveTextAsync("1h 30m");
        await Expect(sev1.Locator("td").Nth(7)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("over"));
        await Expect(sev1.Locator("td").Nth(10)).ToHaveTextAsync("1");
        await Expect(page.Locator("tr[data-severity=SEV3] td").Nth(3)).ToHaveTextAsync("30m");
        await Expect(page.Locator("#trend svg rect")).ToHaveCountAsync(2);

        await page.FillAsync("#r-from", "2026-11-05");
        await page.FillAsync("#r-to", "2026-11-01");
        await page.ClickAsync("form.filters button[type=submit]");
        await Expect(page.Locator("#error")).ToContainTextAsync("To: must be after from");

        await page.GotoAsync("/reports?period=7d");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "reports.png"), FullPage = true });
        await page.GotoAsync("/incidents?status=");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "incident-list.png"), FullPage = true });
        await page.GotoAsync("/incidents/new");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "declare.png"), FullPage = true });
    }

    [Fact]
    public async Task Incident_list_filters_by_severity_kind_and_text_and_pages()
    {
        await using var server = await BrowserServer.StartAsync();
        for (var n = 1; n <= 30; n++)
            await server.Incidents.CreateAsync(new CreateIncidentRequest($"Routine {n}", null, "SEV4", null, null, null, null, null, null, null, null, null), "admin");
        await server.Incidents.CreateAsync(new CreateIncidentRequest("Credential stuffing on login", "security", "SEV2", null, null, null, null, null, null, null, null, null), "admin");

        var page = await server.LoginAsync();
        await Expect(page.Locator("#count")).ToContainTextAsync("31 incidents match");
        await Expect(page.Locator("table.incidents tbody tr")).ToHaveCountAsync(25);
        await page.ClickAsync("a[rel=next]");
        await Expect(page.Locator("table.incidents tbody tr")).ToHaveCountAsync(6);
        await Expect(page.Locator("#count")).ToContainTextAsync("page 2");

        await page.GotoAsync("/incidents");
        await page.SelectOptionAsync("#f-kind", "security");
        await page.ClickAsync("form[role=search] button[type=submit]");
        await Expect(page.Locator("table.incidents tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("table.incidents tbody tr")).ToContainTextAsync("Credential stuffing on login");

        await page.GotoAsync("/incidents?status=open&severity=SEV4&q=Routine%202");
        await Expect(page.Locator("#count")).ToContainTextAsync("11 incidents match"); // Routine 2, 20-29
        await page.GotoAsync("/incidents?severity=SEV9");
        await Expect(page.Locator("#error")).ToContainTextAsync("Severity: unknown severity");
    }
}
