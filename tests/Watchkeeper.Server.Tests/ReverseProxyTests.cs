using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Behind a TLS-terminating reverse proxy: forwarded headers only from trusted proxies, absolute URLs from
/// <c>server.external_url</c> (never from the Host header), TLS on the listener, and a login limiter per user and per client.
/// </summary>
public sealed class ReverseProxyTests
{
    private const string TrustLoopback = "\nserver:\n  trusted_proxies: [\"127.0.0.1\", \"::1\"]\n";

    private static Dictionary<string, string> From(string clientIp, string proto = "http") =>
        new() { ["X-Forwarded-For"] = clientIp, ["X-Forwarded-Proto"] = proto };

    private static async Task<HttpResponseMessage> ApiLoginAsync(TestServer s, string user, string password, string? clientIp = null)
    {
        using var c = s.Client();
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/login") { Content = JsonContent.Create(new { username = user, password }) };
        if (clientIp is not null) req.Headers.TryAddWithoutValidation("X-Forwarded-For", clientIp);
        return await c.SendAsync(req);
    }

    private static string? SessionSetCookie(HttpResponseMessage r) =>
        r.Headers.TryGetValues("Set-Cookie", out var v) ? v.FirstOrDefault(x => x.StartsWith("wk.session=", StringComparison.Ordinal)) : null;

