using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>Server-rendered UI: login and the pages of each feature.</summary>
public static class WebModule
{
    public static void AddWeb(this WebApplicationBuilder builder)
    {
        // A browser that is refused a page by role gets a readable page; API clients keep the problem details.
        builder.Services.PostConfigure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme, o =>
        {
            var inner = o.Events.OnRedirectToAccessDenied;
            o.Events.OnRedirectToAccessDenied = ctx =>
                !PlatformModule.IsApi(ctx.Request) && ctx.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase)
                    ? Forbidden(ctx.HttpContext)
                    : inner(ctx);
        });
    }

    private static async Task Forbidden(HttpContext http)
    {
        var role = http.User.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value ?? "none";
        var page = Html.Bare("Not allowed", $"""
            <div class="panel"><h1>Not allowed</h1>
            <p class="error" role="alert">Your role ({Html.E(role)}) does not allow this page or action. Nothing was changed.</p>
            <p>Ask an admin for the responder role to run incidents. <a href="/incidents">Back to incidents</a></p></div>
            """, 403);
        await page.ExecuteAsync(http);
    }

    /// <summary>
    /// A path on this site: "/x", but not "//host" or "/\host" (browsers read both as another host) and
    /// nothing with control characters (browsers drop them, turning "/\t/host" into "//host").
    /// </summary>
    public static bool IsLocalPath(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Any(char.IsControl);

    public static void MapWeb(this WebApplication app)
    {
        app.MapAssets();

        // Every UI form is validated here, so a stale or forged form gets a readable page instead
        // of a JSON problem. Role checks run before this (authorization), so a viewer's write is a 403.
        var web = app.MapGroup("").DisableAntiforgery().AddEndpointFilter(async (ctx, next) =>
        {
            var http = ctx.HttpContext;
            SecurityHeaders(http);
            if (HttpMethods.IsPost(http.Request.Method) && !await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http))
            {
                return Html.Bare("Form expired", """
                    <div class="panel"><h1>Form expired</h1>
                    <p class="error" role="alert">This form was missing its security token or it has expired (for example after a restart or a new login). Nothing was changed.</p>
                    <p>Go back, reload the page and submit again.</p><p><a href="/incidents">Incidents</a></p></div>
                    """, 400);
            }
            return await next(ctx);
        }).ExcludeFromDescription();

        web.MapGet("/login", (HttpContext http, IAntiforgery af, string? error, string? returnUrl) =>
        {
            if (http.User.Identity?.IsAuthenticated == true) return Results.Redirect(SafeReturn(returnUrl));
            var token = af.GetAndStoreTokens(http);
            var message = error switch
            {
                null => "",
                "expired" => "<p class=\"error\" role=\"alert\">Your session has ended. Log in again.</p>",
                _ => "<p class=\"error\" role=\"alert\">Login failed: unknown user, wrong password or disabled account.</p>",
            };
            var html = $"""
                <div class="panel"><h1>Watchkeeper</h1>
                {message}
                <form method="post" action="/login">
                <input type="hidden" name="{Html.E(token.FormFieldName)}" value="{Html.E(token.RequestToken)}">
                <input type="hidden" name="returnUrl" value="{Html.E(SafeReturn(returnUrl))}">
                <div class="field"><label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus></div>
                <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
                <button type="submit">Log in</button></form></div>
                <p class="muted small" style="text-align:center">Operations manual as software · incidents, SLAs, postmortems</p>
                """;
            return Html.Bare("Log in", html, error is null ? 200 : 401);
        }).AllowAnonymous();

        web.MapPost("/login", async Task<IResult> (HttpContext http, Users users, Sessions sessions, LoginThrottle throttle,
            [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl) =>
        {
            var name = username?.Trim() ?? "";
            var client = LoginThrottle.ClientKey(http.Connection.RemoteIpAddress);
            if (throttle.RetryAfter(client, name) is { } wait)
            {
                http.Response.Headers.RetryAfter = LoginThrottle.Seconds(wait);
                return Html.Bare("Too many login attempts", $"""
                    <div class="panel"><h1>Too many login attempts</h1>
                    <p class="error" role="alert">Too many failed logins from this computer or for this user. Try again in {LoginThrottle.Seconds(wait)} seconds.</p>
                    <p><a href="/login">Back to the login page</a></p></div>
                    """, 429);
            }
            var u = name.Length == 0 || string.IsNullOrEmpty(password) ? null : await users.CheckPasswordAsync(name, password);
            if (u is null)
            {
                if (name.Length > 0 && !string.IsNullOrEmpty(password)) throttle.Failed(client, name);
                return Results.Redirect("/login?error=1" + (returnUrl is { Length: > 0 } ? "&returnUrl=" + Html.Url(SafeReturn(returnUrl)) : ""));
            }
            throttle.Succeeded(name);
            await sessions.SignInAsync(http, u);
            return Results.Redirect(SafeReturn(returnUrl));
        }).AllowAnonymous();

        // Ends the session on the server too: a copy of the cookie stops working.
        web.MapPost("/logout", async (HttpContext http, Sessions sessions) =>
        {
            await sessions.SignOutAsync(http);
            return Results.Redirect("/login");
        }).RequireAuthorization(Policies.Viewer);

        web.MapGet("/", () => Results.Redirect("/incidents")).RequireAuthorization(Policies.Viewer);

        IncidentPages.Map(web);
        ReportPages.Map(web);
        AccountPages.Map(web);
    }

    /// <summary>UI response headers: no framing (one-click actions must not be clickjacked), scripts only from the app itself.</summary>
    public static void SecurityHeaders(HttpContext http)
    {
        http.Response.Headers.ContentSecurityPolicy =
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
        http.Response.Headers.XFrameOptions = "DENY";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers["Referrer-Policy"] = "same-origin";
    }

    /// <summary>Only local paths are followed after login, never another site.</summary>
    public static string SafeReturn(string? r) => IsLocalPath(r) ? r! : "/";
}
