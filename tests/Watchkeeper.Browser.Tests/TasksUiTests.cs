using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class TasksUiTests
{
    [Fact]
    public async Task The_tasks_page_shows_overdue_tasks_and_marks_one_done_without_javascript_and_fits_a_phone()
    {
        await using var server = await BrowserServer.StartAsync();
        // Started Monday 09:00 UTC; the daily reviews are due at 10:00.
        server.Time.Advance(TimeSpan.FromMinutes(90));

        var page = await server.LoginAsync(javaScript: false);
        await page.ClickAsync("header.top nav a[href=\"/tasks\"]");
        await Expect(page).ToHaveURLAsync(new Regex("/tasks$"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Operations tasks");
        await Expect(page.Locator("#task-counts")).ToContainTextAsync("4 overdue of 16 task(s)");
        var row = page.Locator("tr[data-task=\"health-check-review\"]");
        await Expect(row).ToHaveAttributeAsync("data-status", "overdue");
        await Expect(row.Locator("td.due")).ToContainTextAsync("Mon 2 Nov 2026 10:00 UTC");
        await Expect(row).ToContainTextAsync("for 30 min");
        await Expect(page.Locator("tr[data-task=\"backup-validation\"]")).ToHaveAttributeAsync("data-status", "open");

        await row.Locator("input[name=note]").FillAsync("All green <b>ok</b>");
        await row.Locator("button:has-text('Mark done')").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/tasks\\?done=health-check-review#task-health-check-review$"));
        await Expect(page.Locator("#task-notice")).ToHaveTextAsync("Marked done.");
        row = page.Locator("tr[data-task=\"health-check-review\"]");
        await Expect(row).ToHaveAttributeAsync("data-status", "open");
        await Expect(row.Locator("td.due")).ToContainTextAsync("Tue 3 Nov 2026 10:00 UTC");
        // The note is text, not markup.
        await Expect(row).ToContainTextAsync("All green <b>ok</b>");
        await Expect(row).ToContainTextAsync("(late)");
        await Expect(page.Locator("#task-counts")).ToContainTextAsync("3 overdue of 16 task(s)");

        var phone = await server.LoginAsync(width: 390, height: 844);
        await phone.GotoAsync(new Uri(server.BaseAddress, "/tasks").ToString());
        await Expect(phone.Locator("tr[data-task=\"health-check-review\"]")).ToBeVisibleAsync();
        var width = await phone.EvaluateAsync<int>("() => document.querySelector('main').scrollWidth");
        Assert.True(width <= 420, $"/tasks main is {width}px wide on a 390px screen");
    }
}
