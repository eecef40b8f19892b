using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>The web layer: pages for each role, encoding of user input, error pages for browsers, static assets, favicon.</summary>
public sealed partial class WebUiTests
{
    private const string Probe = "<script>alert(\"wk\")</script>";
    private const string EncodedProbe = "&lt;script&gt;alert(&quot;wk&quot;)&lt;/script&gt;";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A client that asks for HTML like a browser does.</summary>
    private static HttpClient Browser(TestServer s, string? token = null)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };
        c.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    [GeneratedRegex("name=\"([^\"]+)\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenField();

    /// <summary>A browser with a session cookie, logged in through the login form.</summary>
    private static async Task<HttpClient> LoggedInBrowserAsync(TestServer s, string username, string password)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = s.BaseAddress };
        c.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        var m = HiddenField().Match(await c.GetStringAsync("/login", Ct));
        using var login = await c.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = username, ["password"] = password, [m.Groups[1].Value] = m.Groups[2].Value,
        }), Ct);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return c;
    }

    /// <summary>An incident whose every free-text field (title, summary, note, status update, postmortem, action item) is markup.</summary>
    private static async Task<long> IncidentWithProbesAsync(TestServer s)
    {
        using var api = s.Client(await s.AdminApiTokenAsync());
        var id = (await api.Post("/api/v1/incidents", new { title = "Title " + Probe, severity = "SEV2", summary = "Summary " + Probe, services_affected = new[] { "api-service" } }, HttpStatusCode.Created)).Long("id");
        await api.Post($"/api/v1/incidents/{id}/notes", new { text = "Note " + Probe });
        await api.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "Update " + Probe, visibility = "public" });
        await api.Put($"/api/v1/incidents/{id}/postmortem", new { summary = "Pm " + Probe, impact = "i", root_cause = "**bold** " + Probe, lessons_learned = "l" });
        await api.Post($"/api/v1/incidents/{id}/action-items", new { title = "Action " + Probe, owner = "ops" });
        await api.Post("/api/v1/tokens/", new { name = "Token " + Probe });
        await api.Post("/api/v1/dashboards/import", new { title = "Dash " + Probe, uid = "probe", tags = new[] { "tag" + Probe },
            panels = new object[] { new { type = "text", title = "Panel " + Probe, options = new { content = "Text " + Probe } } } }, HttpStatusCode.Created);
        // A firing alert whose label value is markup, and a silence whose comment is.
        var engine = s.Get<Watchkeeper.Alerting.Alerts.AlertingEngine>();
        Assert.Empty(engine.Receive([new(new Dictionary<string, string> { ["alertname"] = "Probe", ["team"] = Probe }, new Dictionary<string, string>(), null, null, "")]));
        var now = s.Time.GetUtcNow();
        await engine.Silences.SetAsync(new(
            "", new(Watchkeeper.Alerting.Routing.MatcherParser.ParseList("{alertname=\"Other\"}")), now, now + TimeSpan.FromHours(1), now, "ops", "Silence " + Probe), Ct);
        return id;
    }

    private static void AssertEncoded(string html, string page)
    {
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.True(html.Contains(EncodedProbe, StringComparison.Ordinal), $"{page}: the probe is not shown as text");
    }

    [Fact]
    public async Task Every_page_renders_for_its_role_and_shows_user_input_as_text()
    {
        await using var s = await TestServer.StartAsync();
        var id = await IncidentWithProbesAsync(s);
        var pages = new (string Path, int MinRank, bool HasProbe)[]
        {
            ("/", 1, true), ("/incidents", 1, true), ($"/incidents/{id}", 1, true), ("/incidents/new", 2, false), ("/reports?period=7d", 1, false), ("/alerts", 1, true), ("/silences", 1, true),
            ("/targets", 1, false), ("/probes", 1, false), ("/rules", 1, false), ("/query?expr=" + Uri.EscapeDataString("up{job=\"" + Probe + "\"}"), 1, true), ("/tokens", 1, false), ("/users", 3, false),
            ("/runtime", 1, false), ("/tsdb-status", 1, false), ("/service-discovery", 1, false), ("/config", 3, false),
            ("/dashboards", 1, true), ("/dashboards/probe", 1, true), ("/dashboards/openpolicy-overview", 1, false),
            ("/maintenance", 1, false), ("/maintenance/runs", 1, false),
        };
        foreach (var (role, rank) in new[] { ("viewer", 1), ("responder", 2), ("admin", 3) })
        {
            using var c = Browser(s, (await s.NewUserAsync(role)).Token);
            foreach (var (path, minRank, hasProbe) in pages)
            {
                using var r = await c.GetAsync(path, Ct);
                var html = await r.Content.ReadAsStringAsync(Ct);
                if (rank < minRank)
                {
                    Assert.True(r.StatusCode == HttpStatusCode.Forbidden, $"{role} {path}: {(int)r.StatusCode}");
                    continue;
                }
                Assert.True(r.StatusCode == HttpStatusCode.OK, $"{role} {path}: {(int)r.StatusCode}\n{html}");
                Assert.Equal("text/html", r.Content.Headers.ContentType!.MediaType);
                Assert.StartsWith("<!doctype html>", html.TrimStart(), StringComparison.Ordinal);
                Assert.Contains("<header class=\"top\">", html, StringComparison.Ordinal);
                Assert.Contains($"<span class=\"role role-{role}\">{role}</span>", html, StringComparison.Ordinal);
                // The navigation shows what the role may open.
                Assert.Equal(rank >= 2, html.Contains("href=\"/incidents/new\"", StringComparison.Ordinal));
                Assert.Equal(rank >= 3, html.Contains("href=\"/users\"", StringComparison.Ordinal));
                Assert.Contains("<a href=\"/targets\"", html, StringComparison.Ordinal);
                if (hasProbe) AssertEncoded(html, $"{role} {path}");
                else Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
            }
        }

        using var admin = Browser(s, await s.AdminApiTokenAsync());
        var detail = await admin.GetStringAsync($"/incidents/{id}", Ct);
        // Every field: title (heading and <title>), summary, note, status update (text, rendered Markdown, plain), postmortem, action item.
        foreach (var text in new[] { "Title ", "Summary ", "Note ", "Update ", "Pm ", "Action " })
            Assert.Contains(text + EncodedProbe, detail, StringComparison.Ordinal);
        Assert.Contains($"#{id} Title {EncodedProbe} · Watchkeeper</title>", detail, StringComparison.Ordinal);
        // The tab title counts the open incidents.
        Assert.Contains($"<title>(1) #{id} Title", detail, StringComparison.Ordinal);
        // The Markdown renderer adds its own markup around encoded text.
        Assert.Contains("<strong>bold</strong> " + EncodedProbe, detail, StringComparison.Ordinal);
        Assert.Contains("Token " + EncodedProbe, await admin.GetStringAsync("/tokens", Ct), StringComparison.Ordinal);
        // The current page is marked in the navigation.
        Assert.Contains("<a href=\"/incidents\" class=\"active\" aria-current=\"page\">Incidents</a>", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incident_page_shows_overdue_checklist_items_and_breached_clocks()
    {
        await using var s = await TestServer.StartAsync();
        using var api = s.Client(await s.AdminApiTokenAsync());
        var id = (await api.Post("/api/v1/incidents", new { title = "Overdue", severity = "SEV1" }, HttpStatusCode.Created)).Long("id");
        s.Time.Advance(TimeSpan.FromHours(2));
        using var c = Browser(s, await s.AdminApiTokenAsync());

        var html = await c.GetStringAsync($"/incidents/{id}", Ct);

        Assert.Matches("""<span class="muted small" id="checklist-count">0/\d+ done · <span class="flag bad">\d+ overdue</span></span>""", html);
        Assert.Contains("<div class=\"big\">BREACHED 1h 55m ago</div>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"flag bad\">overdue</span> due ", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_browser_gets_a_404_page_in_the_layout_and_the_api_keeps_problem_details()
    {
        await using var s = await TestServer.StartAsync();
        using var c = Browser(s, await s.AdminApiTokenAsync());

        using var page = await c.GetAsync("/no-such-page/" + Uri.EscapeDataString(Probe), Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Page not found · Watchkeeper</title>", html, StringComparison.Ordinal);
        Assert.Contains("id=\"error-page\" data-status=\"404\"", html, StringComparison.Ordinal);
        Assert.Contains("<header class=\"top\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());

        using var incident = await c.GetAsync("/incidents/424242", Ct);
        Assert.Equal(HttpStatusCode.NotFound, incident.StatusCode);
        Assert.Contains("Incident 424242 not found", await incident.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        foreach (var path in new[] { "/api/v1/no-such", "/prometheus/api/v1/no-such", "/alertmanager/api/v2/no-such", "/-/no-such" })
        {
            using var api = await c.GetAsync(path, Ct);
            Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
            Assert.Equal("application/problem+json", api.Content.Headers.ContentType!.MediaType);
        }
        using var json = s.Client(await s.AdminApiTokenAsync());
        using var jr = await json.GetAsync("/no-such-page", Ct);
        Assert.Equal("application/problem+json", jr.Content.Headers.ContentType!.MediaType);

        // A visitor who is not logged in is sent to log in first, as before.
        using var anon = Browser(s);
        using var ar = await anon.GetAsync("/no-such-page", Ct);
        Assert.Equal(HttpStatusCode.Redirect, ar.StatusCode);
    }

    [Fact]
    public async Task A_browser_refused_by_role_gets_a_403_page_and_the_api_a_problem()
    {
        await using var s = await TestServer.StartAsync();
        var (viewer, token) = await s.NewUserAsync("viewer");
        using var c = await LoggedInBrowserAsync(s, viewer, "password-" + viewer);

        using var page = await c.GetAsync("/users", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Not allowed · Watchkeeper</title>", html, StringComparison.Ordinal);
        Assert.Contains("Your role (viewer) does not allow this page or action. Nothing was changed.", html, StringComparison.Ordinal);
        Assert.Contains("<header class=\"top\">", html, StringComparison.Ordinal);

        using var api = await c.GetAsync("/api/v1/users", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType!.MediaType);
        using var bearer = await Browser(s, token).GetAsync("/api/v1/users", Ct);
        Assert.Equal(HttpStatusCode.Forbidden, bearer.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_server_error_is_a_500_page_for_browsers_and_a_problem_for_the_api()
    {
        await using var s = await TestServer.StartAsync();
        var id = await IncidentWithProbesAsync(s);
        // A fault the pages cannot handle: a table they read is gone.
        await s.Get<Db>().WriteAsync((c, tx) => c.ExecuteAsync("DROP TABLE status_updates", transaction: tx));
        using var c = Browser(s, await s.AdminApiTokenAsync());

        using var page = await c.GetAsync($"/incidents/{id}", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.InternalServerError, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("Something went wrong · Watchkeeper</title>", html, StringComparison.Ordinal);
        Assert.Contains("id=\"error-page\" data-status=\"500\"", html, StringComparison.Ordinal);
        // No exception text or stack trace reaches the browser.
        Assert.DoesNotContain("status_updates", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", html, StringComparison.Ordinal);

        using var api = await c.GetAsync($"/api/v1/incidents/{id}/status-updates", Ct);
        Assert.Equal(HttpStatusCode.InternalServerError, api.StatusCode);
        Assert.Equal("application/problem+json", api.Content.Headers.ContentType!.MediaType);
    }

    [GeneratedRegex("""(?:href|src)="(/[^"?]+)\?v=([0-9a-f]{12})"[^>]*>""")]
    private static partial Regex AssetLink();

    [Fact]
    public async Task Static_assets_are_served_without_login_with_fingerprinted_urls_cached_for_a_year()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = Browser(s, await s.AdminApiTokenAsync());
        var html = await admin.GetStringAsync("/query?tab=graph&expr=up", Ct);
        var links = AssetLink().Matches(html).Select(m => (Path: m.Groups[1].Value, Version: m.Groups[2].Value)).ToList();
        Assert.Equal(["/favicon.svg", "/css/app.css", "/lib/uplot/uPlot.min.css", "/css/dashboards.css", "/css/monitoring.css", "/js/app.js", "/lib/uplot/uPlot.iife.min.js",
            "/js/units.js", "/js/charts.js", "/js/promql-complete.js", "/js/query.js"],
            links.Select(l => l.Path));
        using var anon = new HttpClient { BaseAddress = s.BaseAddress };
        foreach (var (path, version) in links)
        {
            using var r = await anon.GetAsync($"{path}?v={version}", Ct);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {(int)r.StatusCode}");
            Assert.Equal("public, max-age=31536000, immutable", r.Headers.CacheControl!.ToString());
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            var body = await r.Content.ReadAsByteArrayAsync(Ct);
            // The fingerprint is the file's content hash.
            Assert.Equal(version, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body))[..12]);
            var type = r.Content.Headers.ContentType!.MediaType;
            Assert.Equal(path.EndsWith(".css", StringComparison.Ordinal) ? "text/css" : path.EndsWith(".js", StringComparison.Ordinal) ? "text/javascript" : "image/svg+xml", type);
        }
        Assert.StartsWith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */", await anon.GetStringAsync(links.Single(l => l.Path.EndsWith("uPlot.iife.min.js", StringComparison.Ordinal)).Path, Ct), StringComparison.Ordinal);

        // Without the current fingerprint (an old or no version) the browser revalidates with the ETag.
        using var stale = await anon.GetAsync("/css/app.css?v=000000000000", Ct);
        Assert.Equal("public, no-cache", stale.Headers.CacheControl!.ToString());
        var etag = stale.Headers.ETag!;
        using var revalidate = new HttpRequestMessage(HttpMethod.Get, "/css/app.css");
        revalidate.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await anon.SendAsync(revalidate, Ct)).StatusCode);
        // A missing asset is a 404, not a login page.
        using var noRedirect = Browser(s);
        Assert.Equal(HttpStatusCode.NotFound, (await noRedirect.GetAsync("/js/nope.js", Ct)).StatusCode);
    }

    [Fact]
    public async Task The_favicon_is_an_svg_and_favicon_ico_is_a_real_icon()
    {
        await using var s = await TestServer.StartAsync();
        using var anon = new HttpClient { BaseAddress = s.BaseAddress };

        using var ico = await anon.GetAsync("/favicon.ico", Ct);
        Assert.Equal(HttpStatusCode.OK, ico.StatusCode);
        Assert.Equal("image/x-icon", ico.Content.Headers.ContentType!.MediaType);
        var bytes = await ico.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, bytes[..4]); // ICONDIR: reserved 0, type 1 (icon)

        var svg = await anon.GetStringAsync("/favicon.svg", Ct);
        Assert.StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"", svg, StringComparison.Ordinal);

        var login = await anon.GetStringAsync("/login", Ct);
        Assert.Matches("""<link rel="icon" href="/favicon\.svg\?v=[0-9a-f]{12}" type="image/svg(\+|&#x2B;)xml" />""", login);
    }

    [Fact]
    public async Task Pages_register_their_navigation_in_order()
    {
        await using var s = await TestServer.StartAsync();
        var nav = s.Get<Web.NavigationRegistry>();
        Assert.Equal(["/", "/incidents", "/incidents/new", "/postmortems", "/action-items", "/oncall", "/oncall/escalations", "/notifications", "/reports", "/alerts", "/silences", "/dashboards", "/targets", "/probes", "/query", "/rules", "/status", "/maintenance", "/tasks", "/users", "/tokens", "/audit", "/status-page/subscribers", "/runtime"], nav.Items.Select(i => i.Href));
        Assert.Equal(["/", "/incidents", "/postmortems", "/action-items", "/oncall", "/oncall/escalations", "/notifications", "/reports", "/alerts", "/silences", "/dashboards", "/targets", "/probes", "/query", "/rules", "/status", "/maintenance", "/tasks", "/tokens", "/runtime"], nav.For(1).Select(i => i.Href));
    }
}
