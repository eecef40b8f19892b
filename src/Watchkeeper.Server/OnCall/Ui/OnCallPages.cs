using System.Globalization;
using System.Security.Claims;
using NodaTime;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.OnCall.Ui;

/// <summary>One schedule as the schedules page shows it: who now, the final schedule ahead, its overrides.</summary>
public sealed record ScheduleView(Schedule Schedule, OnCallNow Now, IReadOnlyList<Shift> Shifts, IReadOnlyList<Override> Overrides, DateTimeOffset From, int Weeks);

/// <summary>The on-call pages: <c>/oncall</c> (schedules), <c>/oncall/escalations</c>, and the acknowledgement link page <c>/ack/{token}</c>.</summary>
public static class OnCallPages
{
    public static void AddOnCallPages(this IServiceCollection services)
    {
        services.AddNavItem(new NavItem("oncall", "On call", "/oncall", 150));
        services.AddNavItem(new NavItem("escalations", "Escalations", "/oncall/escalations", 160));
    }

    public static void Map(WebApplication app)
    {
        var pages = app.MapPages();
        pages.MapGet("/oncall", (HttpContext http, OnCallService s, string? schedule) => Schedules(new PageContext(http), s, schedule, null, null))
            .RequireAuthorization(Policies.Viewer);
        pages.MapPost("/oncall/overrides", async (HttpContext http, IFormCollection f, OnCallService s, ClaimsPrincipal u) =>
        {
            try
            {
                var zone = s.ScheduleOf(Field(f, "schedule")).Zone;
                await s.CreateOverrideAsync(new CreateOverrideRequest(Field(f, "schedule"), Field(f, "person"), Local(Field(f, "start"), zone, "start"),
                    Local(Field(f, "end"), zone, "end"), Field(f, "reason")), u.Actor(), http.RequestAborted);
                return Results.Redirect("/oncall#overrides");
            }
            catch (Exception ex) when (ex is ProblemException)
            {
                return await Schedules(new PageContext(http), s, null, FormError.From(ex, "override", f), null, ((ProblemException)ex).Status);
            }
        }).RequireAuthorization(Policies.Responder);
        pages.MapPost("/oncall/overrides/{id:long}/delete", async (long id, HttpContext http, OnCallService s, ClaimsPrincipal u) =>
        {
            try
            {
                await s.DeleteOverrideAsync(id, u.Actor(), http.RequestAborted);
            }
            catch (NotFoundException)
            {
                // Already gone: the page shows the current list.
            }
            return Results.Redirect("/oncall#overrides");
        }).RequireAuthorization(Policies.Responder);
        pages.MapPost("/oncall/calendar-token", async (HttpContext http, OnCallService s, ConfigHolder cfg, ClaimsPrincipal u) =>
        {
            var ctx = new PageContext(http);
            try
            {
                var token = await s.NewCalendarTokenAsync(u.Actor(), u.Actor(), http.RequestAborted);
                return await Schedules(ctx, s, null, null, OnCallModule.CalendarUrl(cfg.Current, u.Actor(), token));
            }
            catch (NotFoundException ex)
            {
                return await Schedules(ctx, s, null, new FormError(ex.Message, null, "calendar", null), null, 404);
            }
        }).RequireAuthorization(Policies.Viewer);
        pages.MapGet("/oncall/escalations", async (HttpContext http, OnCallService s, Db db) =>
        {
            var ctx = new PageContext(http);
            var all = await OnCallModule.EscalationsAsync(db, s.Model, null, null, 50, http.RequestAborted);
            return Pages.Render<EscalationsPage>(new()
            {
                [nameof(EscalationsPage.Ctx)] = ctx,
                [nameof(EscalationsPage.Model)] = s.Model,
                [nameof(EscalationsPage.Escalations)] = all,
            });
        }).RequireAuthorization(Policies.Viewer);

        // The link in a notification: GET shows what it acknowledges and a button; only the POST acknowledges.
        pages.MapGet("/ack/{token}", async (string token, HttpContext http, AckLinks links, IncidentService incidents) =>
            await Ack(new PageContext(http), token, links, incidents, post: false)).AllowAnonymous();
        pages.MapPost("/ack/{token}", async (string token, HttpContext http, AckLinks links, IncidentService incidents) =>
            await Ack(new PageContext(http), token, links, incidents, post: true)).AllowAnonymous();
    }

