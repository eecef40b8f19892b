using System.Net;
using System.Text.Json;

namespace Watchkeeper.Server.Tests;

/// <summary>Browser sessions are checked on the server on every request: disabling, demoting, a new password and logout apply at once.</summary>
public sealed class SessionTests
{
    private static async Task<bool> RedirectsToLoginAsync(HttpClient c, string page)
    {
        using var r = await c.GetAsync(page);
        return r.StatusCode == HttpStatusCode.Redirect && r.Headers.Location!.OriginalString.Contains("/login", StringComparison.Ordinal);
    }

    private static async Task<TestServer> Start(string provider)
    {
        TestServer.SkipUnlessAvailable(provider == "postgres");
        return await TestServer.StartAsync(provider == "postgres");
    }

    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task A_disabled_users_session_cookie_is_refused_at_once(string provider)
    {
        await using var s = await Start(provider);
        var (name, _) = await s.NewUserAsync("responder");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var b = await new Browser(s).LoggedInAsync(name, "password-" + name);
        Assert.Equal(HttpStatusCode.OK, await b.WhoAmIAsync());
        Assert.False(await RedirectsToLoginAsync(b.Http, "/incidents"));
        var (_, csrf) = await b.FormTokenAsync("/tokens");

        await admin.Patch($"/api/v1/users/{name}", new { disabled = true });

        Assert.Equal(HttpStatusCode.Unauthorized, await b.WhoAmIAsync());
        Assert.True(await RedirectsToLoginAsync(b.Http, "/incidents"));
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents") { Content = System.Net.Http.Json.JsonContent.Create(new { title = "after disable", severity = "SEV3" }) };
        req.Headers.Add("X-CSRF-Token", csrf);
        using var write = await b.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
        Assert.Equal(0, (await admin.Get("/api/v1/incidents")).Long("total"));

        // Enabling the user again does not bring the old session back: it ended when the account was disabled.
        await admin.Patch($"/api/v1/users/{name}", new { disabled = false });
        Assert.Equal(HttpStatusCode.Unauthorized, await b.WhoAmIAsync());
    }

