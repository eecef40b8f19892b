using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Alerting.Alerts;
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
}