    private static async Task<IResult> Ack(PageContext ctx, string token, AckLinks links, IncidentService incidents, bool post)
    {
        var ct = ctx.Http.RequestAborted;
        ctx.Http.Response.Headers.CacheControl = "no-store";
        var (link, problem) = await links.CheckAsync(token, ct);
        var incident = link is null ? null : await incidents.GetAsync(link.IncidentId, ct);
        string? done = null;
        var status = 200;
        if (link is null || incident is null)
        {
            status = link is null ? 400 : 404;
            problem ??= "The incident of this link no longer exists.";
        }
        else if (post)
        {
            if (link.UsedAt is not null || !await links.UseAsync(link, incidents, ct))
            {
                status = 409;
                problem = "This acknowledgement link was already used.";
            }
            else
            {
                done = $"Incident #{incident.Id} is acknowledged. Escalation has stopped.";
            }
            incident = await incidents.GetAsync(link.IncidentId, ct);
        }
        else if (link.UsedAt is not null)
        {
            problem = $"This acknowledgement link was already used at {link.UsedAt:u}.";
        }
        return Pages.Render<AckPage>(status, new()
        {
            [nameof(AckPage.Ctx)] = ctx,
            [nameof(AckPage.Token)] = token,
            [nameof(AckPage.Link)] = link,
            [nameof(AckPage.Incident)] = incident,
            [nameof(AckPage.Problem)] = problem,
            [nameof(AckPage.Done)] = done,
        });
    }

    private static async Task<IResult> Schedules(PageContext ctx, OnCallService s, string? only, FormError? err, string? calendarUrl, int status = 200)
    {
        var ct = ctx.Http.RequestAborted;
        var model = s.Model;
        var weeks = model.Settings.CalendarWeeks;
        var views = new List<ScheduleView>();
        foreach (var sched in model.Schedules.Values)
        {
            if (only is not null && sched.Name != only) continue;
            // The timeline starts at the beginning of today in the schedule's zone.
            var from = ctx.Now.ToInstant().InZone(sched.Zone).Date.AtStartOfDayInZone(sched.Zone).ToDateTimeOffset();
            var to = from.AddDays(7 * weeks);
            var overrides = await s.OverridesAsync(from, to, sched.Name, ct);
            var who = (await s.WhoAsync(ctx.Now, sched.Name, ct))[0];
            views.Add(new ScheduleView(sched, who, sched.Shifts(from, to, overrides), overrides.Where(o => o.End > ctx.Now).ToList(), from, weeks));
        }
        return Pages.Render<SchedulesPage>(status, new()
        {
            [nameof(SchedulesPage.Ctx)] = ctx,
            [nameof(SchedulesPage.Model)] = model,
            [nameof(SchedulesPage.Views)] = views,
            [nameof(SchedulesPage.Err)] = err,
            [nameof(SchedulesPage.CalendarUrl)] = calendarUrl,
        });
    }

    private static string? Field(IFormCollection f, string name) =>
        f.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v.ToString()) ? v.ToString().Trim() : null;

    /// <summary>A datetime-local form value (yyyy-MM-ddTHH:mm) read in the schedule's zone; RFC 3339 passes through.</summary>
    private static string? Local(string? v, DateTimeZone zone, string field)
    {
        if (v is null) return null;
        if (DateTime.TryParseExact(v, ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return LocalDateTime.FromDateTime(d).InZoneLeniently(zone).ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        _ = field;
        return v;
    }

    /// <summary>A time as local time in a schedule's zone: <c>Mon 2026-03-30 09:00</c>.</summary>
    public static string InZone(DateTimeOffset t, DateTimeZone zone) =>
        t.ToInstant().InZone(zone).ToString("ddd yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

    public static string InZoneShort(DateTimeOffset t, DateTimeZone zone) =>
        t.ToInstant().InZone(zone).ToString("ddd HH:mm", CultureInfo.InvariantCulture);

    private static Instant ToInstant(this DateTimeOffset t) => Instant.FromDateTimeOffset(t);

    /// <summary>A stable colour class for a person, so their shifts look alike along the timeline.</summary>
    public static string ColourOf(string person)
    {
        var h = 0;
        foreach (var ch in person) h = (h * 31 + ch) & 0x7fffffff;
        return "p" + (h % 8).ToString(CultureInfo.InvariantCulture);
    }
}