    [Fact]
    public async Task A_demoted_responders_session_can_no_longer_write()
    {
        await using var s = await TestServer.StartAsync();
        var (name, _) = await s.NewUserAsync("responder");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var b = await new Browser(s).LoggedInAsync(name, "password-" + name);
        using (var ok = await b.ApiWriteAsync(HttpMethod.Post, "/api/v1/incidents", new { title = "as responder", severity = "SEV3" }))
            Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        await admin.Patch($"/api/v1/users/{name}", new { role = "viewer" });

        using (var refused = await b.ApiWriteAsync(HttpMethod.Post, "/api/v1/incidents", new { title = "as viewer", severity = "SEV3" }))
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var me = JsonDocument.Parse(await b.Http.GetStringAsync("/api/v1/auth/whoami")).RootElement;
        Assert.Equal("viewer", me.Str("role"));
        Assert.Equal(1, (await admin.Get("/api/v1/incidents")).Long("total"));

        // Promotion applies at once as well.
        await admin.Patch($"/api/v1/users/{name}", new { role = "responder" });
        using var again = await b.ApiWriteAsync(HttpMethod.Post, "/api/v1/incidents", new { title = "responder again", severity = "SEV3" });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task A_password_change_ends_the_users_other_sessions(string provider)
    {
        await using var s = await Start(provider);
        var (name, _) = await s.NewUserAsync("viewer");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var laptop = await new Browser(s).LoggedInAsync(name, "password-" + name);
        using var phone = await new Browser(s).LoggedInAsync(name, "password-" + name);

        await admin.Patch($"/api/v1/users/{name}", new { password = "a-new-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, await laptop.WhoAmIAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, await phone.WhoAmIAsync());

        // An admin who changes their own password from a browser keeps that session; their other sessions end.
        using var desk = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        using var other = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        using (var r = await desk.ApiWriteAsync(HttpMethod.Patch, "/api/v1/users/admin", new { password = "admin-new-password" }))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await desk.WhoAmIAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, await other.WhoAmIAsync());
        // API tokens are not sessions: they keep working until revoked.
        await admin.Get("/api/v1/auth/whoami");
    }

    [Fact]
    public async Task A_cookie_captured_before_logout_is_refused_afterwards()
    {
        await using var s = await TestServer.StartAsync();
        using var b = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        var captured = b.SessionCookie!;
        using (var copy = Browser.Replaying(s, captured))
            Assert.Equal(HttpStatusCode.OK, (await copy.GetAsync("/api/v1/auth/whoami")).StatusCode);

        using var logout = await b.LogoutAsync();
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);

        using var replay = Browser.Replaying(s, captured);
        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.GetAsync("/api/v1/auth/whoami")).StatusCode);
        Assert.True(await RedirectsToLoginAsync(replay, "/incidents"));
        // Another session of the same user is not affected by this logout.
        using var other = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        Assert.Equal(HttpStatusCode.OK, await other.WhoAmIAsync());
    }

    [Fact]
    public async Task A_session_in_use_still_ends_at_its_absolute_lifetime()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("session_lifetime: 12h",
            "session_lifetime: 1h\n  session_absolute_lifetime: 3h", StringComparison.Ordinal));
        using var b = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        // Used every 40 minutes, the sliding (idle) expiry never ends it...
        for (var i = 0; i < 4; i++)
        {
            s.Time.Advance(TimeSpan.FromMinutes(40));
            Assert.Equal(HttpStatusCode.OK, await b.WhoAmIAsync());
        }
        s.Time.Advance(TimeSpan.FromMinutes(40)); // 3h20m after login
        Assert.Equal(HttpStatusCode.Unauthorized, await b.WhoAmIAsync());
        Assert.True(await RedirectsToLoginAsync(b.Http, "/incidents"));
    }

    [Fact]
    public async Task The_absolute_session_lifetime_defaults_to_seven_days()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("session_lifetime: 12h", "session_lifetime: 3d", StringComparison.Ordinal));
        using var b = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        for (var i = 0; i < 6; i++)
        {
            s.Time.Advance(TimeSpan.FromDays(1));
            Assert.Equal(HttpStatusCode.OK, await b.WhoAmIAsync());
        }
        s.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.Unauthorized, await b.WhoAmIAsync());
    }

    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task The_last_admin_cannot_be_demoted_or_disabled_through_the_api_or_the_ui(string provider)
    {
        await using var s = await Start(provider);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        foreach (object change in new object[] { new { role = "viewer" }, new { role = "responder" }, new { disabled = true } })
        {
            var p = await admin.Patch("/api/v1/users/admin", change, HttpStatusCode.Conflict);
            Assert.Contains("last-admin", p.Str("type"), StringComparison.Ordinal);
            Assert.Contains("at least one active admin must remain", p.Str("detail"), StringComparison.Ordinal);
        }
        Assert.Equal("admin", (await admin.Get("/api/v1/auth/whoami")).Str("role"));

        // With a second admin, either may be demoted; then the remaining one is the last again.
        await admin.Post("/api/v1/users", new { username = "ada", password = "ada-password", role = "admin" }, HttpStatusCode.Created);
        await admin.Patch("/api/v1/users/ada", new { disabled = true });
        await admin.Patch("/api/v1/users/admin", new { role = "viewer" }, HttpStatusCode.Conflict); // a disabled admin does not count
        await admin.Patch("/api/v1/users/ada", new { disabled = false });
        await admin.Patch("/api/v1/users/admin", new { role = "viewer" });
        using var ada = s.Client((await s.Get<Watchkeeper.Server.Platform.Users>().CreateTokenAsync("ada", "t", "ada")).Token);
        await ada.Patch("/api/v1/users/ada", new { role = "responder" }, HttpStatusCode.Conflict);

        // The UI applies the same rule with the same words.
        using var b = await new Browser(s).LoggedInAsync("ada", "ada-password");
        var (field, token) = await b.FormTokenAsync("/users");
        using var r = await b.Http.PostAsync("/users/ada", new FormUrlEncodedContent(new Dictionary<string, string> { ["role"] = "viewer", [field] = token }));
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        Assert.Contains("at least one active admin must remain", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("admin", (await ada.Get("/api/v1/auth/whoami")).Str("role"));
    }

    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task Two_admins_demoting_each_other_at_once_leave_one_admin(string provider)
    {
        await using var s = await Start(provider);
        var users = s.Get<Watchkeeper.Server.Platform.Users>();
        for (var round = 0; round < 5; round++)
        {
            var other = $"ada{round}";
            await users.CreateAsync(other, "password-" + other, "admin", "admin");
            using var admin = s.Client((await users.CreateTokenAsync("admin", "t", "admin")).Token);
            using var ada = s.Client((await users.CreateTokenAsync(other, "t", other)).Token);
            var first = admin.PatchAsync($"/api/v1/users/{other}", System.Net.Http.Json.JsonContent.Create(new { role = "viewer" }));
            var second = ada.PatchAsync("/api/v1/users/admin", System.Net.Http.Json.JsonContent.Create(new { role = "viewer" }));
            using var a = await first;
            using var b = await second;
            // One demotion wins. The other is refused by the rule (409), or, when the winner committed before it was
            // authorised, because its sender is no longer an admin (403).
            var codes = new[] { a.StatusCode, b.StatusCode };
            Assert.Single(codes, c => c == HttpStatusCode.OK);
            Assert.Single(codes, c => c is HttpStatusCode.Conflict or HttpStatusCode.Forbidden);
            var admins = (await users.ListAsync()).Where(u => u.Role == "admin" && !u.Disabled).Select(u => u.Username).ToList();
            Assert.Single(admins);
            // Put things back for the next round: the remaining admin promotes "admin" again and demotes the other.
            if (admins[0] != "admin")
            {
                await users.UpdateAsync("admin", "admin", null, null, admins[0]);
                await users.UpdateAsync(admins[0], "viewer", null, null, "admin");
            }
        }
    }
}
