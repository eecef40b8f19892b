using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.Alerting;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// POST /alertmanager/api/v2/alerts with a responder's token is answered by <see cref="AlertPostFastPath"/> before
/// authentication, authorization and routing; it must answer exactly as the endpoint does, and leave every other request
/// (no, bad, revoked, expired or too weak a token, cookie sessions) to the normal pipeline.
/// </summary>
public sealed class AlertPostFastPathTests
{
    private const string Url = "/alertmanager/api/v2/alerts";
    // The same endpoint reached through the normal pipeline: routing matches paths without regard to case.
    private const string SlowUrl = "/ALERTMANAGER/api/v2/alerts";

    private static string Alert(string name) => "{\"labels\":{\"alertname\":\"" + name + "\",\"severity\":\"warning\"},\"annotations\":{\"summary\":\"s\"}}";

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static bool Held(TestServer s, string alertname) =>
        s.Get<AlertingEngine>().Store.Snapshot().Any(a => a.Labels.TryGetValue("alertname", out var n) && n == alertname);

    private static string WithoutTraceId(string body) =>
        System.Text.RegularExpressions.Regex.Replace(body, "\"trace_id\":\"[^\"]*\"", "\"trace_id\":\"-\"");

    private static HttpClient Basic(TestServer s, string token)
    {
        var c = s.Client();
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("prometheus:" + token)));
        return c;
    }

    [Fact]
    public async Task Only_token_requests_of_responders_are_answered_first_in_line_and_everything_else_goes_on()
    {
        await using var s = await TestServer.StartAsync();
        var (_, responder) = await s.NewUserAsync("responder");
        var (_, viewer) = await s.NewUserAsync("viewer");
        var middleware = AlertPostFastPath.Middleware(s.Services);

        async Task<(bool Next, int Status)> Run(string method, string path, string? authorization, string body)
        {
            var http = new DefaultHttpContext { RequestServices = s.Services };
            http.Request.Method = method;
            http.Request.Path = path;
            if (authorization is not null) http.Request.Headers.Authorization = authorization;
            var bytes = Encoding.UTF8.GetBytes(body);
            http.Request.Body = new MemoryStream(bytes);
            http.Request.ContentLength = bytes.Length;
            http.Response.Body = new MemoryStream();
            var next = false;
            await middleware(http, _ =>
            {
                next = true;
                return Task.CompletedTask;
            });
            return (next, http.Response.StatusCode);
        }

        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("prometheus:" + responder));
        Assert.Equal((false, 200), await Run("POST", Url, "Bearer " + responder, $"[{Alert("Fast1")}]"));
        Assert.Equal((false, 200), await Run("POST", Url, basic, $"[{Alert("Fast2")}]"));
        Assert.True(Held(s, "Fast1") && Held(s, "Fast2"));
        Assert.Equal((false, 400), await Run("POST", Url, "Bearer " + responder, $"[{Alert("Fast3")}, 5]"));
        Assert.True(Held(s, "Fast3"));
        // Everything else is the normal pipeline's to answer.
        Assert.True((await Run("POST", Url, null, $"[{Alert("No1")}]")).Next);
        Assert.True((await Run("POST", Url, "Bearer " + viewer, $"[{Alert("No2")}]")).Next);
        Assert.True((await Run("POST", Url, "Bearer wk_not-a-token", $"[{Alert("No3")}]")).Next);
        Assert.True((await Run("POST", Url, "Basic !!", $"[{Alert("No4")}]")).Next);
        Assert.True((await Run("GET", Url, "Bearer " + responder, "")).Next);
        Assert.True((await Run("POST", "/alertmanager/api/v2/silences", "Bearer " + responder, "{}")).Next);
        Assert.True((await Run("POST", SlowUrl, "Bearer " + responder, $"[{Alert("No5")}]")).Next);
        Assert.False(Held(s, "No1") || Held(s, "No2") || Held(s, "No3") || Held(s, "No4") || Held(s, "No5"));
    }

    [Fact]
    public async Task Who_may_post_is_unchanged_anonymous_viewer_revoked_expired_and_cookie_sessions_without_csrf_are_refused()
    {
        await using var s = await TestServer.StartAsync();
        using var anon = s.Client();
        var r = await anon.PostAsync(Url, Body($"[{Alert("Anon")}]"));
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);

        using var viewer = await s.ClientAsAsync("viewer");
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync(Url, Body($"[{Alert("Viewer")}]"))).StatusCode);

        var (name, token) = await s.NewUserAsync("responder");
        using var bearer = s.Client(token);
        using var basic = Basic(s, token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.PostAsync(Url, Body($"[{Alert("Bearer")}]"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await basic.PostAsync(Url, Body($"[{Alert("Basic")}]"))).StatusCode);
        Assert.True(Held(s, "Bearer") && Held(s, "Basic"));

        // Revoked while cached: refused at once.
        var users = s.Get<Users>();
        var id = (await users.ListTokensAsync(name)).Single().Id;
        Assert.True(await users.RevokeTokenAsync(id, "admin", actorIsAdmin: true));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.PostAsync(Url, Body($"[{Alert("Revoked")}]"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await basic.PostAsync(Url, Body($"[{Alert("Revoked")}]"))).StatusCode);

        // Expired: refused from its expiry on, also while cached.
        var expiring = await users.CreateTokenAsync(name, "short", "admin", TimeSpan.FromHours(1));
        using var soon = s.Client(expiring.Token);
        Assert.Equal(HttpStatusCode.OK, (await soon.PostAsync(Url, Body($"[{Alert("BeforeExpiry")}]"))).StatusCode);
        s.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.Unauthorized, (await soon.PostAsync(Url, Body($"[{Alert("Expired")}]"))).StatusCode);
        Assert.False(Held(s, "Anon") || Held(s, "Viewer") || Held(s, "Revoked") || Held(s, "Expired"));

        // A logged-in browser session goes through the normal pipeline: an API write without the CSRF header is refused.
        using var b = await new Browser(s).LoggedInAsync("admin", TestServer.AdminPassword);
        var csrf = await b.Http.PostAsync(Url, Body($"[{Alert("Cookie")}]"));
        Assert.Equal(HttpStatusCode.BadRequest, csrf.StatusCode);
        Assert.Contains("Antiforgery", await csrf.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(Held(s, "Cookie"));
    }

    [Fact]
    public async Task Answers_are_the_endpoints_own_and_are_counted_under_its_route()
    {
        await using var s = await TestServer.StartAsync();
        using var c = await s.ClientAsAsync("responder");
        var requests = s.Get<SelfMetrics>().Counter("watchkeeper_http_requests_total", "HTTP requests served, by route and status code.", "method", "route", "code");
        var ok0 = requests.Get("POST", Url, "200");
        var bad0 = requests.Get("POST", Url, "400");

        string[] bodies =
        [
            $"[{Alert("Same")}]",
            $"[{Alert("MixA")}, {{\"labels\":{{}}}}, {Alert("MixB")}, {{\"labels\":{{\"a\":\"b\"}},\"startsAt\":\"2026-11-02T10:00:00Z\",\"endsAt\":\"2026-11-02T09:00:00Z\"}}, 5]",
            "[{\"labels\":{\"a\":\"b\"}",
            "{\"labels\":{\"a\":\"b\"}}",
            "[" + string.Join(",", Enumerable.Repeat(Alert("Many"), s.Get<AlertingEngine>().Store.Limits.MaxBatch + 1)) + "]",
        ];
        foreach (var body in bodies)
        {
            var fast = await c.PostAsync(Url, Body(body));
            var slow = await c.PostAsync(SlowUrl, Body(body));
            Assert.Equal(slow.StatusCode, fast.StatusCode);
            Assert.Equal(slow.Content.Headers.ContentType?.ToString(), fast.Content.Headers.ContentType?.ToString());
            Assert.Equal(slow.Headers.CacheControl?.ToString(), fast.Headers.CacheControl?.ToString());
            // The problem's "instance" is the request path, which differs in case only; "trace_id" is per request.
            var f = WithoutTraceId((await fast.Content.ReadAsStringAsync()).Replace(Url, "PATH", StringComparison.Ordinal));
            var w = WithoutTraceId((await slow.Content.ReadAsStringAsync()).Replace(SlowUrl, "PATH", StringComparison.Ordinal));
            Assert.Equal(w, f);
        }

        // The mixed batch: valid alerts stored, each invalid one named by index.
        var mixed = await c.PostAsync(Url, Body(bodies[1]));
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        var problem = JsonDocument.Parse(await mixed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal([1, 3, 4], problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()));
        Assert.True(Held(s, "MixA") && Held(s, "MixB") && Held(s, "Same"));
        // A whole-body refusal names the body.
        var broken = JsonDocument.Parse(await (await c.PostAsync(Url, Body(bodies[2]))).Content.ReadAsStringAsync()).RootElement;
        Assert.StartsWith("body: invalid JSON", broken.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Both ways are counted under the endpoint's route (a thrown whole-body refusal is not, as before).
        Assert.Equal(ok0 + 2, requests.Get("POST", Url, "200"));
        Assert.Equal(bad0 + 3, requests.Get("POST", Url, "400"));
    }
}
