using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class NotificationUiTests
{
    [Fact]
    public async Task The_notifications_page_lists_outbox_items_their_tries_and_the_unconfigured_receivers()
    {
        await using var server = await BrowserServer.StartAsync(b => b.Services.AddSingleton<IReceiverSource>(new StaticReceivers([
            new ReceiverConfig("critical", [new SlackConfig { Channel = "#ops-critical" }], [], [new PagerDutyConfig()], [], []),
        ])));
        var sender = server.Services.GetRequiredService<NotificationSender>();
        sender.MayRun = () => false;
        var db = server.Services.GetRequiredService<Db>();
        var outbox = server.Services.GetRequiredService<INotificationOutbox>();
        var data = new TemplateData("critical", "firing",
            [new TemplateAlert("firing", new Dictionary<string, string> { ["alertname"] = "ServiceDown", ["job"] = "api-service" },
                new Dictionary<string, string> { ["summary"] = "Service api-service is down" }, server.Time.GetUtcNow().AddMinutes(-1), null, "", "0123456789abcdef")],
            new Dictionary<string, string> { ["alertname"] = "ServiceDown" }, new Dictionary<string, string> { ["alertname"] = "ServiceDown" },
            new Dictionary<string, string>(), "", "{}:{alertname=\"ServiceDown\"}");
        foreach (var (r, i) in new[] { ("critical", "slack_configs[0]"), ("retired", "webhook_configs[0]") })
            await db.WriteAsync((c, tx) => outbox.EnqueueAsync(c, tx, new OutboxItem(r, i, data.GroupKey, data with { Receiver = r }, server.Time.GetUtcNow()), CancellationToken.None));
        Assert.Equal(2, await sender.RunOnceAsync());

        var page = await server.LoginAsync();
        await page.ClickAsync("header.top >> text=Notifications");
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/notifications$"));
        await Expect(page.Locator("#unconfigured-count")).ToHaveTextAsync("2");
        await Expect(page.Locator("tr[data-integration='slack_configs[0]']")).ToContainTextAsync("unconfigured");
        await Expect(page.Locator("tr[data-integration='pagerduty_configs[0]']")).ToContainTextAsync("routing_key is not set");
        await Expect(page.Locator("#outbox-table tbody tr")).ToHaveCountAsync(2);
        await Expect(page.Locator("tr[data-id='1']")).ToContainTextAsync("skipped");
        await Expect(page.Locator("tr[data-id='2']")).ToContainTextAsync("failed");

        await page.SelectOptionAsync("#n-status", "failed");
        await page.ClickAsync("form.filters button[type=submit]");
        await Expect(page.Locator("#outbox-table tbody tr")).ToHaveCountAsync(1);
        await page.ClickAsync("tr[data-id='2'] a");
        await Expect(page.Locator("h1")).ToContainTextAsync("Notification 2");
        await Expect(page.Locator("#status")).ToHaveTextAsync("failed");
        await Expect(page.Locator("#attempt-table tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#attempt-table")).ToContainTextAsync("receiver 'retired' is not in the running configuration");
        await Expect(page.Locator("#alerts")).ToContainTextAsync("Service api-service is down");

        // Usable on a phone.
        await page.SetViewportSizeAsync(390, 844);
        await page.GotoAsync(server.BaseAddress + "notifications");
        await Expect(page.Locator("#receiver-table")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.ResultsDir, "notifications.png"), FullPage = true });
    }
}