    [Fact]
    public async Task The_session_cookie_is_secure_when_a_trusted_proxy_forwards_https()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y + TrustLoopback);
        using var b = new Browser(s);
        using var r = await b.LoginAsync("admin", TestServer.AdminPassword, From("203.0.113.9", "https"));
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        var cookie = SessionSetCookie(r);
        Assert.NotNull(cookie);
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Forwarded_headers_from_a_peer_that_is_not_a_trusted_proxy_are_ignored()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("login_attempts_per_minute: 10", "login_attempts_per_minute: 3", StringComparison.Ordinal));
        using var b = new Browser(s);
        using var r = await b.LoginAsync("admin", TestServer.AdminPassword, From("203.0.113.9", "https"));
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.DoesNotContain("secure", SessionSetCookie(r)!, StringComparison.OrdinalIgnoreCase);
        // A client cannot escape its login budget by claiming other addresses.
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await ApiLoginAsync(s, "admin", "wrong", $"198.51.100.{i}")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "198.51.100.77")).StatusCode);
    }

    [Fact]
    public async Task The_host_header_is_never_reflected_into_redirects()
    {
        await using (var s = await TestServer.StartAsync())
        {
            using var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };
            using var req = new HttpRequestMessage(HttpMethod.Get, "/incidents?x=1");
            req.Headers.Host = "evil.example";
            using var r = await c.SendAsync(req);
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            var location = r.Headers.Location!.OriginalString;
            Assert.DoesNotContain("evil.example", location, StringComparison.Ordinal);
            Assert.StartsWith("/login?", location, StringComparison.Ordinal);
            Assert.Contains("ReturnUrl=%2Fincidents%3Fx%3D1", location, StringComparison.Ordinal);
            using var openapi = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
            openapi.Headers.Host = "evil.example";
            using var doc = await c.SendAsync(openapi);
            Assert.Equal(HttpStatusCode.OK, doc.StatusCode);
            Assert.DoesNotContain("evil.example", await doc.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        await using (var s = await TestServer.StartAsync(editConfig: y => y + TrustLoopback + "  external_url: https://wk.example.org\n"))
        {
            using var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = s.BaseAddress };
            using var req = new HttpRequestMessage(HttpMethod.Get, "/incidents");
            req.Headers.Host = "evil.example";
            req.Headers.TryAddWithoutValidation("X-Forwarded-Host", "evil.example");
            using var r = await c.SendAsync(req);
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            Assert.Equal("https://wk.example.org/login?ReturnUrl=%2Fincidents", r.Headers.Location!.OriginalString);
            // Sessions are secure-only when the external URL is https, whatever the proxy forwards. (The cookies are
            // handled by hand here: a cookie jar does not send secure cookies over the test's plain HTTP.)
            using var b = new Browser(s, handler: new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
            using var page = await b.Http.GetAsync("/login");
            var csrf = page.Headers.GetValues("Set-Cookie").Single(v => v.StartsWith("wk.csrf=", StringComparison.Ordinal));
            var m = System.Text.RegularExpressions.Regex.Match(await page.Content.ReadAsStringAsync(), "name=\"([^\"]+)\" value=\"([^\"]+)\"");
            using var post = new HttpRequestMessage(HttpMethod.Post, "/login")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["username"] = "admin", ["password"] = TestServer.AdminPassword, [m.Groups[1].Value] = m.Groups[2].Value,
                }),
            };
            post.Headers.TryAddWithoutValidation("Cookie", csrf.Split(';')[0]);
            using var login = await b.Http.SendAsync(post);
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
            Assert.Contains("; secure", SessionSetCookie(login)!, StringComparison.OrdinalIgnoreCase);
            // The OpenAPI document names the external URL as its server, not the Host header.
            using var openapi = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
            openapi.Headers.Host = "evil.example";
            using var docResponse = await c.SendAsync(openapi);
            var doc = await docResponse.Content.ReadAsStringAsync();
            Assert.DoesNotContain("evil.example", doc, StringComparison.Ordinal);
            Assert.Contains("https://wk.example.org", doc, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Behind_a_proxy_one_client_hammering_a_user_does_not_lock_out_other_clients()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y + TrustLoopback);
        var (viewer, _) = await s.NewUserAsync("viewer");
        for (var i = 0; i < 10; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await ApiLoginAsync(s, "admin", "guess-" + i, "203.0.113.5")).StatusCode);
        using (var limited = await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "203.0.113.5"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType!.MediaType);
            Assert.NotNull(limited.Headers.RetryAfter);
        }
        // The real admin, from another client, logs in; so do other users, and their mistakes are ordinary 401s.
        Assert.Equal(HttpStatusCode.OK, (await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "198.51.100.7")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ApiLoginAsync(s, viewer, "typo", "192.0.2.44")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ApiLoginAsync(s, viewer, "password-" + viewer, "192.0.2.44")).StatusCode);
        using var b = new Browser(s, From("198.51.100.8"));
        await b.LoggedInAsync("admin", TestServer.AdminPassword);

        // The hammering client's budget comes back after a minute.
        s.Time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(HttpStatusCode.OK, (await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "203.0.113.5")).StatusCode);
    }

    [Fact]
    public async Task Failures_on_one_user_from_many_clients_back_off_that_user_only()
    {
        await using var s = await TestServer.StartAsync(editConfig: y => y.Replace("login_attempts_per_minute: 10",
            "login_attempts_per_minute: 10\n  login_user_backoff_after: 5", StringComparison.Ordinal) + TrustLoopback);
        var (viewer, _) = await s.NewUserAsync("viewer");
        for (var i = 1; i <= 5; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await ApiLoginAsync(s, "admin", "guess", $"203.0.113.{i}")).StatusCode);

        using (var backoff = await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "198.51.100.1"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, backoff.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), backoff.Headers.RetryAfter!.Delta);
        }
        Assert.Equal(HttpStatusCode.OK, (await ApiLoginAsync(s, viewer, "password-" + viewer, "198.51.100.1")).StatusCode);

        // Each further failure doubles the wait; a success resets it.
        s.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await ApiLoginAsync(s, "admin", "guess", "203.0.113.6")).StatusCode);
        using (var longer = await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "198.51.100.1"))
            Assert.Equal(TimeSpan.FromSeconds(2), longer.Headers.RetryAfter!.Delta);
        s.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.OK, (await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "198.51.100.1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ApiLoginAsync(s, "admin", "guess", "203.0.113.7")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ApiLoginAsync(s, "admin", TestServer.AdminPassword, "198.51.100.1")).StatusCode);
    }

    [Fact]
    public async Task The_listener_serves_tls_with_the_configured_certificate_and_key()
    {
        var dir = Directory.CreateTempSubdirectory("wk-tls-").FullName;
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            req.CertificateExtensions.Add(san.Build());
            using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            var certFile = Path.Combine(dir, "tls.crt");
            var keyFile = Path.Combine(dir, "tls.key");
            await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

            await using var s = await TestServer.StartAsync(editConfig: y => y + $"\nserver:\n  tls:\n    cert_file: {certFile}\n    key_file: {keyFile}\n");
            Assert.Equal("https", s.BaseAddress.Scheme);
            string? seen = null;
            using var handler = new HttpClientHandler
            {
                AllowAutoRedirect = false,
                ServerCertificateCustomValidationCallback = (_, c, _, _) => { seen = c?.Thumbprint; return c?.Thumbprint == cert.Thumbprint; },
            };
            using var c = new HttpClient(handler) { BaseAddress = s.BaseAddress };
            Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("/-/healthy")).StatusCode);
            Assert.Equal(cert.Thumbprint, seen);
            using var b = new Browser(s, handler: new HttpClientHandler
            {
                AllowAutoRedirect = false, UseCookies = false, ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == cert.Thumbprint,
            });
            using var login = await b.Http.GetAsync("/login");
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("  external_url: not a url\n", "server.external_url", "absolute http or https URL")]
    [InlineData("  external_url: https://example.org/wk/\n", "server.external_url", "sub-path")]
    [InlineData("  trusted_proxies: [\"10.0.0.1\", \"300.1.1.1\"]\n", "server.trusted_proxies[1]", "not an IP address or CIDR network")]
    [InlineData("  trusted_proxies: [\"10.0.0.0/33\"]\n", "server.trusted_proxies[0]", "not an IP address or CIDR network")]
    [InlineData("  tls:\n    cert_file: /nonexistent/tls.crt\n    key_file: /nonexistent/tls.key\n", "server.tls.cert_file", "not found")]
    [InlineData("  tls:\n    cert_file: tls.crt\n", "server.tls.key_file", "required")]
    public void Server_settings_are_validated_with_file_line_and_key(string section, string key, string problem)
    {
        var dir = Directory.CreateTempSubdirectory("wk-config-").FullName;
        try
        {
            var path = TestServer.CopyConfig(dir, y => y + "\nserver:\n" + section);
            var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
            Assert.Equal(key, ex.Key);
            Assert.True(ex.Line > 80, $"line {ex.Line}");
            Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
