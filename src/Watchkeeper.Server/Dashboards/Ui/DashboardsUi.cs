using Microsoft.Extensions.Options;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Dashboards.Ui;

/// <summary>
/// <c>/dashboards</c> (list, search, tags, import) and <c>/dashboards/{uid}</c> (one dashboard). Viewers read;
/// importing and deleting need the responder role; provisioned dashboards are read-only.
/// </summary>
public static class DashboardsUi
{
    public static void AddDashboardsUi(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("dashboards", "Dashboards", "/dashboards", 295));

    public static void MapDashboardsUi(this WebApplication app)
    {
        var pages = app.MapPages();
        pages.MapGet("/dashboards", async (HttpContext http, DashboardStore s, string? q, string? tag) =>
            await List(http, s, q, tag, null, 200)).RequireAuthorization(Policies.Viewer);
        pages.MapPost("/dashboards/import", async Task<IResult> (HttpContext http, DashboardStore s, IOptionsMonitor<DashboardsConfig> o) =>
        {
            var form = await http.Request.ReadFormAsync(http.RequestAborted);
            var max = o.CurrentValue.Limits.MaxJsonBytes;
            string? text = form["json"].FirstOrDefault();
            if (form.Files.GetFile("file") is { Length: > 0 } file)
            {
                if (file.Length > max) return await List(http, s, null, null, $"The file is larger than {max} bytes (dashboards.limits.max_json_bytes). Nothing was imported.", 400);
                using var reader = new StreamReader(file.OpenReadStream());
                text = await reader.ReadToEndAsync(http.RequestAborted);
            }
            if (string.IsNullOrWhiteSpace(text)) return await List(http, s, null, null, "Choose a Grafana dashboard JSON file or paste its JSON. Nothing was imported.", 400);
            var r = await DashboardsModule.ImportAsync(s, text, form["overwrite"] == "on", http.User.Actor(), o.CurrentValue, http.RequestAborted);
            if (r.Error is { } e) return await List(http, s, null, null, $"Not imported: {e.Field}: {e.Problem}", 400);
            if (r.Conflict is { } c) return await List(http, s, null, null, "Not imported: " + c, 409);
            return Results.Redirect(r.Result!.Url);
        }).RequireAuthorization(Policies.Responder);
        pages.MapGet("/dashboards/{uid}", async Task<IResult> (string uid, HttpContext http, DashboardStore s, DashboardRenderer renderer) =>
        {
            var stored = await s.GetAsync(uid, http.RequestAborted);
            if (stored is null) return ErrorPages.Page(http, 404, $"There is no dashboard '{uid}'.", "See the list of dashboards.", "Dashboard not found");
            var ctx = new PageContext(http);
            var model = renderer.Build(stored, ViewRequest.FromQuery(http.Request.Query), ctx.Now.ToUnixTimeMilliseconds(), http.RequestAborted);
            return Pages.Render<DashboardView>(new()
            {
                [nameof(DashboardView.Ctx)] = ctx,
                [nameof(DashboardView.Model)] = model,
            });
        }).RequireAuthorization(Policies.Viewer);
        pages.MapGet("/dashboards/{uid}/export", async Task<IResult> (string uid, HttpContext http, DashboardStore s) =>
            await s.GetAsync(uid, http.RequestAborted) is { } d ? DashboardsModule.Export(d)
                : ErrorPages.Page(http, 404, $"There is no dashboard '{uid}'.", "See the list of dashboards.", "Dashboard not found")).RequireAuthorization(Policies.Viewer);
        pages.MapPost("/dashboards/{uid}/delete", async Task<IResult> (string uid, HttpContext http, DashboardStore s) =>
        {
            var r = await s.DeleteAsync(uid, http.User.Actor(), http.RequestAborted);
            if (r == SaveOutcome.Provisioned) return await List(http, s, null, null, $"Dashboard '{uid}' is provisioned from a file: remove the file from the dashboards.provisioning folder and reload.", 409);
            return Results.Redirect("/dashboards");
        }).RequireAuthorization(Policies.Responder);
    }

    private static async Task<IResult> List(HttpContext http, DashboardStore s, string? q, string? tag, string? error, int status)
    {
        var all = await s.ListAsync(null, null, http.RequestAborted);
        var shown = await s.ListAsync(q, tag, http.RequestAborted);
        return Pages.Render<DashboardListView>(status, new()
        {
            [nameof(DashboardListView.Ctx)] = new PageContext(http),
            [nameof(DashboardListView.Dashboards)] = shown,
            [nameof(DashboardListView.AllTags)] = all.SelectMany(d => d.Tags).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToList(),
            [nameof(DashboardListView.Query)] = q ?? "",
            [nameof(DashboardListView.Tag)] = tag ?? "",
            [nameof(DashboardListView.Error)] = error,
        });
    }
}
