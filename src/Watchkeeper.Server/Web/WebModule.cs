using System.Security.Claims;
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
    }

    /// <summary>
    /// A path on this site: "/x", but not "//host" or "/\host" (browsers read both as another host) and
    /// nothing with control characters (browsers drop them, turning "/\t/host" into "//host").
    /// </summary>
    public static bool IsLocalPath(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Any(char.IsControl);

    public static void MapWeb(this WebApplication app)
    {
        app.MapGet("/login", (HttpContext http, Microsoft.AspNetCore.Antiforgery.IAntiforgery af, string? error) =>
        {
            var token = af.GetAndStoreTokens(http);
            var html = $"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in · Watchkeeper</title></head>
                <body><main><h1>Watchkeeper</h1>
                {(error is null ? "" : "<p role=\"alert\">Login failed: unknown user or wrong password.</p>")}
                <form method="post" action="/login">
                <input type="hidden" name="{token.FormFieldName}" value="{token.RequestToken}">
                <label>Username <input name="username" autocomplete="username" required></label>
                <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
                <button type="submit">Log in</button></form></main></body></html>
                """;
            return Results.Content(html, "text/html; charset=utf-8");
        }).AllowAnonymous();

        app.MapPost("/login", async Task<IResult> (HttpContext http, Users users, [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl) =>
        {
            var u = string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password) ? null : await users.CheckPasswordAsync(username, password);
            if (u is null) return Results.Redirect("/login?error=1");
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, Users.Principal(u.Username, u.Role, CookieAuthenticationDefaults.AuthenticationScheme));
            return Results.Redirect(IsLocalPath(returnUrl) ? returnUrl! : "/");
        }).AllowAnonymous().RequireRateLimiting(Policies.LoginRateLimit);

        app.MapPost("/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect("/login");
        }).RequireAuthorization(Policies.Viewer);

        app.MapGet("/", (ClaimsPrincipal user) => Results.Redirect("/incidents")).RequireAuthorization(Policies.Viewer);
    }
}
