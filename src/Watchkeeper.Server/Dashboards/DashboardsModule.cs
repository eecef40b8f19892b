using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Watchkeeper.Server.Dashboards.Ui;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Dashboards;

/// <summary>A dashboard as the API returns it: Grafana's <c>{dashboard, meta}</c> shape.</summary>
public sealed record DashboardEnvelope(System.Text.Json.JsonElement Dashboard, DashboardSummary Meta);

/// <summary>What an import answers: the uid, version and page of the saved dashboard.</summary>
public sealed record ImportResult(string Uid, int Version, string Url, string Status);

/// <summary>
/// Dashboards: Grafana dashboard JSON stored in the database, imported and exported over the API and the UI, and
/// provisioned from the <c>dashboards.provisioning</c> folders on start and on every configuration reload.
/// Viewers read; responders and admins import, replace and delete (provisioned dashboards are read-only).
/// </summary>
public static class DashboardsModule
{
    public static void AddDashboards(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DashboardStore>();
        builder.Services.AddSingleton<DashboardRenderer>();
        builder.Services.AddDashboardsUi();
    }

    public static void MapDashboards(this WebApplication app)
    {
        // Provisioned dashboards: in the database before the first request, and again after each successful reload.
        var store = app.Services.GetRequiredService<DashboardStore>();
        var holder = app.Services.GetRequiredService<ConfigHolder>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Watchkeeper.Dashboards");
        Sync(store, holder.Current, log);
        holder.Reloaded += c => Sync(store, c, log);

        var g = app.MapGroup("/api/v1/dashboards").WithTags("dashboards").RequireAuthorization(Policies.Viewer);
        g.MapGet("/", async (DashboardStore s, string? query, string? tag, CancellationToken ct) => TypedResults.Ok(await s.ListAsync(query, tag, ct)));
        g.MapGet("/{uid}", async Task<Results<Ok<DashboardEnvelope>, NotFoundProblem>> (string uid, DashboardStore s, CancellationToken ct) =>
            await s.GetAsync(uid, ct) is { } d ? TypedResults.Ok(new DashboardEnvelope(Element(d.Json), d.Meta)) : Problems.NotFound($"no dashboard '{uid}'"));
        g.MapGet("/{uid}/export", async Task<IResult> (string uid, DashboardStore s, CancellationToken ct) =>
            await s.GetAsync(uid, ct) is { } d ? Export(d) : Problems.NotFound($"no dashboard '{uid}'"));
        g.MapPost("/import", async Task<Results<Created<ImportResult>, Ok<ImportResult>, BadRequestProblem, ConflictProblem>> (HttpRequest req, bool? overwrite,
            DashboardStore s, IOptionsMonitor<DashboardsConfig> o, CancellationToken ct) =>
        {
            var text = await ReadBodyAsync(req, o.CurrentValue.Limits.MaxJsonBytes, ct);
            if (text is null) return Problems.Validation("dashboard", $"the body is larger than {o.CurrentValue.Limits.MaxJsonBytes} bytes (dashboards.limits.max_json_bytes)");
            var r = await ImportAsync(s, text, overwrite, req.HttpContext.User.Actor(), o.CurrentValue, ct);
            return r switch
            {
                { Error: { } e } => Problems.Validation(e.Field, e.Problem),
                { Conflict: { } c } => Problems.Conflict(c),
                { Outcome: SaveOutcome.Created } => TypedResults.Created(r.Result!.Url, r.Result),
                _ => TypedResults.Ok(r.Result!),
            };
        }).RequireAuthorization(Policies.Responder).Accepts<System.Text.Json.JsonElement>("application/json");
        g.MapDelete("/{uid}", async Task<Results<NoContent, NotFoundProblem, ConflictProblem>> (string uid, HttpContext http, DashboardStore s, CancellationToken ct) =>
            await s.DeleteAsync(uid, http.User.Actor(), ct) switch
            {
                null => Problems.NotFound($"no dashboard '{uid}'"),
                SaveOutcome.Provisioned => Problems.Conflict($"dashboard '{uid}' is provisioned from a file in dashboards.provisioning: remove the file and reload"),
                _ => TypedResults.NoContent(),
            }).RequireAuthorization(Policies.Responder);

        app.MapDashboardsUi();
    }

    /// <summary>The outcome of an import: the saved dashboard, or the field at fault, or why it conflicts.</summary>
    internal sealed record ImportOutcome(SaveOutcome? Outcome, ImportResult? Result, DashboardJsonException? Error, string? Conflict);

    internal static async Task<ImportOutcome> ImportAsync(DashboardStore store, string text, bool? overwrite, string actor, DashboardsConfig config, CancellationToken ct)
    {
        JsonObject json;
        Dashboard model;
        var over = overwrite ?? false;
        try
        {
            if (JsonNode.Parse(text) is JsonObject env && env["dashboard"] is JsonObject && env["overwrite"] is JsonValue ow && ow.TryGetValue<bool>(out var b)) over |= b;
        }
        catch (System.Text.Json.JsonException)
        {
            // Reported by Parse below with the field.
        }
        try
        {
            (json, model) = DashboardJson.Parse(text, config.Limits.ToLimits());
        }
        catch (DashboardJsonException e)
        {
            return new ImportOutcome(null, null, e, null);
        }
        var (outcome, saved) = await store.ImportAsync(json, model, over, actor, ct);
        return outcome switch
        {
            SaveOutcome.Provisioned => new(outcome, null, null, $"dashboard '{saved!.Uid}' is provisioned from a file and read-only; import it under another uid (remove \"uid\")"),
            SaveOutcome.Exists => new(outcome, null, null, $"a dashboard with uid '{saved!.Uid}' exists (\"{saved.Title}\", version {saved.Version}); import with overwrite to replace it"),
            SaveOutcome.TooMany => new(outcome, null, null, $"there are already {config.Limits.MaxDashboards} dashboards (dashboards.limits.max_dashboards)"),
            _ => new(outcome, new ImportResult(saved!.Uid, saved.Version, "/dashboards/" + saved.Uid, outcome == SaveOutcome.Created ? "created" : "updated"), null, null),
        };
    }

    private static System.Text.Json.JsonElement Element(string json)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    /// <summary>The stored JSON as a download named after the title.</summary>
    internal static IResult Export(StoredDashboard d)
    {
        var name = new string(d.Meta.Title.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray()).Trim('-');
        return Results.File(Encoding.UTF8.GetBytes(d.Json), "application/json", (name.Length == 0 ? d.Meta.Uid : name) + ".json");
    }

    /// <summary>The body as text, or null when it is longer than <paramref name="max"/> bytes.</summary>
    internal static async Task<string?> ReadBodyAsync(HttpRequest req, int max, CancellationToken ct)
    {
        if (req.ContentLength > max) return null;
        using var ms = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await req.Body.ReadAsync(buffer, ct)) > 0)
        {
            if (ms.Length + n > max) return null;
            await ms.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    private static void Sync(DashboardStore store, WatchkeeperConfig config, ILogger log)
    {
        var n = store.SyncProvisionedAsync(config.Dashboards.Provisioned, CancellationToken.None).GetAwaiter().GetResult();
        if (n > 0) log.LogInformation("Provisioned dashboards: {Changes} change(s) from {Count} file(s)", n, config.Dashboards.Provisioned.Count);
    }
}
