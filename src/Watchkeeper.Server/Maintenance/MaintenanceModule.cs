using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Maintenance.Ui;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Maintenance;

/// <summary>
/// Maintenance windows and runs (operations manual 3.1, 3.2): <c>/api/v1/maintenance/...</c>, the success-rate report,
/// the worker that announces occurrences, the status page's maintenance source and the /maintenance pages.
/// Viewers read; responders run maintenance (start, validate, complete, roll back, cancel, notes); admins create and
/// delete windows (schedules that silence alerts, like configuration).
/// </summary>
public static class MaintenanceModule
{
    public static void AddMaintenance(this WebApplicationBuilder builder)
    {
        var s = builder.Services;
        s.AddSingleton<MaintenanceWindows>();
        s.AddSingleton<MaintenanceChecker>();
        s.AddSingleton<MaintenanceRuns>();
        // The backup step takes a backup through the server's backup service (Backups/).
        s.AddSingleton<IMaintenanceBackup, ServiceMaintenanceBackup>();
        s.AddSingleton<MaintenanceReports>();
        s.AddSingleton<IStatusMaintenanceSource, MaintenanceStatusSource>();
        s.AddHostedService<MaintenanceWorker>();
        s.AddMaintenancePages();
    }

    public static void MapMaintenance(this WebApplication app)
    {
        // The status page is redrawn as soon as a run changes (not at its next refresh).
        var snapshots = app.Services.GetRequiredService<StatusSnapshots>();
        app.Services.GetRequiredService<MaintenanceRuns>().Changed += () => snapshots.Signal.Wake();

        var g = app.MapGroup("/api/v1/maintenance").WithTags("maintenance").RequireAuthorization(Policies.Viewer);
        g.MapGet("/windows", async (MaintenanceWindows w, TimeProvider time, CancellationToken ct) =>
        {
            var now = time.GetUtcNow();
            return TypedResults.Ok((await w.AllAsync(ct)).Select(x => w.View(x, now)).ToList());
        });
        g.MapGet("/windows/{id}", async (string id, MaintenanceWindows w, TimeProvider time, CancellationToken ct) =>
            TypedResults.Ok(w.View(await w.GetAsync(id, ct), time.GetUtcNow(), 10)));
        g.MapPost("/windows", async (MaintenanceWindowDef? def, MaintenanceWindows w, ClaimsPrincipal user, TimeProvider time, CancellationToken ct) =>
        {
            var created = await w.CreateAsync(def, user.Actor(), ct);
            return TypedResults.Created($"/api/v1/maintenance/windows/{created.Id}", w.View(created, time.GetUtcNow()));
        }).RequireAuthorization(Policies.Admin);
        g.MapDelete("/windows/{id}", async (string id, MaintenanceWindows w, ClaimsPrincipal user, CancellationToken ct) =>
        {
            await w.DeleteAsync(id, user.Actor(), ct);
            return TypedResults.NoContent();
        }).RequireAuthorization(Policies.Admin);
        g.MapGet("/occurrences", async (MaintenanceWindows w, MaintenanceRuns runs, TimeProvider time, string? from, string? to, int? limit, CancellationToken ct) =>
        {
            var start = IncidentsModule.ParseTime(from, "from") ?? time.GetUtcNow();
            var end = IncidentsModule.ParseTime(to, "to") ?? start.AddDays(90);
            return TypedResults.Ok(await Calendar(w, runs, start, end, limit ?? 200, ct));
        });

        g.MapGet("/runs", async (MaintenanceRuns runs, string? state, string? window, int? limit, CancellationToken ct) =>
            TypedResults.Ok(await runs.ListAsync(Opt(state), Opt(window), limit ?? 100, ct)));
        g.MapGet("/runs/{id:long}", async (long id, MaintenanceRuns runs, CancellationToken ct) => TypedResults.Ok(await runs.GetAsync(id, ct)));
        var r = g.MapGroup("/runs").RequireAuthorization(Policies.Responder);
        r.MapPost("/start", async ([FromBody] StartRunRequest? req, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.StartAsync(null, req ?? new(null, null, null, null, null), user.Actor(), ct)));
        r.MapPost("/{id:long}/start", async (long id, [FromBody] StartRunRequest? req, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.StartAsync(id, req ?? new(null, null, null, null, null), user.Actor(), ct)));
        r.MapPost("/{id:long}/validate", async (long id, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.ValidateAsync(id, user.Actor(), ct)));
        r.MapPost("/{id:long}/complete", async (long id, [FromBody] FinishRunRequest? req, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.CompleteAsync(id, req ?? new(null, null), user.Actor(), ct)));
        r.MapPost("/{id:long}/rollback", async (long id, [FromBody] FinishRunRequest? req, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.RollbackAsync(id, req ?? new(null, null), user.Actor(), ct)));
        r.MapPost("/{id:long}/cancel", async (long id, [FromBody] FinishRunRequest? req, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.CancelAsync(id, req ?? new(null, null), user.Actor(), ct)));
        r.MapPost("/{id:long}/notes", async (long id, [FromBody] NoteRequest? req, MaintenanceRuns runs, ClaimsPrincipal user, CancellationToken ct) =>
            TypedResults.Ok(await runs.NoteAsync(id, req?.Text, user.Actor(), ct)));

        app.MapGet("/api/v1/reports/maintenance", async (MaintenanceReports reports, string? from, string? to, CancellationToken ct) =>
                TypedResults.Ok(await reports.BuildAsync(IncidentsModule.ParseTime(from, "from"), IncidentsModule.ParseTime(to, "to"), ct)))
            .WithTags("reports").RequireAuthorization(Policies.Viewer);

        MaintenancePages.Map(app);
    }

    /// <summary>Occurrences of every window in [from, to), each with its run when there is one.</summary>
    public static async Task<IReadOnlyList<OccurrenceView>> Calendar(MaintenanceWindows w, MaintenanceRuns runs, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken ct)
    {
        if (to <= from) throw new ValidationException("to", "must be after from");
        if (to - from > TimeSpan.FromDays(800)) throw new ValidationException("to", "the period is limited to 800 days");
        if (limit is < 1 or > 2000) throw new ValidationException("limit", "must be between 1 and 2000");
        var windows = await w.AllAsync(ct);
        var byId = windows.ToDictionary(x => x.Id, StringComparer.Ordinal);
        var open = await runs.OpenRowsAsync(ct);
        var recent = await runs.ListAsync(null, null, 1000, ct);
        var list = new List<OccurrenceView>();
        foreach (var o in MaintenanceWindows.Occurrences(windows, from, to, limit))
        {
            var run = open.FirstOrDefault(x => x.WindowId == o.WindowId && x.OccurrenceStart == o.Start.ToUnixTimeMilliseconds()) is { } row
                ? (row.Id, row.State)
                : recent.FirstOrDefault(x => x.WindowId == o.WindowId && x.Start == o.Start) is { } v ? (v.Id, v.State) : ((long, string)?)null;
            list.Add(MaintenanceWindows.OccurrenceOf(byId[o.WindowId], o, run));
        }
        return list;
    }

    private static string? Opt(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}

public sealed record NoteRequest(string? Text);
