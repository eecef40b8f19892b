using System.Globalization;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Maintenance.Ui;

/// <summary>
/// <c>/maintenance</c> (the calendar: upcoming occurrences, windows, start and schedule forms), <c>/maintenance/runs</c>
/// and <c>/maintenance/runs/{id}</c> (one run with its checklist, validations and timeline). Plain forms that post and
/// redirect: usable without JavaScript.
/// </summary>
public static class MaintenancePages
{
    public const int CalendarDays = 60;

    public static void AddMaintenancePages(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("maintenance", "Maintenance", "/maintenance", 335));

    public static void Map(WebApplication app)
    {
        var pages = app.MapPages();
        pages.MapGet("/maintenance", async (HttpContext http, MaintenanceWindows w, MaintenanceRuns runs) => await Calendar(new PageContext(http), w, runs, null, 200))
            .RequireAuthorization(Policies.Viewer);
        pages.MapPost("/maintenance/windows", async (HttpContext http, IFormCollection f, MaintenanceWindows w, MaintenanceRuns runs) =>
        {
            try
            {
                var def = new MaintenanceWindowDef
                {
                    Id = Field(f, "id") ?? "", Title = Field(f, "title") ?? "", Description = Field(f, "description") ?? "", TimeZone = Field(f, "time_zone") ?? "UTC",
                    Start = Field(f, "start"), End = Field(f, "end"), Cron = Field(f, "cron"), Rule = Field(f, "rule"), At = Field(f, "at"), Duration = Field(f, "duration"),
                    Components = [.. f["components"].Where(x => !string.IsNullOrWhiteSpace(x)).Select(x => x!)],
                    RollbackPlan = Field(f, "rollback_plan") ?? "",
                    Checks = new MaintenanceChecksDef { Promql = [.. (Field(f, "promql") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] },
                };
                var created = await w.CreateAsync(def, http.User.Actor(), http.RequestAborted);
                return Results.Redirect("/maintenance?scheduled=" + Uri.EscapeDataString(created.Id) + "#windows");
            }
            catch (ProblemException ex)
            {
                return await Calendar(new PageContext(http), w, runs, FormError.From(ex, "schedule", f), ex.Status);
            }
        }).RequireAuthorization(Policies.Admin);
        pages.MapPost("/maintenance/windows/{id}/delete", async (string id, HttpContext http, MaintenanceWindows w, MaintenanceRuns runs) =>
        {
            try
            {
                await w.DeleteAsync(id, http.User.Actor(), http.RequestAborted);
                return Results.Redirect("/maintenance#windows");
            }
            catch (ProblemException ex)
            {
                return await Calendar(new PageContext(http), w, runs, FormError.From(ex, "delete", null), ex.Status);
            }
        }).RequireAuthorization(Policies.Admin);
        pages.MapPost("/maintenance/start", async (HttpContext http, IFormCollection f, MaintenanceWindows w, MaintenanceRuns runs) =>
        {
            try
            {
                var run = await runs.StartAsync(null, new StartRunRequest(Field(f, "window"), Field(f, "occurrence"), Field(f, "rollback_plan"), Field(f, "backup_confirmation"),
                    Field(f, "team")), http.User.Actor(), http.RequestAborted);
                return Results.Redirect($"/maintenance/runs/{run.Id.ToString(CultureInfo.InvariantCulture)}");
            }
            catch (ProblemException ex)
            {
                return await Calendar(new PageContext(http), w, runs, FormError.From(ex, "start-" + (Field(f, "window") ?? ""), f), ex.Status);
            }
        }).RequireAuthorization(Policies.Responder);

        pages.MapGet("/maintenance/runs", async (HttpContext http, MaintenanceRuns runs, string? state) =>
        {
            var s = string.IsNullOrWhiteSpace(state) || !RunState.All.Contains(state) ? null : state;
            return Pages.Render<RunsPage>(new()
            {
                [nameof(RunsPage.Ctx)] = new PageContext(http),
                [nameof(RunsPage.Runs)] = await runs.ListAsync(s, null, 200, http.RequestAborted),
                [nameof(RunsPage.State)] = s,
            });
        }).RequireAuthorization(Policies.Viewer);
        pages.MapGet("/maintenance/runs/{id:long}", async (long id, HttpContext http, MaintenanceRuns runs) => await Run(new PageContext(http), runs, id, null, 200))
            .RequireAuthorization(Policies.Viewer);
        pages.MapPost("/maintenance/runs/{id:long}/{action}", async (long id, string action, HttpContext http, IFormCollection f, MaintenanceRuns runs) =>
        {
            var ct = http.RequestAborted;
            var actor = http.User.Actor();
            try
            {
                _ = action switch
                {
                    "start" => await runs.StartAsync(id, new StartRunRequest(null, null, Field(f, "rollback_plan"), Field(f, "backup_confirmation"), Field(f, "team")), actor, ct),
                    "validate" => await runs.ValidateAsync(id, actor, ct),
                    "complete" => await runs.CompleteAsync(id, new FinishRunRequest(Field(f, "summary"), null), actor, ct),
                    "rollback" => await runs.RollbackAsync(id, new FinishRunRequest(null, Field(f, "reason")), actor, ct),
                    "cancel" => await runs.CancelAsync(id, new FinishRunRequest(null, Field(f, "reason")), actor, ct),
                    "notes" => await runs.NoteAsync(id, Field(f, "text"), actor, ct),
                    _ => throw new NotFoundException($"no action '{action}' on maintenance runs"),
                };
                return Results.Redirect($"/maintenance/runs/{id.ToString(CultureInfo.InvariantCulture)}");
            }
            catch (ProblemException ex) when (ex is not NotFoundException)
            {
                return await Run(new PageContext(http), runs, id, FormError.From(ex, action, f), ex.Status);
            }
        }).RequireAuthorization(Policies.Responder);
    }

    private static async Task<IResult> Calendar(PageContext ctx, MaintenanceWindows w, MaintenanceRuns runs, FormError? err, int status)
    {
        var ct = ctx.Http.RequestAborted;
        var windows = await w.AllAsync(ct);
        var occurrences = await MaintenanceModule.Calendar(w, runs, ctx.Now, ctx.Now.AddDays(CalendarDays), 300, ct);
        return Pages.Render<CalendarPage>(status, new()
        {
            [nameof(CalendarPage.Ctx)] = ctx,
            [nameof(CalendarPage.Windows)] = windows.Select(x => w.View(x, ctx.Now, 1)).ToList(),
            [nameof(CalendarPage.Occurrences)] = occurrences,
            [nameof(CalendarPage.Err)] = err,
            [nameof(CalendarPage.BackupAutomatic)] = runs.BackupAutomatic,
            [nameof(CalendarPage.EarlyStart)] = ctx.Config.Maintenance.EarlyStart.Value,
        });
    }

    private static async Task<IResult> Run(PageContext ctx, MaintenanceRuns runs, long id, FormError? err, int status) =>
        Pages.Render<RunPage>(status, new()
        {
            [nameof(RunPage.Ctx)] = ctx,
            [nameof(RunPage.Run)] = await runs.GetAsync(id, ctx.Http.RequestAborted),
            [nameof(RunPage.Err)] = err,
            [nameof(RunPage.BackupAutomatic)] = runs.BackupAutomatic,
        });

    private static string? Field(IFormCollection f, string name) =>
        f.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v.ToString()) ? v.ToString().Trim() : null;

    public static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";

    public static string StateFlag(string state) => state switch
    {
        RunState.Completed => "ok",
        RunState.RolledBack => "bad",
        RunState.InProgress or RunState.Validating => "warn",
        _ => "info",
    };
}
