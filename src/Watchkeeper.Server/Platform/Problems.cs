using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Watchkeeper.Server.Platform;

/// <summary>A request field that failed validation; becomes an RFC 9457 problem naming the field.</summary>
public sealed class ValidationException(string field, string message) : Exception($"{field}: {message}")
{
    public string Field { get; } = field;
    public string Problem { get; } = message;
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

    public static IResult Validation(string field, string message) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = 400,
            Title = "Invalid request",
            Detail = $"{field}: {message}",
            Type = "https://watchkeeper.dev/problems/validation",
        });

    public static IResult NotFound(string what) => TypedResults.Problem(Create(404, "Not found", what));
    public static IResult Conflict(string detail, IDictionary<string, object?>? extensions = null)
    {
        var p = Create(409, "Conflict", detail);
        if (extensions is not null) foreach (var (k, v) in extensions) p.Extensions[k] = v;
        return TypedResults.Problem(p);
    }
    public static IResult PreconditionFailed(string detail) => TypedResults.Problem(Create(412, "Precondition failed", detail));

    public static async Task WriteAsync(HttpContext ctx, int status, string title, string detail)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/problem+json";
        await ctx.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            type = $"https://watchkeeper.dev/problems/{status}",
            title,
            status,
            detail,
            instance = ctx.Request.Path.Value,
        }));
    }

    /// <summary>Maps domain exceptions thrown by handlers to problem responses.</summary>
    public static async Task Handle(HttpContext ctx, Exception ex)
    {
        switch (ex)
        {
            case ValidationException v:
                ctx.Response.StatusCode = 400;
                ctx.Response.ContentType = "application/problem+json";
                await ctx.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    type = "https://watchkeeper.dev/problems/validation",
                    title = "Invalid request",
                    status = 400,
                    detail = v.Message,
                    errors = new Dictionary<string, string[]> { [v.Field] = [v.Problem] },
                    instance = ctx.Request.Path.Value,
                }));
                break;
            case NotFoundException nf: await WriteAsync(ctx, 404, "Not found", nf.Message); break;
            case ConflictException c: await WriteAsync(ctx, 409, "Conflict", c.Message); break;
            case ForbiddenException f: await WriteAsync(ctx, 403, "Forbidden", f.Message); break;
            case BadHttpRequestException b:
                await WriteAsync(ctx, b.StatusCode, b.StatusCode == 415 ? "Unsupported media type" : "Bad request",
                    b.InnerException is JsonException je ? "malformed JSON: " + je.Message : b.Message);
                break;
            case JsonException j: await WriteAsync(ctx, 400, "Bad request", "malformed JSON: " + j.Message); break;
            default: await WriteAsync(ctx, 500, "Internal server error", "The server failed to handle the request; see its log."); break;
        }
    }
}
