using Microsoft.Playwright;
using Watchkeeper.Server.Incidents;
using static Microsoft.Playwright.Assertions;

namespace Watchkeeper.Browser.Tests;

/// <summary>
/// Every main page on a phone (390x844) and a desktop (1440x900): nothing wider than the window
/// (<c>scrollWidth &lt;= clientWidth</c>), the menu button on the phone, and a screenshot of each area for the docs
/// (docs/screenshots), so the documentation shows the pages as they are.
/// </summary>
public sealed class ResponsiveUiTests
{
    private static async Task<long> SeedAsync(BrowserServer server)
    {
        var s = server.Incidents;
        var i = await s.CreateAsync(new CreateIncidentRequest("API returns 502 for most requests after the 08:50 deploy", null, "SEV1",
            "Gateway health checks fail; see https://example.com/runbooks/gateway-502-errors-after-deploys-with-a-very-long-path", null,
            ["api-service", "web-interface", "database"], null, "automated", "admin", null, null, null), "admin");
        await s.AddNoteAsync(i.Id, "Rolling back. A-very-long-token-without-spaces-0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghijklmnopqrstuvwxyz", "admin");
        await s.PostStatusUpdateAsync(i.Id, new StatusUpdateRequest("Rolling back the 08:50 gateway deploy.", "public", "30m", "identified"), null, "admin");
        await s.AddActionItemAsync(i.Id, new ActionItemRequest("Add a canary stage to gateway deploys", "admin", server.Time.GetUtcNow().AddDays(3), null), "admin");
        var done = await s.CreateAsync(new CreateIncidentRequest("Cache cold after restart", null, "SEV3", null, null, ["cache"], null, null, null, null, null, null), "admin");
        await s.ResolveAsync(done.Id, "Warmed", null, null, "admin");
        await s.SavePostmortemAsync(done.Id, new PostmortemRequest("Cache restarted cold.", null, "No warm-up", null), "admin");
        return i.Id;
    }

    private static string[] Pages(long id) =>
    [
        "/", "/incidents", "/incidents/new", $"/incidents/{id}", $"/incidents/{id}?tab=timeline", $"/incidents/{id}?tab=checklist",
        $"/incidents/{id}?tab=postmortem", $"/incidents/{id}?tab=followups", $"/incidents/{id}/resolve", "/postmortems", "/action-items",
        "/audit", "/alerts", "/silences", "/dashboards", "/rules", "/targets", "/query?expr=up", "/oncall", "/oncall/escalations", "/notifications",
        "/reports", "/users", "/tokens",
    ];

    /// <summary>The areas whose screenshot the docs show (desktop), by file name.</summary>
    private static readonly Dictionary<string, string> Shots = new(StringComparer.Ordinal)
    {
        ["/"] = "overview", ["/incidents"] = "incidents", ["/incidents/new"] = "declare", ["/alerts"] = "alerts", ["/rules"] = "rules",
        ["/targets"] = "targets", ["/oncall"] = "oncall", ["/notifications"] = "notifications", ["/reports"] = "reports", ["/users"] = "users",
    };

    [Theory]
    [InlineData(390, 844, "phone")]
    [InlineData(1440, 900, "desktop")]
    public async Task No_main_page_overflows_the_window(int width, int height, string device)
    {
        await using var server = await BrowserServer.StartAsync();
        var id = await SeedAsync(server);
        var page = await server.LoginAsync(width: width, height: height);
        var failures = new List<string>();
        foreach (var path in Pages(id))
        {
            var r = await page.GotoAsync(path);
            if (r is null || r.Status != 200) { failures.Add($"{path}: HTTP {r?.Status}"); continue; }
            var (scroll, client) = await Widths(page);
            if (scroll > client)
            {
                var culprit = await page.EvaluateAsync<string>("""
                    () => { const w = document.documentElement.clientWidth; const bad = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1);
                      const e = bad[bad.length - 1]; return e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.') + ' right=' + Math.round(e.getBoundingClientRect().right) : 'none'; }
                    """);
                failures.Add($"{path}: scrollWidth {scroll} > clientWidth {client} ({culprit})");
            }
            if (device == "desktop" && Shots.TryGetValue(path, out var name))
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, name + ".png") });
            if (device == "phone" && path is "/" or "/incidents")
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserServer.DocsScreenshots, (path == "/" ? "overview" : "incidents") + "-phone.png") });
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task On_a_phone_the_navigation_is_behind_a_menu_button_and_tables_become_cards()
    {
        await using var server = await BrowserServer.StartAsync();
        await SeedAsync(server);
        var page = await server.LoginAsync(width: 390, height: 844);
        await Expect(page.Locator("header.top nav")).ToBeHiddenAsync();
        await Expect(page.Locator(".menu-button")).ToBeVisibleAsync();
        await page.ClickAsync(".menu-button");
        await Expect(page.Locator("header.top nav")).ToBeVisibleAsync();
        await page.ClickAsync("header.top nav >> text=Action items");
        await Expect(page.Locator("#action-items thead")).ToBeHiddenAsync();
        await Expect(page.Locator("#action-items td[data-label=Owner]").First).ToBeVisibleAsync();
        var before = await page.Locator("#action-items td[data-label=Owner]").First.EvaluateAsync<string>("e => getComputedStyle(e, '::before').content");
        Assert.Equal("\"Owner\"", before);
        // The count of open incidents is in the tab title.
        await Expect(page).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex(@"^\(1\) Action items · Watchkeeper$"));

        var desktop = await server.LoginAsync(width: 1440, height: 900);
        await Expect(desktop.Locator("header.top nav")).ToBeVisibleAsync();
        await Expect(desktop.Locator(".menu-button")).ToBeHiddenAsync();
    }

    private static async Task<(int Scroll, int Client)> Widths(IPage page)
    {
        var w = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
        return (w[0], w[1]);
    }
}
