using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// An error a request caused, carrying the HTTP status it answers with. Domain code throws these; the one
/// <see cref="ProblemExceptionHandler"/> turns them into RFC 9457 problem details (no list of types to keep in step).
/// </summary>
public abstract class ProblemException(int status, string title, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Title { get; } = title;

    /// <summary>The problem this exception answers with; subclasses add fields (validation errors, extensions).</summary>
    public virtual ProblemDetails ToProblem() => Problems.Create(Status, Title, Message);

    /// <summary>
    /// Response headers the problem needs (e.g. the current <c>ETag</c> with a 412). Endpoints that need them use
    /// <see cref="Problems.AsResults"/>: the exception handler middleware drops cache headers such as ETag.
    /// </summary>
    public virtual void AddHeaders(IHeaderDictionary headers)
    {
    }
}

/// <summary>A request field that failed validation; becomes a 400 problem naming the field.</summary>
public sealed class ValidationException(string field, string message) : ProblemException(400, "Invalid request", $"{field}: {message}")
{
    public string Field { get; } = field;
    public string Problem { get; } = message;

    public override ProblemDetails ToProblem() => Problems.ValidationProblem(Field, Problem);
}

public sealed class NotFoundException(string message) : ProblemException(404, "Not found", message);

/// <summary>A request that conflicts with the current state or a rule; <see cref="Rule"/> names the rule when there is one.</summary>
public sealed class ConflictException(string message, string? rule = null) : ProblemException(409, "Conflict", message)
{
    public string? Rule { get; } = rule;

    public override ProblemDetails ToProblem() => Rule is null
        ? base.ToProblem()
        : Problems.Create(409, "Refused by rule " + Rule, Message, "https://watchkeeper.dev/problems/" + Rule);
}

public sealed class ForbiddenException(string message) : ProblemException(403, "Forbidden", message);

/// <summary>
/// The web layer's HTML error pages. When one is registered, requests off the API paths that accept text/html get
/// its page for every 4xx/5xx (unmatched routes, status codes without a body, unhandled exceptions); API paths always
/// get problem details.
/// </summary>
public interface IHtmlErrorPage
{
    /// <summary>Writes a page for <paramref name="problem"/> (its status is already set); false falls back to problem details.</summary>
    ValueTask<bool> TryWriteAsync(HttpContext context, ProblemDetails problem);
}

/// <summary>RFC 9457 problem details for every error the API returns.</summary>
public static class Problems
{
    public static ProblemDetails Create(int status, string title, string? detail, string? type = null) => new()
    {
        Status = status,
        Title = title,
        Detail = detail,
        Type = type ?? $"https://watchkeeper.dev/problems/{status}",
    };

    public static HttpValidationProblemDetails ValidationProblem(string field, string message) =>
        new(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = 400,
            Title = "Invalid request",
            Detail = $"{field}: {message}",
            Type = "https://watchkeeper.dev/problems/validation",
        };

    public static BadRequestProblem Validation(string field, string message) => new(ValidationProblem(field, message));
    public static NotFoundProblem NotFound(string what) => new(Create(404, "Not found", what));

    public static ConflictProblem Conflict(string detail, IDictionary<string, object?>? extensions = null)
    {
        var p = Create(409, "Conflict", detail);
        if (extensions is not null) foreach (var (k, v) in extensions) p.Extensions[k] = v;
        return new(p);
    }

    public static PreconditionFailedProblem PreconditionFailed(string detail) => new(Create(412, "Precondition failed", detail));

    /// <summary>Writes a problem outside an endpoint (authentication events, rate limiter, middleware).</summary>
    public static Task WriteAsync(HttpContext ctx, int status, string title, string detail) =>
        WriteAsync(ctx, Create(status, title, detail));

