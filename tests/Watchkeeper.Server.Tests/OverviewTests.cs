using System.Net;
using Watchkeeper.Server.Incidents;

namespace Watchkeeper.Server.Tests;

public sealed class OverviewTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_landing_page_lists_open_incidents_most_severe_first_with_what_they_need()
    {
        await using var s = await TestServer.StartAsync();
        var incidents = s.Get<IncidentService>();
        var minor = await incidents.CreateAsync(new CreateIncidentRequest("Slow search", "operational", "SEV3", null, null, null, null, null, null, null, null, null), "admin", Ct);
        var major = await incidents.CreateAsync(new CreateIncidentRequest("Checkout down", "operational", "SEV1", null, null, null, null, null, "alice", null, null, null), "admin", Ct);
        var done = await incidents.CreateAsync(new CreateIncidentRequest("Old one", "operational", "SEV2", null, null, null, null, null, null, null, null, null), "admin", Ct);
        await incidents.TransitionAsync(done.Id, IncidentStatus.Resolved, "fixed", null, "admin", Ct);
        using var c = s.Client(await s.UserTokenAsync("viewer"));

        using var r = await c.GetAsync("/", Ct);
        var html = await r.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("Overview · Watchkeeper</title>", html);
        Assert.Equal("30", r.Headers.GetValues("Refresh").Single());
        var first = html.IndexOf($"<tr data-id=\"{major.Id}\">", StringComparison.Ordinal);
        var second = html.IndexOf($"<tr data-id=\"{minor.Id}\">", StringComparison.Ordinal);
        Assert.True(first > 0 && second > first, "SEV1 before SEV3");
        Assert.DoesNotContain($"<tr data-id=\"{done.Id}\">", html);
        Assert.Contains("Open incidents <span class=\"muted small\">2 ·", html);
        // The SEV3 has no commander and neither is acknowledged.
        var minorRow = html[second..html.IndexOf("</tr>", second, StringComparison.Ordinal)];
        Assert.Contains("<span class=\"flag warn\">acknowledge</span>", minorRow);
        Assert.Contains("<span class=\"flag warn\">commander</span>", minorRow);
        var majorRow = html[first..html.IndexOf("</tr>", first, StringComparison.Ordinal)];
        Assert.DoesNotContain("commander</span>", majorRow);

        using var still = await c.GetAsync("/?refresh=0", Ct);
        Assert.False(still.Headers.Contains("Refresh"));
        Assert.Contains("Auto-reload is off", await still.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task With_nothing_open_the_landing_page_says_so()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.UserTokenAsync("viewer"));
        var html = await c.GetStringAsync("/?refresh=5", Ct);
        Assert.Contains("No open incidents.", html);
        Assert.Contains("href=\"/\" class=\"active\" aria-current=\"page\">Overview</a>", html);
    }
}
