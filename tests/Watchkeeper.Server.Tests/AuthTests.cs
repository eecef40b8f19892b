using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

public sealed partial class AuthTests
{
    /// <summary>The endpoints that answer without a login. Adding one is a decision this list records.</summary>
    private static readonly HashSet<string> Anonymous =
    [
        "GET /-/healthy", "GET /-/ready", "GET /metrics", "GET /openapi/{documentName}.json",
        "POST /api/v1/auth/login", "GET /login", "POST /login",
        // Scrape targets Watchkeeper serves itself (host metrics, demo services; like node_exporter, no login).
        // (The browser assets in wwwroot are served without a login by the static files middleware, not by endpoints.)
        "GET /-/node/metrics", "GET /-/demo/{service}/metrics",
        // On-call: the acknowledgement link in a notification (signed, single use; GET only shows a form) and the
        // calendar feed (a per-person secret token in the URL, since calendar apps send no headers).
        "GET /ack/{token}", "POST /ack/{token}", "GET /oncall/calendar/{person}.ics",
        // Alertmanager's health routes under its prefix (what load balancers and amtool-style checks probe).
        "GET /alertmanager/-/healthy", "GET /alertmanager/-/ready",
        // The public status page, its documents, and subscriptions (signed tokens for confirm and unsubscribe).
        "GET /status", "GET /status/feed.atom", "GET /status/api/v2/summary.json", "GET /status/api/v2/status.json", "GET /status/api/v2/components.json",
        "GET /status/api/v2/incidents.json", "GET /status/api/v2/notice.json", "GET /status/badge/{component}.svg", "GET /status/embed.js",
        "POST /status/subscribe", "GET /status/subscribe/confirm", "POST /status/subscribe/confirm", "GET /status/unsubscribe", "POST /status/unsubscribe",
    ];

    /// <summary>Writes a viewer may make: their own tokens, and logging out.</summary>
    private static readonly HashSet<string> ViewerWrites =
    [
        "POST /api/v1/tokens/", "DELETE /api/v1/tokens/{id:long}", "POST /logout", "POST /tokens", "POST /tokens/{id:long}/revoke",
        // Their own calendar feed link.
        "POST /api/v1/oncall/calendar-token", "POST /oncall/calendar-token",
        // Prometheus's form-POST reads (what promtool and Grafana send); they change nothing.
        "POST /prometheus/api/v1/query", "POST /prometheus/api/v1/query_range", "POST /prometheus/api/v1/series", "POST /prometheus/api/v1/labels",
    ];

    /// <summary>Server-rendered UI routes answer with HTML pages; everything else with problem details.</summary>
    private static bool IsUi(MappedEndpoint e) =>
        !e.Route.StartsWith("/api/", StringComparison.Ordinal) && !e.Route.StartsWith("/-/", StringComparison.Ordinal)
        && !e.Route.StartsWith("/prometheus/", StringComparison.Ordinal) && !e.Route.StartsWith("/alertmanager/", StringComparison.Ordinal);

    private static readonly string[] AdminPrefixes = ["/api/v1/users", "/api/v1/audit", "/-/reload"];

