using System.Globalization;
using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Watchkeeper.Server.Incidents.Ui;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>REST API for incidents under <c>/api/v1/incidents</c>, the SLA worker and incident metrics.</summary>
public static class IncidentsModule
{
    public static void AddIncidents(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IncidentService>();
        builder.Services.AddSingleton<IncidentMetrics>();
        builder.Services.AddSingleton<IncidentEvents>();
        builder.Services.AddHostedService<SlaWorker>();
        // The hosted instance runs on the clock; the singleton is for one-off runs (tests, tools). Both are stateless.
        builder.Services.AddSingleton<AlertIncidentWorker>();
        builder.Services.AddHostedService<AlertIncidentWorker>();
        builder.Services.AddIncidentPages();
    }

    public static void MapIncidents(this WebApplication app)
    {
        RegisterMetrics(app.Services);
        // Domain exceptions (not found, invalid transition, version mismatch with the current ETag) carry their status and headers.
        var g = app.MapGroup("/api/v1/incidents").WithTags("incidents").RequireAuthorization(Policies.Viewer).AsResults();

        g.MapGet("/", async Task<Results<Ok<IncidentPage>, BadRequestProblem>> (IncidentService s, string? status, string? severity, string? kind, string? from, string? to, string? q, int? limit, long? cursor, CancellationToken ct) =>
        {
            if (limit is < 1 or > 500) return Problems.Validation("limit", "must be between 1 and 500");
            return TypedResults.Ok(await s.ListAsync(status, severity, kind, ParseTime(from, "from"), ParseTime(to, "to"), q, limit ?? 50, cursor, ct));
        });
        g.MapPost("/", async Task<Created<IncidentView>> (CreateIncidentRequest req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
        {
            var v = await s.CreateAsync(req, user.Actor(), ct);
            http.Response.Headers.ETag = ETag(v.Version);
            return TypedResults.Created($"/api/v1/incidents/{v.Id}", v);
        }).RequireAuthorization(Policies.Responder);
        g.MapGet("/{id:long}", async Task<Results<Ok<IncidentView>, NotFoundProblem>> (long id, IncidentService s, HttpContext http, CancellationToken ct) =>
        {
            var v = await s.GetAsync(id, ct);
            if (v is null) return Problems.NotFound($"incident {id} not found");
            http.Response.Headers.ETag = ETag(v.Version);
            return TypedResults.Ok(v);
        });
        g.MapPatch("/{id:long}", async (long id, UpdateIncidentRequest req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            WithETag(http, await s.UpdateAsync(id, req, IfMatch(http), user.Actor(), ct))).RequireAuthorization(Policies.Responder);
        g.MapPost("/{id:long}/status", async (long id, TransitionRequest req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            WithETag(http, await s.TransitionAsync(id, req.Status, req.Message, IfMatch(http), user.Actor(), ct))).RequireAuthorization(Policies.Responder);
        g.MapPost("/{id:long}/acknowledge", async (long id, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            WithETag(http, await s.AcknowledgeAsync(id, IfMatch(http), user.Actor(), ct))).RequireAuthorization(Policies.Responder);
        g.MapPost("/{id:long}/resolve", async (long id, ResolveRequest? req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            WithETag(http, await s.ResolveAsync(id, req?.Message, req?.PublicUpdate, IfMatch(http), user.Actor(), ct: ct))).RequireAuthorization(Policies.Responder);
        g.MapPost("/{id:long}/reopen", async (long id, MessageRequest? req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            WithETag(http, await s.TransitionAsync(id, IncidentStatus.Investigating, req?.Message, IfMatch(http), user.Actor(), ct))).RequireAuthorization(Policies.Responder);
        g.MapPut("/{id:long}/roles", async (long id, AssignRequest req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            WithETag(http, await s.AssignAsync(id, req, IfMatch(http), user.Actor(), ct))).RequireAuthorization(Policies.Responder);

        g.MapGet("/{id:long}/timeline", async (long id, IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.TimelineAsync(id, ct)));
        g.MapPost("/{id:long}/notes", async (long id, NoteRequest req, IncidentService s, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Created($"/api/v1/incidents/{id}/timeline", await s.AddNoteAsync(id, req.Text, user.Actor(), ct))).RequireAuthorization(Policies.Responder);

        g.MapGet("/{id:long}/status-updates", async (long id, string? visibility, IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.StatusUpdatesAsync(id, visibility, ct)));
        g.MapPost("/{id:long}/status-updates", async (long id, StatusUpdateRequest req, IncidentService s, ClaimsPrincipal user, HttpContext http, CancellationToken ct) =>
            TypedResults.Created($"/api/v1/incidents/{id}/status-updates", await s.PostStatusUpdateAsync(id, req, IfMatch(http), user.Actor(), ct))).RequireAuthorization(Policies.Responder);

        g.MapGet("/{id:long}/checklist", async (long id, IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.ChecklistAsync(id, ct)));
        g.MapPost("/{id:long}/checklist/{itemId:long}", async (long id, long itemId, ChecklistCheckRequest req, IncidentService s, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await s.CheckItemAsync(id, itemId, req.Done ?? true, user.Actor(), ct))).RequireAuthorization(Policies.Responder);

        g.MapGet("/{id:long}/postmortem", async (long id, IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.PostmortemAsync(id, ct)));
        g.MapPut("/{id:long}/postmortem", async (long id, PostmortemRequest req, IncidentService s, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await s.SavePostmortemAsync(id, req, user.Actor(), ct))).RequireAuthorization(Policies.Responder);

        g.MapGet("/{id:long}/action-items", async (long id, IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.ActionItemsAsync(id, ct)));
        g.MapPost("/{id:long}/action-items", async (long id, ActionItemRequest req, IncidentService s, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Created($"/api/v1/incidents/{id}/action-items", await s.AddActionItemAsync(id, req, user.Actor(), ct))).RequireAuthorization(Policies.Responder);
        g.MapPatch("/{id:long}/action-items/{itemId:long}", async (long id, long itemId, ActionItemRequest req, IncidentService s, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await s.UpdateActionItemAsync(id, itemId, req, user.Actor(), ct))).RequireAuthorization(Policies.Responder);
        g.MapGet("/{id:long}/sla-breaches", async (long id, IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.BreachesAsync(id, ct)));

        app.MapGet("/api/v1/action-items", async (IncidentService s, string? status, CancellationToken ct) => TypedResults.Ok(await s.AllActionItemsAsync(status, ct)))
            .WithTags("incidents").RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/v1/sla-breaches", async (IncidentService s, CancellationToken ct) => TypedResults.Ok(await s.BreachesAsync(null, ct)))
            .WithTags("incidents").RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/v1/services", (IServiceCatalog catalog) => TypedResults.Ok(catalog.All.Select(ServiceView.Of).ToList()))
            .WithTags("services").RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/v1/severities", (ConfigHolder cfg) => TypedResults.Ok(cfg.Current.Severities.Select(s => new
        {
            s.Id, s.Name, s.Impact, s.UsersAffected, s.BusinessImpact, s.ResponseTarget, response_seconds = s.ResponseTime.Value.TotalSeconds,
            s.ResolutionTarget, resolution_seconds = s.ResolutionTime.Value.TotalSeconds, s.Escalation, update_interval_seconds = s.UpdateInterval.Value.TotalSeconds,
        }))).WithTags("incidents").RequireAuthorization(Policies.Viewer);
    }

    private static Ok<IncidentView> WithETag(HttpContext http, IncidentView v)
    {
        http.Response.Headers.ETag = ETag(v.Version);
        return TypedResults.Ok(v);
    }

    public static string ETag(long version) => $"\"{version}\"";

    private static long? IfMatch(HttpContext http)
    {
        var h = http.Request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(h) || h == "*") return null;
        var v = h.Trim();
        if (v.StartsWith("W/", StringComparison.Ordinal)) v = v[2..];
        v = v.Trim('"');
        return long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new ValidationException("If-Match", $"'{h}' is not an ETag this server issued (expected e.g. \"3\")");
    }

    /// <summary>A time parameter of Watchkeeper's own API: RFC 3339, Unix seconds or a date, read by the one time parser (<see cref="Watchkeeper.Metrics.Model.PromTime"/>).</summary>
    public static DateTimeOffset? ParseTime(string? s, string field)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (!Watchkeeper.Metrics.Model.PromTime.TryParseDateOrTime(s.Trim(), out var ms, out _))
            throw new ValidationException(field, $"'{s}' is not an RFC 3339 time or Unix timestamp");
        // Within what a DateTimeOffset can hold (years 1 to 9999).
        if (ms < DateTimeOffset.MinValue.ToUnixTimeMilliseconds() || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            throw new ValidationException(field, $"'{s}' is outside the representable time range");
        return DateTimeOffset.FromUnixTimeMilliseconds(ms);
    }

    /// <summary>Incident metrics: loaded once at start, kept up to date on write (<see cref="IncidentMetrics"/>).</summary>
    private static void RegisterMetrics(IServiceProvider sp)
    {
        var incidents = sp.GetRequiredService<IncidentMetrics>();
        incidents.LoadAsync().GetAwaiter().GetResult();
        sp.GetRequiredService<SelfMetrics>().AddCollector(incidents.WriteAsync);
    }
}

/// <summary>Records SLA breaches as their due times pass.</summary>
public sealed class SlaWorker(IncidentService incidents, ConfigHolder config, TimeProvider time, ILogger<SlaWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(config.Current.Incidents.SlaCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var n = await incidents.CheckSlaAsync(stoppingToken);
                    if (n > 0) logger.LogWarning("Recorded {Count} SLA breach(es)", n);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "SLA check failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
