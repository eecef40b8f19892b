using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Rules;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Rules;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

public sealed class AlertingUiTests
{
    [Fact]
    public async Task An_alert_is_silenced_from_its_Silence_link_and_the_silence_is_expired_again()
    {
        await using var server = await BrowserServer.StartAsync();
        var engine = server.Services.GetRequiredService<AlertingEngine>();
        Assert.Empty(engine.Receive([new PostableAlert(
            new Dictionary<string, string> { ["alertname"] = "DiskFull", ["severity"] = "critical", ["instance"] = "db-1.example.internal:9100" },
            new Dictionary<string, string> { ["summary"] = "Disk on db-1 is 97% full", ["description"] = "Free space is below 3% on /var/lib/postgresql" },
            server.Time.GetUtcNow() - TimeSpan.FromMinutes(5), null, "")]));
        var page = await server.LoginAsync();

        await page.GotoAsync(server.BaseAddress + "alerts");
        var alert = page.Locator(".alert-item", new() { HasText = "DiskFull" });
        await Expect(alert).ToHaveAttributeAsync("data-state", "active");
        await Expect(alert).ToContainTextAsync("Disk on db-1 is 97% full");
        await alert.Locator("a.silence-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/silences\\?matchers="));
        await Expect(page.Locator("#matchers")).ToHaveValueAsync("{alertname=\"DiskFull\", instance=\"db-1.example.internal:9100\", severity=\"critical\"}");
        await page.FillAsync("#comment", "Replacing the disk");
        await page.ClickAsync("#new-silence button[type=submit]");

        await Expect(page).ToHaveURLAsync(new Regex("/silences$"));
        var silence = page.Locator(".silence-section[data-state=active] .silence");
        await Expect(silence).ToHaveCountAsync(1);
        await Expect(silence).ToContainTextAsync("Replacing the disk");
        await Expect(silence).ToContainTextAsync("Mutes 1 alert");

        await page.SetViewportSizeAsync(390, 844);
        var width = await page.EvaluateAsync<int>("() => document.querySelector('main').scrollWidth");
        Assert.True(width <= 420, $"/silences main is {width}px wide on a 390px screen");

        await page.GotoAsync(server.BaseAddress + "alerts");
        await Expect(alert).ToHaveAttributeAsync("data-state", "suppressed");
        await Expect(alert).ToContainTextAsync("Silenced by");
        width = await page.EvaluateAsync<int>("() => document.querySelector('main').scrollWidth");
        Assert.True(width <= 420, $"/alerts main is {width}px wide on a 390px screen");

        await alert.Locator(".alert-muted a").ClickAsync();
        await silence.Locator("summary").ClickAsync();
        await silence.Locator("button[type=submit]").ClickAsync();
        await Expect(page.Locator(".silence-section[data-state=active] .silence")).ToHaveCountAsync(0);
        await Expect(page.Locator(".silence-section[data-state=expired] .silence")).ToHaveCountAsync(1);
        await page.GotoAsync(server.BaseAddress + "alerts");
        await Expect(alert).ToHaveAttributeAsync("data-state", "active");
    }

    [Fact]
    public async Task A_rules_pending_alert_is_listed_under_Pending_grouped_as_the_dispatcher_will_group_it()
    {
        await using var server = await BrowserServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        // api-service reports down on an instance of its own: the shipped ServiceDown (for: 1m) goes pending.
        var store = server.Services.GetRequiredService<MetricsRuntime>().Store;
        var rules = server.Services.GetRequiredService<RulesRuntime>();
        bool Pending() => rules.Manager?.Groups.SelectMany(g => g.Rules).OfType<AlertingRule>()
            .Any(r => r.Name == "ServiceDown" && r.ActiveAlerts().Any(a => a.State == AlertState.Pending && a.Labels.Get("instance") == "api-9.example.internal:8080")) == true;
        for (var i = 0; i < 120 && !Pending(); i++)
        {
            var app = store.Appender();
            app.Append(Labels.Of("__name__", "up", "instance", "api-9.example.internal:8080", "job", "api-service"), server.Time.GetUtcNow().ToUnixTimeMilliseconds(), 0);
            app.Commit();
            server.Time.Advance(TimeSpan.FromSeconds(1));
            for (var k = 0; k < 20 && !Pending(); k++) await Task.Delay(2, ct);
        }
        Assert.True(Pending(), "ServiceDown did not go pending");
        var page = await server.LoginAsync();

        await page.GotoAsync(server.BaseAddress + "alerts");
        var pending = page.Locator(".alert-pending");
        await Expect(pending.Locator("h2")).ToContainTextAsync("Pending");
        // The shipped route sends severity=critical to "critical", grouped by alertname and job.
        var group = pending.Locator(".alert-group[data-state=pending][data-receiver=critical]", new() { HasText = "api-9.example.internal:8080" });
        await Expect(group.Locator("h3")).ToContainTextAsync("alertname=\"ServiceDown\"");
        await Expect(group.Locator("h3")).ToContainTextAsync("job=\"api-service\"");
        var item = group.Locator(".alert-item", new() { HasText = "api-9.example.internal:8080" });
        await Expect(item).ToContainTextAsync("ServiceDown");
        await Expect(item).ToContainTextAsync("fires after 1m");
        await Expect(item).ToContainTextAsync("Service api-service is down");
        // Not firing yet: not among the alerts the dispatcher holds.
        await Expect(page.Locator("section.alert-group:not([data-state=pending]) .alert-item", new() { HasText = "api-9.example.internal:8080" })).ToHaveCountAsync(0);

        // The filter applies to pending alerts too. It names the probe's own instance with another job, so no other
        // alert can match it (a shipped web-interface target may itself go pending while the clock moves).
        await page.GotoAsync(server.BaseAddress + "alerts?f=1&filter=" + Uri.EscapeDataString("{job=\"web-interface\",instance=\"api-9.example.internal:8080\"}"));
        await Expect(page.Locator(".alert-pending .alert-item")).ToHaveCountAsync(0);
        await Expect(page.Locator(".alert-pending")).ToContainTextAsync("No alert is pending that matches the filter");

        await page.SetViewportSizeAsync(390, 844);
        await page.GotoAsync(server.BaseAddress + "alerts");
        var width = await page.EvaluateAsync<int>("() => document.querySelector('main').scrollWidth");
        Assert.True(width <= 420, $"/alerts main is {width}px wide on a 390px screen");
    }
}
