using Microsoft.AspNetCore.Http.HttpResults;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Web;

/// <summary>
/// Error pages for browsers: a request for a page (not an API path, <c>Accept: text/html</c>) that ends in
/// 4xx/5xx without a body, or throws, gets an HTML page inside the layout. API paths (/api, /prometheus,
/// /alertmanager, /-/) and JSON clients keep the RFC 9457 problem details of the platform's handlers.
/// </summary>
public static class ErrorPages
{
    public static bool WantsHtml(HttpRequest r) =>
        !PlatformModule.IsApi(r) && r.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    public static string Heading(int status) => status switch
    {
        400 => "Bad request",
        403 => "Not allowed",
        404 => "Page not found",
        405 => "Method not allowed",
        409 => "Conflict",
        412 => "Changed by someone else",
        429 => "Too many requests",
        >= 500 => "Something went wrong",
        _ => "Error",
    };

    private static string DefaultMessage(HttpContext http, int status) => status switch
    {
        404 => $"There is no page at {http.Request.Path}.",
        405 => $"{http.Request.Method} is not allowed on {http.Request.Path}.",
        >= 500 => "The server failed to answer this request. The error was logged; nothing was changed by this page.",
        _ => $"The request could not be answered (HTTP {status}).",
    };

    public static RazorComponentResult<ErrorPage> Page(HttpContext http, int status, string? message = null, string? hint = null, string? heading = null) =>
        Pages.Render<ErrorPage>(status, new()
        {
            [nameof(ErrorPage.Ctx)] = new PageContext(http),
            [nameof(ErrorPage.Status)] = status,
            [nameof(ErrorPage.Heading)] = heading ?? Heading(status),
            [nameof(ErrorPage.Message)] = message ?? DefaultMessage(http, status),
            [nameof(ErrorPage.Hint)] = hint,
        });

    public static Task Forbidden(HttpContext http)
    {
        WebModule.SecurityHeaders(http);
        var role = http.User.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value ?? "none";
        return Page(http, 403, $"Your role ({role}) does not allow this page or action. Nothing was changed.",
            "Ask an admin for the responder role to run incidents.").ExecuteAsync(http);
    }

    /// <summary>The middleware: exceptions and empty error responses of page requests become pages.</summary>
    public static void UseErrorPages(this WebApplication app)
    {
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Watchkeeper.Web");
        app.Use(async (http, next) =>
        {
            if (!WantsHtml(http.Request))
            {
                await next(http);
                return;
            }
            try
            {
                await next(http);
            }
            catch (Exception ex) when (!http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
            {
                int status;
                string? message = null;
                if (Html.IsDomainError(ex))
                {
                    status = Html.StatusFor(ex);
                    message = Html.ErrorMessage(ex);
                }
                else if (ex is BadHttpRequestException b)
                {
                    status = b.StatusCode;
                    message = b.Message;
                }
                else
                {
                    status = 500;
                    log.LogError(ex, "Unhandled error on {Method} {Path}", http.Request.Method, http.Request.Path);
                }
                http.Response.Clear();
                WebModule.SecurityHeaders(http);
                await Page(http, status, message).ExecuteAsync(http);
                return;
            }
            var r = http.Response;
            if (r.StatusCode >= 400 && !r.HasStarted && string.IsNullOrEmpty(r.ContentType) && r.ContentLength is null or 0)
            {
                WebModule.SecurityHeaders(http);
                await Page(http, r.StatusCode).ExecuteAsync(http);
            }
        });
    }
}
