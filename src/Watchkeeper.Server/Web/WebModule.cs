using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Watchkeeper.Server.Incidents.Ui;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Platform.Ui;
using Watchkeeper.Server.Reports.Ui;

namespace Watchkeeper.Server.Web;

/// <summary>
/// The web layer: Razor components rendered on the server, the layout and its registered navigation, browser
/// assets, error pages for browsers, login and the account pages.
/// </summary>
public static class WebModule
{
    public static void AddWeb(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Pages are Razor components rendered on the server (RazorComponentResult): static HTML, no circuits.
        services.AddRazorComponents();
        // Encode what markup needs (<, >, &, quotes) and keep every other character readable.
        services.Replace(ServiceDescriptor.Singleton(HtmlEncoder.Create(UnicodeRanges.All)));
        services.AddSingleton<StaticAssets>();
        services.AddSingleton<NavigationRegistry>();
        // The account pages (Platform/Ui) are mapped here with login; their navigation too.
        services.AddNavItem(new NavItem("users", "Users", "/users", 900, MinRank: 3));
        services.AddNavItem(new NavItem("tokens", "API tokens", "/tokens", 910));
        services.AddAuditPage();

        // A browser that is refused a page by role gets a readable page; API clients keep the problem details.
        services.PostConfigure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme, o =>
        {
            var inner = o.Events.OnRedirectToAccessDenied;
            o.Events.OnRedirectToAccessDenied = ctx => ErrorPages.WantsHtml(ctx.Request) ? ErrorPages.Forbidden(ctx.HttpContext) : inner(ctx);
        });
    }

    /// <summary>
    /// A path on this site: "/x", but not "//host" or "/\host" (browsers read both as another host) and
    /// nothing with control characters (browsers drop them, turning "/\t/host" into "//host").
    /// </summary>
    public static bool IsLocalPath(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Any(char.IsControl);

    /// <summary>
    /// The route group every page is mapped in: it sends the UI's security headers and validates the
    /// antiforgery token of every form post, so a stale or forged form gets a readable page instead of a
    /// JSON problem. Role checks run before this (authorization), so a viewer's write is a 403.
    /// </summary>
    public static RouteGroupBuilder MapPages(this IEndpointRouteBuilder app) =>
        app.MapGroup("").DisableAntiforgery().AddEndpointFilter(async (ctx, next) =>
        {
            var http = ctx.HttpContext;
            SecurityHeaders(http);
            if (HttpMethods.IsPost(http.Request.Method) && !await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http))
            {
                return ErrorPages.Page(http, 400,
                    "This form was missing its security token or it has expired (for example after a restart or a new login). Nothing was changed.",
                    "Go back, reload the page and submit again.", "Form expired");
            }
            return await next(ctx);
        }).ExcludeFromDescription();

    public static void MapWeb(this WebApplication app)
    {
        app.UseErrorPages();
        var web = app.MapPages();

        web.MapGet("/login", (HttpContext http, string? error, string? returnUrl) =>
        {
            if (http.User.Identity?.IsAuthenticated == true) return Results.Redirect(SafeReturn(returnUrl));
            return Pages.Render<LoginPage>(error is null ? 200 : 401, new()
            {
                [nameof(LoginPage.Ctx)] = new PageContext(http),
                [nameof(LoginPage.Error)] = error,
                [nameof(LoginPage.ReturnUrl)] = SafeReturn(returnUrl),
            });
        }).AllowAnonymous();

        web.MapPost("/login", async Task<IResult> (HttpContext http, Users users, Sessions sessions, LoginThrottle throttle,
            [FromForm] string? username, [FromForm] string? password, [FromForm] string? returnUrl) =>
        {
            var name = username?.Trim() ?? "";
            var client = LoginThrottle.ClientKey(http.Connection.RemoteIpAddress);
            if (throttle.RetryAfter(client, name) is { } wait)
            {
                http.Response.Headers.RetryAfter = LoginThrottle.Seconds(wait);
                return ErrorPages.Page(http, 429,
                    $"Too many failed logins from this computer or for this user. Try again in {LoginThrottle.Seconds(wait)} seconds.",
                    heading: "Too many login attempts");
            }
            var u = name.Length == 0 || string.IsNullOrEmpty(password) ? null : await users.CheckPasswordAsync(name, password, http.RequestAborted);
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

        Overview.OverviewModule.Map(web);
        IncidentPages.Map(web);
        FollowUpPages.Map(web);
        AuditPage.Map(web);
        ReportPages.Map(web);
        Notifications.Ui.NotificationPages.Map(web);
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
