using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Watchkeeper.Server.Tests;

/// <summary>A browser-like client: cookies, no automatic redirects, form logins with the antiforgery token.</summary>
public sealed partial class Browser : IDisposable
{
    private readonly TestServer _server;

    public Browser(TestServer server, IReadOnlyDictionary<string, string>? headers = null, HttpMessageHandler? handler = null)
    {
        _server = server;
        Http = new HttpClient(handler ?? new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = Jar }) { BaseAddress = server.BaseAddress };
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) Http.DefaultRequestHeaders.TryAddWithoutValidation(k, v);
    }

    public CookieContainer Jar { get; } = new();
    public HttpClient Http { get; }

    /// <summary>The session cookie's value, as an attacker who copied it would hold it.</summary>
    public string? SessionCookie => Jar.GetCookies(_server.BaseAddress)["wk.session"]?.Value;

    [GeneratedRegex("name=\"([^\"]+)\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenField();

    /// <summary>The antiforgery field of the first form on a page.</summary>
    public async Task<(string Field, string Token)> FormTokenAsync(string page = "/login")
    {
        var html = await Http.GetStringAsync(page);
        var m = HiddenField().Match(html);
        Assert.True(m.Success, $"{page} has no antiforgery field");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    /// <summary>Posts the login form; a successful login answers 302 and sets the session cookie.</summary>
    public async Task<HttpResponseMessage> LoginAsync(string username, string password, IReadOnlyDictionary<string, string>? headers = null)
    {
        var (field, token) = await FormTokenAsync();
        using var req = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = username, ["password"] = password, [field] = token }),
        };
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) req.Headers.TryAddWithoutValidation(k, v);
        return await Http.SendAsync(req);
    }

    public async Task<Browser> LoggedInAsync(string username, string password)
    {
        using var r = await LoginAsync(username, password);
        Assert.True(r.StatusCode == HttpStatusCode.Redirect && r.Headers.Location?.OriginalString.StartsWith("/login", StringComparison.Ordinal) == false,
            $"login as {username} failed: {(int)r.StatusCode} {r.Headers.Location}");
        Assert.NotNull(SessionCookie);
        return this;
    }

    public async Task<HttpStatusCode> WhoAmIAsync()
    {
        using var r = await Http.GetAsync("/api/v1/auth/whoami");
        return r.StatusCode;
    }

    /// <summary>A cookie-authenticated API write with the antiforgery header, as the UI's scripts send it.</summary>
    public async Task<HttpResponseMessage> ApiWriteAsync(HttpMethod method, string url, object body)
    {
        var (_, token) = await FormTokenAsync("/tokens");
        using var req = new HttpRequestMessage(method, url) { Content = JsonContent.Create(body) };
        req.Headers.Add("X-CSRF-Token", token);
        return await Http.SendAsync(req);
    }

    public async Task<HttpResponseMessage> LogoutAsync()
    {
        var (field, token) = await FormTokenAsync("/tokens");
        return await Http.PostAsync("/logout", new FormUrlEncodedContent(new Dictionary<string, string> { [field] = token }));
    }

    /// <summary>A fresh client that sends only the given session cookie (a cookie copied before a logout, say).</summary>
    public static HttpClient Replaying(TestServer s, string sessionCookie)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = s.BaseAddress };
        c.DefaultRequestHeaders.TryAddWithoutValidation("Cookie", "wk.session=" + sessionCookie);
        return c;
    }

    public void Dispose() => Http.Dispose();
}