    /// <summary>
    /// Writes <paramref name="problem"/> with its status: an HTML page for browsers off the API paths when the web
    /// layer registered one, otherwise <c>application/problem+json</c> through <see cref="IProblemDetailsService"/>.
    /// </summary>
    public static async Task WriteAsync(HttpContext ctx, ProblemDetails problem, Exception? exception = null)
    {
        ctx.Response.StatusCode = problem.Status ?? 500;
        if (WantsHtml(ctx.Request) && ctx.RequestServices.GetService<IHtmlErrorPage>() is { } page && await page.TryWriteAsync(ctx, problem)) return;
        var service = ctx.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = ctx, ProblemDetails = problem, Exception = exception }))
            return;
        // The API answers problem+json whatever the Accept header says (the default writer declines e.g. "Accept: text/plain").
        Customize(ctx, problem);
        await ctx.Response.WriteAsJsonAsync(problem, JsonSerializerOptions.Web, "application/problem+json");
    }

    /// <summary>
    /// An endpoint filter turning a <see cref="ProblemException"/> into its problem result inside the endpoint, with the
    /// exception's headers; the same mapping as <see cref="ProblemExceptionHandler"/>.
    /// </summary>
    public static TBuilder AsResults<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (ctx, next) =>
        {
            try
            {
                return await next(ctx);
            }
            catch (ProblemException ex)
            {
                ex.AddHeaders(ctx.HttpContext.Response.Headers);
                return TypedResults.Problem(ex.ToProblem());
            }
        });

    /// <summary>Fills <c>type</c> and <c>instance</c> on every problem the server writes (endpoint results included).</summary>
    public static void Customize(HttpContext ctx, ProblemDetails p)
    {
        p.Type ??= $"https://watchkeeper.dev/problems/{p.Status ?? ctx.Response.StatusCode}";
        p.Instance ??= ctx.Request.Path.Value;
    }

    public static bool WantsHtml(HttpRequest r) =>
        !PlatformModule.IsApi(r) && r.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    /// <summary>The one mapping from an exception to the problem it answers with; null for a server error.</summary>
    public static ProblemDetails? ForClientError(Exception ex) => ex switch
    {
        ProblemException p => p.ToProblem(),
        BadHttpRequestException b => Create(b.StatusCode, b.StatusCode == 415 ? "Unsupported media type" : "Bad request",
            b.InnerException is JsonException je ? "malformed JSON: " + je.Message : b.Message),
        JsonException j => Create(400, "Bad request", "malformed JSON: " + j.Message),
        _ => null,
    };
}

/// <summary>
/// Answers every exception a request throws: client errors as their problem (not logged as server faults), anything
/// else as a 500 problem, logged with its stack trace.
/// </summary>
public sealed class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = Problems.ForClientError(exception);
        if (exception is ProblemException pe) pe.AddHeaders(httpContext.Response.Headers);
        if (problem is null)
        {
            if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested) return true; // the client left
            log.LogError(exception, "Unhandled error on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
            problem = Problems.Create(500, "Internal server error", "The server failed to handle the request; see its log.");
        }
        await Problems.WriteAsync(httpContext, problem, exception);
        return true;
    }
}

/// <summary>
/// A problem result with a fixed status for typed endpoint results (<c>Results&lt;Ok&lt;T&gt;, NotFoundProblem&gt;</c>):
/// written as <c>application/problem+json</c> and listed in the OpenAPI document with its status.
/// </summary>
public abstract class ProblemResult(ProblemDetails problem) : IResult, IStatusCodeHttpResult, IValueHttpResult<ProblemDetails>, IValueHttpResult
{
    public ProblemDetails Value { get; } = problem;
    object? IValueHttpResult.Value => Value;
    public int? StatusCode => Value.Status;

    public Task ExecuteAsync(HttpContext httpContext) => TypedResults.Problem(Value).ExecuteAsync(httpContext);

    protected static void Describe(EndpointBuilder builder, int status, Type type) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(status, type, ["application/problem+json"]));
}

public sealed class BadRequestProblem(ProblemDetails problem) : ProblemResult(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, 400, typeof(HttpValidationProblemDetails));
}

public sealed class NotFoundProblem(ProblemDetails problem) : ProblemResult(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, 404, typeof(ProblemDetails));
}

public sealed class ConflictProblem(ProblemDetails problem) : ProblemResult(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, 409, typeof(ProblemDetails));
}

public sealed class PreconditionFailedProblem(ProblemDetails problem) : ProblemResult(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, 412, typeof(ProblemDetails));
}

/// <summary>A failed <c>/-/reload</c>: 400, the running configuration is kept.</summary>
public sealed class ReloadFailedProblem(ProblemDetails problem) : ProblemResult(problem), IEndpointMetadataProvider
{
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) => Describe(builder, 400, typeof(ProblemDetails));
}
