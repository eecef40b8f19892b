using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

public sealed class ProblemDetailsTests
{
    private static async Task<(HttpStatusCode Status, string? MediaType, JsonElement Body)> Raw(HttpClient c, HttpMethod method, string url, string? body = null,
        string contentType = "application/json")
    {
        using var req = new HttpRequestMessage(method, url);
        if (body is not null) req.Content = new StringContent(body, Encoding.UTF8, contentType);
        using var r = await c.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        JsonElement json = default;
        if (text.Length > 0 && r.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true)
            json = JsonDocument.Parse(text).RootElement.Clone();
        return (r.StatusCode, r.Content.Headers.ContentType?.MediaType, json);
    }

    [Fact]
    public async Task Unknown_route_is_404_problem_json()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminApiTokenAsync());
        foreach (var url in new[] { "/api/v1/no-such-thing", "/api/v1/incidents/not-a-number", "/nothing-here" })
        {
            var (status, media, body) = await Raw(c, HttpMethod.Get, url);
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Equal("application/problem+json", media);
            Assert.Equal(404, body.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(body.Str("title")));
        }
        // Anonymous callers get 401 for any path, mapped or not: the route table does not leak.
        using var anon = s.Client();
        var (s1, m1, _) = await Raw(anon, HttpMethod.Get, "/api/v1/no-such-thing");
        Assert.Equal(HttpStatusCode.Unauthorized, s1);
        Assert.Equal("application/problem+json", m1);
        var (s2, m2, b2) = await Raw(c, HttpMethod.Get, "/api/v1/incidents/4242");
        Assert.Equal(HttpStatusCode.NotFound, s2);
        Assert.Equal("application/problem+json", m2);
        Assert.Equal("incident 4242 not found", b2.Str("detail"));
    }

    [Fact]
    public async Task Malformed_json_is_400_problem_json_naming_the_problem()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminApiTokenAsync());
        var (status, media, body) = await Raw(c, HttpMethod.Post, "/api/v1/incidents", "{\"title\": \"x\", \"severity\": ");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", media);
        Assert.Contains("JSON", body.Str("detail"), StringComparison.OrdinalIgnoreCase);

        // A value of the wrong type names the field.
        (status, media, body) = await Raw(c, HttpMethod.Post, "/api/v1/incidents", "{\"title\": \"x\", \"severity\": \"SEV1\", \"services_affected\": \"api\"}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", media);
        Assert.Contains("services_affected", body.Str("detail"), StringComparison.Ordinal);

        // A missing body is named as such.
        (status, media, body) = await Raw(c, HttpMethod.Post, "/api/v1/incidents");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", media);
        Assert.Contains("body", body.Str("detail"), StringComparison.OrdinalIgnoreCase);

        (status, media, _) = await Raw(c, HttpMethod.Post, "/api/v1/incidents", "title=x", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("application/problem+json", media);
        Assert.Equal(0, (await c.Get("/api/v1/incidents")).Long("total"));
    }

    [Fact]
    public async Task Out_of_range_values_are_400_problems_not_server_errors()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminApiTokenAsync());
        await c.Post("/api/v1/incidents", new { title = "x", severity = "SEV3" }, HttpStatusCode.Created);
        foreach (var next in new[] { "9999999999999y", "9999y", "99999999999999999999s" })
        {
            var p = await c.Post("/api/v1/incidents/1/status-updates", new { current_status = "x", next_update_in = next }, HttpStatusCode.BadRequest);
            Assert.True(p.GetProperty("errors").TryGetProperty("next_update_in", out _), p.ToString());
        }
        foreach (var (url, field) in new[] { ("/api/v1/incidents?from=1e20", "from"), ("/api/v1/incidents?to=-1e20", "to"), ("/api/v1/reports/incidents?from=1e300", "from"), ("/api/v1/incidents?from=NaN", "from") })
        {
            var p = await c.Get(url, HttpStatusCode.BadRequest);
            Assert.True(p.GetProperty("errors").TryGetProperty(field, out _), p.ToString());
        }
        Assert.Empty((await c.Get("/api/v1/incidents/1/status-updates")).Items());
    }

    [Fact]
    public async Task Every_4xx_from_the_api_is_problem_json()
    {
        await using var s = await TestServer.StartAsync();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        await admin.Post("/api/v1/incidents", new { title = "x", severity = "SEV3" }, HttpStatusCode.Created);
        using var viewer = s.Client((await s.NewUserAsync("viewer")).Token);
        using var anon = s.Client();
        var api = Endpoints.All(s.Services).Where(e => e.Route.StartsWith("/api/", StringComparison.Ordinal) || e.Route.StartsWith("/-/", StringComparison.Ordinal)).ToList();

        var failures = new List<string>();
        var fourXx = 0;
        async Task Check(HttpClient c, string who, HttpMethod method, string url, string? body)
        {
            var (status, media, json) = await Raw(c, method, url, body);
            if ((int)status >= 500) failures.Add($"{who} {method} {url}: {(int)status}");
            if ((int)status is < 400 or > 499) return;
            fourXx++;
            if (media != "application/problem+json") failures.Add($"{who} {method} {url}: {(int)status} as {media ?? "no body"}");
            else if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("status", out var st) || st.GetInt32() != (int)status || !json.TryGetProperty("title", out _))
                failures.Add($"{who} {method} {url}: {(int)status} problem without matching status/title");
        }
        foreach (var e in api)
        {
            var method = new HttpMethod(e.Method);
            await Check(anon, "anonymous", method, e.Url, e.IsWrite ? "{}" : null);
            await Check(viewer, "viewer", method, e.Url, e.IsWrite ? "{}" : null);
            if (e.Route == "/-/reload") continue; // a valid empty body would reload; covered by ConfigTests
            // Missing things, empty bodies, broken bodies and bad query values.
            await Check(admin, "admin", method, Endpoints.Fill(e.Route, "424242").Replace("/admin", "/nobody", StringComparison.Ordinal), e.IsWrite ? "{}" : null);
            if (e.IsWrite)
            {
                await Check(admin, "admin", method, e.Url, "{");
                await Check(admin, "admin", method, e.Url, "[1,2]");
                await Check(admin, "admin", method, e.Url, "{}");
            }
            else
            {
                await Check(admin, "admin", method, e.Url + "?limit=-1&from=never&status=unknown&bucket=eon&after=x", null);
            }
        }
        // Methods that are not mapped.
        await Check(admin, "admin", HttpMethod.Delete, "/api/v1/incidents/", null);
        await Check(admin, "admin", HttpMethod.Put, "/api/v1/severities", "{}");
        Assert.Empty(failures);
        Assert.True(fourXx > 50, $"only {fourXx} 4xx responses were provoked");
    }

    private sealed class TeapotException() : ProblemException(418, "I'm a teapot", "short and stout");

    /// <summary>Throws what the path names, after routing found no endpoint (so it runs inside the real pipeline).</summary>
    private sealed class ThrowingStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Use((HttpContext ctx, RequestDelegate _) => ctx.Request.Path.Value switch
            {
                "/-/test/server-fault" => throw new InvalidOperationException("secret internals"),
                "/-/test/conflict" => throw new ConflictException("already done"),
                "/-/test/teapot" => throw new TeapotException(),
                _ => Task.CompletedTask,
            });
        };
    }

    private sealed class TestHtmlErrorPage : IHtmlErrorPage
    {
        public async ValueTask<bool> TryWriteAsync(HttpContext context, ProblemDetails problem)
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync($"<h1>{problem.Status} {problem.Title}</h1>");
            return true;
        }
    }

    [Fact]
    public async Task Exceptions_map_to_problems_by_their_own_status_and_server_faults_do_not_leak()
    {
        await using var s = await TestServer.StartAsync(configure: b => b.Services.AddSingleton<IStartupFilter, ThrowingStartupFilter>());
        using var c = s.Client(await s.AdminApiTokenAsync());

        var (status, media, body) = await Raw(c, HttpMethod.Get, "/-/test/server-fault");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("application/problem+json", media);
        Assert.Equal(500, body.GetProperty("status").GetInt32());
        Assert.DoesNotContain("secret", body.ToString(), StringComparison.Ordinal);

        (status, media, body) = await Raw(c, HttpMethod.Get, "/-/test/conflict");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("application/problem+json", media);
        Assert.Equal("already done", body.Str("detail"));
        Assert.Equal("/-/test/conflict", body.Str("instance"));

        // A new domain exception needs no entry in any list: it carries its status.
        (status, media, body) = await Raw(c, HttpMethod.Get, "/-/test/teapot");
        Assert.Equal((HttpStatusCode)418, status);
        Assert.Equal("application/problem+json", media);
        Assert.Equal("I'm a teapot", body.Str("title"));
        Assert.Equal("short and stout", body.Str("detail"));
    }

    [Fact]
    public async Task Browsers_get_an_html_error_page_and_the_api_keeps_problem_json()
    {
        await using var s = await TestServer.StartAsync(configure: b => b.Services.AddSingleton<IHtmlErrorPage, TestHtmlErrorPage>());
        using var c = s.Client(await s.AdminApiTokenAsync());
        c.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        using (var r = await c.GetAsync("/nothing-here"))
        {
            // The web layer's error pages (Web/ErrorPages) answer page requests first; IHtmlErrorPage covers the rest.
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
        }
        var (status, media, body) = await Raw(c, HttpMethod.Get, "/api/v1/incidents/4242");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", media);
        Assert.Equal("incident 4242 not found", body.Str("detail"));
    }

    [Fact]
    public async Task OpenApi_lists_the_problem_responses_of_typed_results()
    {
        await using var s = await TestServer.StartAsync();
        using var anon = s.Client();
        var doc = JsonDocument.Parse(await anon.GetStringAsync("/openapi/v1.json")).RootElement;
        var reload = doc.GetProperty("paths").GetProperty("/-/reload").GetProperty("post").GetProperty("responses");
        Assert.True(reload.TryGetProperty("200", out _), reload.ToString());
        Assert.True(reload.GetProperty("400").GetProperty("content").TryGetProperty("application/problem+json", out _), reload.ToString());
    }
    [Theory]
    [InlineData("/api/v1/incidents", "get", "200", "IncidentPage")]
    [InlineData("/api/v1/incidents", "post", "201", "IncidentView")]
    [InlineData("/api/v1/incidents/{id}", "get", "200", "IncidentView")]
    [InlineData("/api/v1/incidents/{id}/acknowledge", "post", "200", "IncidentView")]
    [InlineData("/api/v1/users", "post", "201", "UserView")]
    [InlineData("/api/v1/users/{username}", "patch", "200", "UserView")]
    [InlineData("/api/v1/tokens", "post", "201", "NewToken")]
    [InlineData("/api/v1/auth/login", "post", "200", "NewToken")]
    public async Task OpenApi_lists_the_success_body_of_incident_user_and_token_routes(string path, string method, string status, string schema)
    {
        await using var s = await TestServer.StartAsync();
        using var anon = s.Client();
        var doc = JsonDocument.Parse(await anon.GetStringAsync("/openapi/v1.json")).RootElement;
        var op = doc.GetProperty("paths").GetProperty(path).GetProperty(method);
        var responses = op.GetProperty("responses");
        Assert.True(responses.TryGetProperty(status, out var ok), $"{method} {path}: no {status} in {responses}");
        var body = ok.GetProperty("content").GetProperty("application/json").GetProperty("schema").ToString();
        Assert.Contains("#/components/schemas/" + schema, body, StringComparison.Ordinal);
    }
}
