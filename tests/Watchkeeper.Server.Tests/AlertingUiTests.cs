using System.Net;
using System.Text.RegularExpressions;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Silences;

namespace Watchkeeper.Server.Tests;

/// <summary>The /alerts and /silences pages: who may read and write them, the silence round trip, form errors, encoding.</summary>
public sealed partial class AlertingUiTests
{
    private const string Probe = "<script>alert(\"wk\")</script>";
    private const string EncodedProbe = "&lt;script&gt;alert(&quot;wk&quot;)&lt;/script&gt;";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [GeneratedRegex("name=\"([^\"]+)\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenField();

    [GeneratedRegex("class=\"silence-link\" href=\"([^\"]+)\"")]
    private static partial Regex SilenceLink();

    private static async Task<HttpClient> LoggedInAsync(TestServer s, string role)
    {
        var (user, _) = await s.NewUserAsync(role);
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = s.BaseAddress };
        c.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        var m = HiddenField().Match(await c.GetStringAsync("/login", Ct));
        using var login = await c.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = user, ["password"] = "password-" + user, [m.Groups[1].Value] = m.Groups[2].Value,
        }), Ct);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return c;
    }

    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient c, string url, Dictionary<string, string> fields)
    {
        var m = HiddenField().Match(await c.GetStringAsync("/silences", Ct));
        fields[m.Groups[1].Value] = m.Groups[2].Value;
        return await c.PostAsync(url, new FormUrlEncodedContent(fields), Ct);
    }

    private static void Fire(TestServer s, string alertname, string team)
    {
        var errors = s.Get<AlertingEngine>().Receive([new PostableAlert(
            new Dictionary<string, string> { ["alertname"] = alertname, ["severity"] = "critical", ["team"] = team },
            new Dictionary<string, string> { ["summary"] = "Summary " + Probe, ["description"] = "Disk is full" },
            s.Time.GetUtcNow() - TimeSpan.FromMinutes(3), null, "")]);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Viewer_reads_both_pages_but_may_not_create_or_expire()
    {
        await using var s = await TestServer.StartAsync();
        Fire(s, "DiskFull", Probe);
        var engine = s.Get<AlertingEngine>();
        var now = s.Time.GetUtcNow();
        var id = await engine.Silences.SetAsync(new Silence("", new(Watchkeeper.Alerting.Routing.MatcherParser.ParseList("{alertname=\"Other\"}")),
            now, now + TimeSpan.FromHours(1), now, "ops", "Comment " + Probe), Ct);
        using var c = await LoggedInAsync(s, "viewer");

        var alerts = await c.GetStringAsync("/alerts", Ct);
        Assert.Contains("DiskFull", alerts, StringComparison.Ordinal);
        Assert.Contains("data-state=\"active\"", alerts, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"silence-link\"", alerts, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", alerts, StringComparison.Ordinal);
        Assert.Contains(EncodedProbe, alerts, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/silences\"", alerts, StringComparison.Ordinal);

        var silences = await c.GetStringAsync("/silences", Ct);
        Assert.Contains($"id=\"silence-{id}\"", silences, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/silences\"", silences, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", silences, StringComparison.Ordinal);
        Assert.Contains("Comment " + EncodedProbe, silences, StringComparison.Ordinal);

        using var create = await PostFormAsync(c, "/silences", new() { ["matchers"] = "{alertname=\"DiskFull\"}", ["until"] = "2h", ["comment"] = "x" });
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        using var expire = await PostFormAsync(c, $"/silences/{id}/expire", []);
        Assert.Equal(HttpStatusCode.Forbidden, expire.StatusCode);
        Assert.Single(engine.Silences.All());
        Assert.Equal(SilenceState.Active, engine.Silences.Get(id)!.State(s.Time.GetUtcNow()));

        // The filter narrows the list; a malformed filter is a 400 with the parser's message by the field.
        Assert.DoesNotContain("DiskFull", await c.GetStringAsync("/alerts?filter=" + Uri.EscapeDataString("{severity=\"warning\"}"), Ct), StringComparison.Ordinal);
        Assert.Contains("DiskFull", await c.GetStringAsync("/alerts?filter=" + Uri.EscapeDataString("{severity=\"critical\"}"), Ct), StringComparison.Ordinal);
        using var bad = await c.GetAsync("/alerts?filter=" + Uri.EscapeDataString("{severity=\"critical\""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("id=\"filter-error\"", await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Responder_silences_an_alert_from_its_link_then_expires_the_silence()
    {
        await using var s = await TestServer.StartAsync();
        Fire(s, "DiskFull", "storage");
        var engine = s.Get<AlertingEngine>();
        using var c = await LoggedInAsync(s, "responder");

        var link = SilenceLink().Match(await c.GetStringAsync("/alerts", Ct));
        Assert.True(link.Success, "no Silence link for a responder");
        var form = await c.GetStringAsync(WebUtility.HtmlDecode(link.Groups[1].Value), Ct);
        var prefill = Regex.Match(form, "id=\"matchers\" name=\"matchers\" value=\"([^\"]*)\"");
        Assert.True(prefill.Success);
        var matchers = WebUtility.HtmlDecode(prefill.Groups[1].Value);
        Assert.Equal("{alertname=\"DiskFull\", severity=\"critical\", team=\"storage\"}", matchers);

        // Errors are shown next to their field, with the other values kept.
        using (var noComment = await PostFormAsync(c, "/silences", new() { ["matchers"] = matchers, ["until"] = "2h", ["comment"] = " " }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noComment.StatusCode);
            var html = await noComment.Content.ReadAsStringAsync(Ct);
            Assert.Contains("id=\"comment-error\"", html, StringComparison.Ordinal);
            Assert.Equal(matchers, WebUtility.HtmlDecode(Regex.Match(html, "id=\"matchers\" name=\"matchers\" value=\"([^\"]*)\"").Groups[1].Value));
        }
        using (var badUntil = await PostFormAsync(c, "/silences", new() { ["matchers"] = matchers, ["until"] = "soon", ["comment"] = "c" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badUntil.StatusCode);
            Assert.Contains("id=\"until-error\"", await badUntil.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        using (var badMatchers = await PostFormAsync(c, "/silences", new() { ["matchers"] = "{alertname=", ["until"] = "2h", ["comment"] = "c" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badMatchers.StatusCode);
            Assert.Contains("id=\"matchers-error\"", await badMatchers.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        Assert.Empty(engine.Silences.All());

        using (var created = await PostFormAsync(c, "/silences", new() { ["matchers"] = matchers, ["until"] = "2h", ["comment"] = "Disk swap in progress" }))
            Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        var silence = Assert.Single(engine.Silences.All());
        Assert.Equal(s.Time.GetUtcNow() + TimeSpan.FromHours(2), silence.EndsAt);
        Assert.StartsWith("responder-", silence.CreatedBy, StringComparison.Ordinal);
        var page = await c.GetStringAsync("/silences", Ct);
        Assert.Contains($"id=\"silence-{silence.Id}\" data-state=\"active\"", page, StringComparison.Ordinal);
        Assert.Contains("Mutes 1 alert:", page, StringComparison.Ordinal);
        var alerts = await c.GetStringAsync("/alerts", Ct);
        Assert.Contains("data-state=\"suppressed\"", alerts, StringComparison.Ordinal);
        Assert.Contains($"href=\"/silences#silence-{silence.Id}\"", alerts, StringComparison.Ordinal);
        Assert.DoesNotContain("DiskFull", await c.GetStringAsync("/alerts?f=1&inhibited=1", Ct), StringComparison.Ordinal);

        using (var expired = await PostFormAsync(c, $"/silences/{silence.Id}/expire", []))
            Assert.Equal(HttpStatusCode.Redirect, expired.StatusCode);
        Assert.Equal(SilenceState.Expired, engine.Silences.Get(silence.Id)!.State(s.Time.GetUtcNow()));
        Assert.Contains("data-state=\"active\"", await c.GetStringAsync("/alerts", Ct), StringComparison.Ordinal);
        using (var again = await PostFormAsync(c, $"/silences/{silence.Id}/expire", []))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using (var missing = await PostFormAsync(c, "/silences/nope/expire", []))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