    private static HttpClient NoRedirectClient(TestServer s, string? token = null, CookieContainer? cookies = null)
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() };
        var c = new HttpClient(handler) { BaseAddress = s.BaseAddress };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    private static bool RedirectsToLogin(HttpResponseMessage r) =>
        r.Headers.Location is { } l && (l.IsAbsoluteUri ? l.AbsolutePath : l.OriginalString.Split('?')[0]) == "/login";

    private static async Task<HttpResponseMessage> Call(HttpClient c, MappedEndpoint e, string? url = null)
    {
        using var req = new HttpRequestMessage(new HttpMethod(e.Method), url ?? e.Url);
        if (e.IsWrite)
            req.Content = e.AcceptsForm || IsUi(e)
                ? new FormUrlEncodedContent(new Dictionary<string, string> { ["probe"] = "1" })
                : new StringContent("{}", Encoding.UTF8, "application/json");
        return await c.SendAsync(req);
    }

    [Fact]
    public async Task Every_endpoint_needs_a_login_except_the_public_ones()
    {
        await using var s = await TestServer.StartAsync();
        var endpoints = Endpoints.All(s.Services);
        Assert.True(endpoints.Count > 30, $"only {endpoints.Count} endpoints found");
        Assert.Equal(Anonymous.Order(StringComparer.Ordinal), endpoints.Where(e => e.AllowAnonymous).Select(e => e.ToString()).Order(StringComparer.Ordinal));

        using var anon = NoRedirectClient(s);
        var failures = new List<string>();
        foreach (var e in endpoints.Where(e => !e.AllowAnonymous))
        {
            using var r = await Call(anon, e);
            var isApi = e.Route.StartsWith("/api/", StringComparison.Ordinal) || e.Route.StartsWith("/-/", StringComparison.Ordinal);
            if (r.StatusCode == HttpStatusCode.Unauthorized)
            {
                if (r.Content.Headers.ContentType?.MediaType != "application/problem+json") failures.Add($"{e}: 401 without problem+json");
            }
            else if (!isApi && r.StatusCode == HttpStatusCode.Redirect && RedirectsToLogin(r))
            {
            }
            else
            {
                failures.Add($"{e}: anonymous got {(int)r.StatusCode}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // The public ones really are public.
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/-/healthy")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/-/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("/login")).StatusCode);
        // An invalid token is not anonymous access either.
        using var bogus = NoRedirectClient(s, "wk_not-a-real-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await bogus.GetAsync("/api/v1/incidents")).StatusCode);
    }

    [Fact]
    public async Task Viewer_gets_403_on_every_write_and_responder_gets_403_on_every_admin_endpoint()
    {
        await using var s = await TestServer.StartAsync();
        var endpoints = Endpoints.All(s.Services).Where(e => !e.AllowAnonymous).ToList();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await admin.Post("/api/v1/incidents", new { title = "x", severity = "SEV3" }, HttpStatusCode.Created);
        using var viewer = NoRedirectClient(s, (await s.NewUserAsync("viewer")).Token);
        using var responder = NoRedirectClient(s, (await s.NewUserAsync("responder")).Token);

        var failures = new List<string>();
        var adminOnly = endpoints.Where(e => e.RequiredRank == 3 || AdminPrefixes.Any(p => e.Route.StartsWith(p, StringComparison.Ordinal))).ToList();
        foreach (var e in adminOnly)
            if (e.RequiredRank != 3) failures.Add($"{e}: under an admin prefix but does not require admin");
        Assert.Contains(adminOnly, e => e.Route == "/-/reload");

        foreach (var e in endpoints.Where(e => e.IsWrite && !ViewerWrites.Contains(e.ToString())))
        {
            using var r = await Call(viewer, e);
            if (r.StatusCode != HttpStatusCode.Forbidden) failures.Add($"{e}: viewer got {(int)r.StatusCode}");
            else if (!IsUi(e) && r.Content.Headers.ContentType?.MediaType != "application/problem+json") failures.Add($"{e}: 403 without problem+json");
        }
        foreach (var e in adminOnly)
        {
            using var r = await Call(responder, e);
            if (r.StatusCode != HttpStatusCode.Forbidden) failures.Add($"{e}: responder got {(int)r.StatusCode}");
        }
        // And the roles do get what they are meant to: a viewer reads everything that is not admin-only.
        foreach (var e in endpoints.Where(e => e.Method == "GET" && !adminOnly.Contains(e) && e.Route.StartsWith("/api/", StringComparison.Ordinal)))
        {
            using var r = await Call(viewer, e);
            if (r.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) failures.Add($"{e}: viewer refused with {(int)r.StatusCode}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // The responder can write incidents; the viewer's writes changed nothing.
        await s.Client((await s.NewUserAsync("responder")).Token).Post("/api/v1/incidents", new { title = "y", severity = "SEV4" }, HttpStatusCode.Created);
        Assert.Equal(2, (await admin.Get("/api/v1/incidents")).Long("total"));
    }

    [Fact]
    public async Task Api_tokens_are_stored_hashed_and_never_as_text()
    {
        await using var s = await TestServer.StartAsync();
        var (viewerName, viewerToken) = await s.NewUserAsync("viewer");
        using var v = s.Client(viewerToken);
        var created = await v.Post("/api/v1/tokens", new { name = "ci" }, HttpStatusCode.Created);
        var token = created.Str("token");
        Assert.StartsWith("wk_", token);
        using var login = s.Client();
        var loginToken = (await login.Post("/api/v1/auth/login", new { username = "admin", password = TestServer.AdminPassword })).Str("token");

        var rows = (await s.Get<Db>().ReadAsync(async c => (await c.QueryAsync("SELECT * FROM api_tokens")).Cast<IDictionary<string, object?>>().ToList()));
        Assert.Equal(3, rows.Count);
        foreach (var secret in new[] { token, loginToken, viewerToken })
        {
            Assert.DoesNotContain(rows, r => r.Values.Any(x => x is string str && str.Contains(secret[3..], StringComparison.Ordinal)));
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
            Assert.Single(rows, r => (string)r["token_hash"]! == hash);
        }
        // Nor anywhere in the database files (including the write-ahead log).
        SqliteConnectionPools.Clear();
        foreach (var f in Directory.GetFiles(s.DataDir, "watchkeeper.db*"))
        {
            var bytes = await ReadSharedAsync(f);
            foreach (var secret in new[] { token, loginToken, viewerToken })
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret[3..])) < 0, $"{Path.GetFileName(f)} holds a token's text");
        }
        // Listing shows only the prefix.
        var listed = await v.Get("/api/v1/tokens");
        Assert.All(listed.Items(), t => Assert.False(t.TryGetProperty("token", out _)));
        Assert.Contains(listed.Items(), t => t.Str("prefix") == token[..7] && t.Str("username") == viewerName);
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var ms = new MemoryStream();
        await fs.CopyToAsync(ms);
        return ms.ToArray();
    }

    [Fact]
    public async Task Revoked_tokens_and_disabled_users_stop_working()
    {
        await using var s = await TestServer.StartAsync();
        var (_, t1) = await s.NewUserAsync("responder", "rita");
        var (_, t2) = await s.NewUserAsync("viewer", "victor");
        using var rita = s.Client(t1);
        using var victor = s.Client(t2);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        Assert.Equal("rita", (await rita.Get("/api/v1/auth/whoami")).Str("username"));
        var second = await rita.Post("/api/v1/tokens", new { name = "laptop" }, HttpStatusCode.Created);
        using var ritaLaptop = s.Client(second.Str("token"));
        Assert.Equal("responder", (await ritaLaptop.Get("/api/v1/auth/whoami")).Str("role"));

        // Someone else's token cannot be revoked by a non-admin.
        await victor.Send(HttpMethod.Delete, $"/api/v1/tokens/{second.Long("id")}", expect: HttpStatusCode.Forbidden);
        await ritaLaptop.Get("/api/v1/auth/whoami");

        await rita.Send(HttpMethod.Delete, $"/api/v1/tokens/{second.Long("id")}", expect: HttpStatusCode.NoContent);
        await ritaLaptop.Get("/api/v1/auth/whoami", HttpStatusCode.Unauthorized);
        await rita.Get("/api/v1/auth/whoami");
        var listed = (await rita.Get("/api/v1/tokens")).Items().Single(t => t.Long("id") == second.Long("id"));
        Assert.False(listed.IsNull("revoked_at"));

        // An admin can revoke anyone's token; unknown ids are 404.
        var victorTokens = (await victor.Get("/api/v1/tokens")).Items();
        await admin.Send(HttpMethod.Delete, $"/api/v1/tokens/{victorTokens[0].Long("id")}", expect: HttpStatusCode.NoContent);
        await victor.Get("/api/v1/auth/whoami", HttpStatusCode.Unauthorized);
        await admin.Send(HttpMethod.Delete, "/api/v1/tokens/424242", expect: HttpStatusCode.NotFound);

        // Disabling a user stops all of their tokens; enabling them again restores them.
        await admin.Patch("/api/v1/users/rita", new { disabled = true });
        await rita.Get("/api/v1/auth/whoami", HttpStatusCode.Unauthorized);
        await admin.Patch("/api/v1/users/rita", new { disabled = false });
        await rita.Get("/api/v1/auth/whoami");

        // Role changes apply to existing tokens.
        await admin.Patch("/api/v1/users/rita", new { role = "viewer" });
        await rita.Post("/api/v1/incidents", new { title = "x", severity = "SEV3" }, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Login_is_rate_limited_after_the_configured_attempts()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("login_attempts_per_minute: 10", "login_attempts_per_minute: 3", StringComparison.Ordinal));
        using var c = NoRedirectClient(s);
        for (var i = 0; i < 3; i++)
        {
            using var r = await c.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = "wrong" });
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        }
        using var limited = await c.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = TestServer.AdminPassword });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(limited.Headers.RetryAfter);
        // The form login shares the limit (its antiforgery token is checked first); other endpoints do not.
        var cookies = new CookieContainer();
        using var browser = NoRedirectClient(s, cookies: cookies);
        var (field, token) = await FormTokenAsync(browser);
        using var form = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "admin", ["password"] = "x", [field] = token }));
        Assert.Equal(HttpStatusCode.TooManyRequests, form.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/-/healthy")).StatusCode);
        using var api = s.Client(await s.AdminApiTokenAsync());
        await api.Get("/api/v1/auth/whoami");
    }

    [Fact]
    public async Task First_start_creates_the_admin_with_the_given_password_and_a_restart_keeps_it()
    {
        var root = Directory.CreateTempSubdirectory("wk-test-").FullName;
        var data = Path.Combine(root, "data");
        try
        {
            await using (var s = await TestServer.StartAsync(dataDir: data, adminPassword: "first-password-123"))
            {
                using var c = s.Client();
                await c.Post("/api/v1/auth/login", new { username = "admin", password = "wrong" }, HttpStatusCode.Unauthorized);
                var login = await c.Post("/api/v1/auth/login", new { username = "admin", password = "first-password-123" });
                Assert.Equal("admin", login.Str("role"));
                using var admin = s.Client(login.Str("token"));
                var users = (await admin.Get("/api/v1/users")).Items();
                var only = Assert.Single(users);
                Assert.Equal("admin", only.Str("username"));
                Assert.Equal("admin", only.Str("role"));
                var audit = await s.Get<AuditLog>().ListAsync(0, 10);
                // Record 1 is the audit log's genesis record; the admin's creation follows it.
                Assert.Equal(AuditLog.GenesisAction, audit[0].Action);
                Assert.Equal(("system", "user.create", "admin"), (audit[1].Actor, audit[1].Action, audit[1].EntityId));
                Assert.DoesNotContain("first-password-123", audit[1].AfterJson ?? "", StringComparison.Ordinal);
            }
            await using (var s = await TestServer.StartAsync(dataDir: data, adminPassword: "second-password-456"))
            {
                using var c = s.Client();
                await c.Post("/api/v1/auth/login", new { username = "admin", password = "second-password-456" }, HttpStatusCode.Unauthorized);
                using var admin = s.Client((await c.Post("/api/v1/auth/login", new { username = "admin", password = "first-password-123" })).Str("token"));
                Assert.Single((await admin.Get("/api/v1/users")).Items());
            }
        }
        finally
        {
            SqliteConnectionPools.Clear();
            Directory.Delete(root, true);
        }
    }

    [GeneratedRegex("name=\"([^\"]+)\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenField();

    private static async Task<(string Field, string Token)> FormTokenAsync(HttpClient c, string page = "/login")
    {
        var html = await c.GetStringAsync(page);
        var m = HiddenField().Match(html);
        Assert.True(m.Success, "login page has no antiforgery field");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    [Fact]
    public async Task Cookie_authenticated_writes_without_the_antiforgery_header_are_refused()
    {
        await using var s = await TestServer.StartAsync();
        var cookies = new CookieContainer();
        using var c = NoRedirectClient(s, cookies: cookies);
        var (field, token) = await FormTokenAsync(c);

        // The login form itself needs its antiforgery token.
        using var noToken = await c.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "admin", ["password"] = TestServer.AdminPassword }));
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        using var login = await c.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "admin", ["password"] = TestServer.AdminPassword, [field] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Contains(cookies.GetCookies(s.BaseAddress), ck => ck.Name == "wk.session");
        Assert.Equal("admin", (await c.Get("/api/v1/auth/whoami")).Str("username"));

        // Every write outside the login form itself is refused without the header (a cross-site request cannot set it).
        var failures = new List<string>();
        foreach (var e in Endpoints.All(s.Services).Where(e => e.IsWrite && e.Route is not "/login" and not "/logout" and not "/api/v1/auth/login"))
        {
            using var r = await Call(c, e);
            // API endpoints answer with problem details; UI form endpoints with a readable HTML page.
            var expectedType = IsUi(e) ? "text/html" : "application/problem+json";
            if (r.StatusCode != HttpStatusCode.BadRequest) failures.Add($"{e}: cookie write without antiforgery got {(int)r.StatusCode}");
            else if (r.Content.Headers.ContentType?.MediaType != expectedType) failures.Add($"{e}: 400 with {r.Content.Headers.ContentType?.MediaType} instead of {expectedType}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(0, (await c.Get("/api/v1/incidents")).Long("total"));

        // With the header (a token issued to the logged-in user, here from a UI form) the same write succeeds.
        var (_, userToken) = await FormTokenAsync(c, "/incidents/new");
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents") { Content = JsonContent.Create(new { title = "from the UI", severity = "SEV3" }) };
        req.Headers.Add("X-CSRF-Token", userToken);
        using var ok = await c.SendAsync(req);
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        using var bad = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents") { Content = JsonContent.Create(new { title = "forged", severity = "SEV3" }) };
        bad.Headers.Add("X-CSRF-Token", "forged");
        Assert.Equal(HttpStatusCode.BadRequest, (await c.SendAsync(bad)).StatusCode);
        Assert.Equal(1, (await c.Get("/api/v1/incidents")).Long("total"));

        // Bearer-token clients need no antiforgery header.
        using var api = s.Client(await s.AdminApiTokenAsync());
        await api.Post("/api/v1/incidents", new { title = "from wk", severity = "SEV3" }, HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("/incidents/1", "/incidents/1")]
    [InlineData("//evil.example/x", "/")]
    [InlineData("/\\evil.example/x", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("/\t/evil.example", "/")]
    public async Task Login_form_only_redirects_within_the_site(string returnUrl, string expected)
    {
        await using var s = await TestServer.StartAsync();
        var cookies = new CookieContainer();
        using var c = NoRedirectClient(s, cookies: cookies);
        var (field, token) = await FormTokenAsync(c);
        using var login = await c.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "admin", ["password"] = TestServer.AdminPassword, [field] = token, ["returnUrl"] = returnUrl,
        }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal(expected, login.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Cookie_session_expires_after_the_configured_lifetime_on_the_server_clock()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("session_lifetime: 12h", "session_lifetime: 1h", StringComparison.Ordinal));
        var cookies = new CookieContainer();
        using var c = NoRedirectClient(s, cookies: cookies);
        var (field, token) = await FormTokenAsync(c);
        using var login = await c.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "admin", ["password"] = TestServer.AdminPassword, [field] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        await c.Get("/api/v1/auth/whoami");
        s.Time.Advance(TimeSpan.FromMinutes(50));
        await c.Get("/api/v1/auth/whoami");
        s.Time.Advance(TimeSpan.FromHours(2));
        await c.Get("/api/v1/auth/whoami", HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task User_management_validates_and_disabled_users_cannot_log_in()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var u = await admin.Post("/api/v1/users", new { username = "dora", password = "dora-password", role = "responder" }, HttpStatusCode.Created);
        Assert.Equal("responder", u.Str("role"));
        await admin.Post("/api/v1/users", new { username = "dora", password = "other-password", role = "viewer" }, HttpStatusCode.Conflict);
        await admin.Post("/api/v1/users", new { username = "bad name!", password = "password-1", role = "viewer" }, HttpStatusCode.BadRequest);
        await admin.Post("/api/v1/users", new { username = "eve", password = "short", role = "viewer" }, HttpStatusCode.BadRequest);
        await admin.Post("/api/v1/users", new { username = "eve", password = "long-enough", role = "overlord" }, HttpStatusCode.BadRequest);
        await admin.Patch("/api/v1/users/nobody", new { role = "viewer" }, HttpStatusCode.NotFound);
        await admin.Patch("/api/v1/users/dora", new { role = "overlord" }, HttpStatusCode.BadRequest);

        using var anon = s.Client();
        Assert.Equal("responder", (await anon.Post("/api/v1/auth/login", new { username = "dora", password = "dora-password" })).Str("role"));
        await admin.Patch("/api/v1/users/dora", new { disabled = true });
        await anon.Post("/api/v1/auth/login", new { username = "dora", password = "dora-password" }, HttpStatusCode.Unauthorized);
        await anon.Post("/api/v1/auth/login", new { username = "", password = "x" }, HttpStatusCode.BadRequest);
        await admin.Patch("/api/v1/users/dora", new { disabled = false, password = "new-dora-password" });
        await anon.Post("/api/v1/auth/login", new { username = "dora", password = "dora-password" }, HttpStatusCode.Unauthorized);
        await anon.Post("/api/v1/auth/login", new { username = "dora", password = "new-dora-password" });
        Assert.Equal(["admin", "dora"], (await admin.Get("/api/v1/users")).Items().Select(x => x.Str("username")));
    }

    [Fact]
    public async Task Anonymous_html_pages_redirect_to_login()
    {
        await using var s = await TestServer.StartAsync();
        using var c = NoRedirectClient(s);
        using var r = await c.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.True(RedirectsToLogin(r), r.Headers.Location?.ToString());
        var json = JsonDocument.Parse(await (await c.GetAsync("/api/v1/incidents")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(401, json.GetProperty("status").GetInt32());
    }
}

internal static class SqliteConnectionPools
{
    public static void Clear() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}
