using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Tests;

/// <summary>API tokens can expire; responses that carry a secret are never cached; the documented anonymous routes are the real ones.</summary>
public sealed partial class TokenExpiryTests
{
    [Fact]
    public async Task Responses_that_carry_a_token_are_not_stored_by_caches()
    {
        await using var s = await TestServer.StartAsync();
        using var anon = s.Client();
        using var login = await anon.PostAsJsonAsync("/api/v1/auth/login", new { username = "admin", password = TestServer.AdminPassword });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.True(login.Headers.CacheControl?.NoStore, "login response lacks Cache-Control: no-store");

        using var admin = s.Client(await s.AdminApiTokenAsync());
        using var created = await admin.PostAsJsonAsync("/api/v1/tokens", new { name = "ci" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.True(created.Headers.CacheControl?.NoStore, "token creation lacks Cache-Control: no-store");

        // The UI's token page shows the new token once: also not stored.
        using var b = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        var (field, token) = await b.FormTokenAsync("/tokens");
        using var page = await b.Http.PostAsync("/tokens", new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "laptop", [field] = token }));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.True(page.Headers.CacheControl?.NoStore, "token page lacks Cache-Control: no-store");
    }

    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task A_token_with_an_expiry_stops_working_when_it_expires_and_the_listing_shows_it(string provider)
    {
        TestServer.SkipUnlessAvailable(provider == "postgres");
        await using var s = await TestServer.StartAsync(provider == "postgres");
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var created = await admin.Post("/api/v1/tokens", new { name = "ci", expires_in = "30d" }, HttpStatusCode.Created);
        Assert.Equal(s.Time.GetUtcNow().AddDays(30), created.Time("expires_at"));
        var forever = await admin.Post("/api/v1/tokens", new { name = "forever" }, HttpStatusCode.Created);
        Assert.True(forever.IsNull("expires_at"));

        using var ci = s.Client(created.Str("token"));
        using var kept = s.Client(forever.Str("token"));
        await ci.Get("/api/v1/auth/whoami");
        var listed = (await admin.Get("/api/v1/tokens")).Items();
        Assert.Equal(s.Time.GetUtcNow().AddDays(30), listed.Single(t => t.Str("name") == "ci").Time("expires_at"));
        Assert.True(listed.Single(t => t.Str("name") == "forever").IsNull("expires_at"));

        s.Time.Advance(TimeSpan.FromDays(30) - TimeSpan.FromSeconds(2));
        await ci.Get("/api/v1/auth/whoami"); // still valid, and now cached
        s.Time.Advance(TimeSpan.FromSeconds(2));
        await ci.Get("/api/v1/auth/whoami", HttpStatusCode.Unauthorized);
        await kept.Get("/api/v1/auth/whoami");
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("0s")]
    [InlineData("-5m")]
    [InlineData("20000d")]
    public async Task A_bad_token_expiry_is_a_problem_naming_the_field(string expiresIn)
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var p = await admin.Post("/api/v1/tokens", new { name = "ci", expires_in = expiresIn }, HttpStatusCode.BadRequest);
        Assert.True(p.GetProperty("errors").TryGetProperty("expires_in", out _), p.ToString());
        Assert.DoesNotContain((await admin.Get("/api/v1/tokens")).Items(), t => t.Str("name") == "ci");
    }

    [GeneratedRegex(@"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedRoute();

    [Fact]
    public async Task Docs_list_exactly_the_routes_that_answer_without_a_login()
    {
        await using var s = await TestServer.StartAsync();
        var text = await File.ReadAllTextAsync(Path.Combine(TestServer.RepoRoot, "docs", "security.md"));
        var start = text.IndexOf("<!-- anonymous-routes -->", StringComparison.Ordinal);
        var end = text.IndexOf("<!-- /anonymous-routes -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "docs/security.md has no anonymous-routes table");
        var documented = DocumentedRoute().Matches(text[start..end]).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").Order(StringComparer.Ordinal).ToList();
        var actual = Endpoints.All(s.Services).Where(e => e.AllowAnonymous).Select(e => e.ToString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(actual, documented);
    }
}
