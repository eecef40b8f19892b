using System.Globalization;
using System.Security.Claims;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Incidents.Ui;

/// <summary>Incident list, declare form, incident page and its actions.</summary>
public static class IncidentPages
{
    private const int PageSize = 25;

    public static void AddIncidentPages(this IServiceCollection services)
    {
        services.AddNavItem(new NavItem("incidents", "Incidents", "/incidents", 100));
        services.AddNavItem(new NavItem("new", "Declare incident", "/incidents/new", 110, MinRank: 2));
        services.AddFollowUpPages();
    }

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/incidents", List).RequireAuthorization(Policies.Viewer);
        web.MapGet("/incidents/new", async (HttpContext http, string? service, string? title, string? query, string? target, string? source) =>
            await NewForm(new PageContext(http), null, DeclarePrefill.From(http.RequestServices.GetRequiredService<IServiceCatalog>(), service, title, query, target, source)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/new", Declare).RequireAuthorization(Policies.Responder);
        web.MapGet("/incidents/{id:long}", async (long id, HttpContext http, IncidentService s, string? tab) => await Show(new PageContext(http), s, id, null, tab: tab))
            .RequireAuthorization(Policies.Viewer);
        IncidentLive.Map(web);
        IncidentResolvePage.Map(web);

        web.MapPost("/incidents/{id:long}/status", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "status", f, "header", () => s.TransitionAsync(id, Field(f, "status"), Field(f, "message"), Version(f), u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/acknowledge", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "ack", f, "header", () => s.AcknowledgeAsync(id, Version(f), u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/roles", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "roles", f, "header", async () =>
            {
                var current = (await s.GetAsync(id, http.RequestAborted))?.Roles;
                if (CheckPeople(await ActiveUsers(http), f, current, "commander", "communications_lead", "scribe").FirstOrDefault() is { } bad) throw bad;
                return await s.AssignAsync(id, new AssignRequest(f["commander"], f["communications_lead"], f["scribe"]), Version(f), u.Actor(), http.RequestAborted);
            }))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/edit", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "edit", f, "header", () => s.UpdateAsync(id, new UpdateIncidentRequest(Field(f, "title"), Field(f, "severity"), f["summary"],
                f["users_affected"], ServiceList(f["services_affected"]), f["business_impact"], Field(f, "kind")), Version(f), u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/notes", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "note", f, "timeline", () => s.AddNoteAsync(id, f["text"], u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/status-updates", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "update", f, "updates", () => s.PostStatusUpdateAsync(id,
                new StatusUpdateRequest(f["current_status"], Field(f, "visibility"), Field(f, "next_update_in"), Field(f, "status")), null, u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/checklist/{itemId:long}", (long id, long itemId, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "checklist", f, "item-" + itemId.ToString(CultureInfo.InvariantCulture),
                () => s.CheckItemAsync(id, itemId, !string.Equals(f["done"], "false", StringComparison.OrdinalIgnoreCase), u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/postmortem", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "postmortem", f, "postmortem", () => s.SavePostmortemAsync(id,
                new PostmortemRequest(f["summary"], f["impact"], f["root_cause"], f["lessons_learned"]), u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/action-items", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "action", f, "actions", async () =>
            {
                var errors = new List<ValidationException>();
                if (string.IsNullOrWhiteSpace(f["title"])) errors.Add(new ValidationException("title", "is required"));
                if (Field(f, "owner") is null) errors.Add(new ValidationException("owner", "is required: choose a user"));
                else errors.AddRange(CheckPeople(await ActiveUsers(http), f, null, "owner"));
                DateTimeOffset? due = null;
                try { due = DueDate(f["due_at"]); }
                catch (ValidationException ex) { errors.Add(ex); }
                if (errors.Count > 0) throw new FormErrors(errors);
                return await s.AddActionItemAsync(id, new ActionItemRequest(f["title"], f["owner"], due, Field(f, "status")), u.Actor(), http.RequestAborted);
            }))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/action-items/{itemId:long}", (long id, long itemId, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "action-" + itemId.ToString(CultureInfo.InvariantCulture), f, "actions",
                () => s.UpdateActionItemAsync(id, itemId, new ActionItemRequest(null, null, null, Field(f, "status")), u.Actor(), http.RequestAborted)))
            .RequireAuthorization(Policies.Responder);
    }

    // ------------------------------------------------------------------ form helpers

    private static string? Field(IFormCollection f, string name) =>
        f.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v.ToString()) ? v.ToString().Trim() : null;

    private static long? Version(IFormCollection f) =>
        long.TryParse(f["version"], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static List<string> ServiceList(string? s) =>
        (s ?? "").Split([',', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static DateTimeOffset? DueDate(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (DateOnly.TryParseExact(s.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(new TimeOnly(23, 59, 59)), TimeSpan.Zero);
        throw new ValidationException("due_at", $"'{s}' is not a date (use YYYY-MM-DD)");
    }

    /// <summary>
    /// Runs a change. A plain form post goes back to the incident page on the form's tab at the changed section, or shows
    /// the page with the message on a domain error. A post from the page's script (<see cref="IncidentLive.IsFetch"/>)
    /// gets 204 on success (the script then swaps in the live parts) or the problem details of the error.
    /// </summary>
    private static async Task<IResult> Act<T>(HttpContext http, IncidentService s, long id, string form, IFormCollection f, string anchor, Func<Task<T>> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            if (IncidentLive.IsFetch(http.Request)) throw;
            return await Show(new PageContext(http), s, id, FormError.From(ex, form, f), StatusFor(ex));
        }
        if (IncidentLive.IsFetch(http.Request)) return Results.NoContent();
        return Results.Redirect($"/incidents/{id}?tab={IncidentTabs.ForForm(form)}#{anchor}");
    }

    // ------------------------------------------------------------------ list

    private static async Task<IResult> List(HttpContext http, IncidentService s, string? status, string? severity, string? kind, string? from, string? to, string? q,
        long? cursor, int? page, int? limit)
    {
        var ctx = new PageContext(http);
        // With no filter at all the list shows what needs attention: open incidents.
        var st = http.Request.Query.ContainsKey("status") ? status ?? "" : "open";
        var size = Math.Clamp(limit ?? PageSize, 1, 200);
        var pageNo = Math.Max(1, page ?? 1);
        string? error = null;
        IncidentPage? result = null;
        try
        {
            result = await s.ListAsync(st, severity, kind, DayStart(from, "from", false), DayStart(to, "to", true), q, size, cursor, http.RequestAborted);
        }
        catch (ValidationException ex)
        {
            error = ErrorMessage(ex);
        }

        return Pages.Render<IncidentListPage>(error is null ? 200 : 400, new()
        {
            [nameof(IncidentListPage.Ctx)] = ctx,
            [nameof(IncidentListPage.Result)] = result,
            [nameof(IncidentListPage.Error)] = error,
            [nameof(IncidentListPage.Status)] = st,
            [nameof(IncidentListPage.Severity)] = severity,
            [nameof(IncidentListPage.Kind)] = kind,
            [nameof(IncidentListPage.From)] = from,
            [nameof(IncidentListPage.To)] = to,
            [nameof(IncidentListPage.Q)] = q,
            [nameof(IncidentListPage.Cursor)] = cursor,
            [nameof(IncidentListPage.PageNo)] = pageNo,
            [nameof(IncidentListPage.Limit)] = limit is null ? null : size,
        });
    }

    /// <summary>A date field as the start of that UTC day (or of the next day for an inclusive end); full timestamps pass through.</summary>
    private static DateTimeOffset? DayStart(string? s, string field, bool inclusiveEnd)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (DateOnly.TryParseExact(s.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(inclusiveEnd ? 1 : 0);
        return IncidentsModule.ParseTime(s, field);
    }

    // ------------------------------------------------------------------ declare

    private static async Task<IResult> NewForm(PageContext ctx, FormError? err, DeclarePrefill? prefill = null, int status = 200) =>
        Pages.Render<DeclarePage>(status, new()
        {
            [nameof(DeclarePage.Ctx)] = ctx,
            [nameof(DeclarePage.Err)] = err,
            [nameof(DeclarePage.People)] = await ActiveUsers(ctx.Http),
            [nameof(DeclarePage.Prefill)] = prefill ?? DeclarePrefill.None,
        });

    /// <summary>The names of the active (not disabled) users: the people roles are chosen from.</summary>
    public static async Task<IReadOnlyList<string>> ActiveUsers(HttpContext http) =>
        (await http.RequestServices.GetRequiredService<Users>().ListAsync(http.RequestAborted)).Where(u => !u.Disabled).Select(u => u.Username).ToList();

    /// <summary>The role fields of a form must name active users (the page offers only those); a stale value kept unchanged passes.</summary>
    private static IEnumerable<ValidationException> CheckPeople(IReadOnlyList<string> people, IFormCollection f, IncidentRoles? current, params string[] fields)
    {
        foreach (var field in fields)
        {
            var v = Field(f, field);
            if (v is null || people.Contains(v, StringComparer.Ordinal)) continue;
            var unchanged = current is not null && v == field switch { "commander" => current.Commander, "communications_lead" => current.CommunicationsLead, _ => current.Scribe };
            if (!unchanged) yield return new ValidationException(field, $"'{v}' is not an active user; choose one from the list");
        }
    }

    private static async Task<IResult> Declare(HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal user)
    {
        try
        {
            var req = new CreateIncidentRequest(f["title"], Field(f, "kind"), Field(f, "severity"), f["summary"], Field(f, "users_affected"),
                ServiceList(f["services_affected"]), Field(f, "business_impact"), Field(f, "detection_source"), Field(f, "commander"),
                Field(f, "communications_lead"), Field(f, "scribe"), null);
            var errors = s.CheckCreate(req).Concat(CheckPeople(await ActiveUsers(http), f, null, "commander", "communications_lead", "scribe")).ToList();
            if (errors.Count > 0) return await NewForm(new PageContext(http), FormError.FromAll(errors, "declare", f), status: 400);
            var v = await s.CreateAsync(req, user.Actor(), http.RequestAborted);
            return Results.Redirect($"/incidents/{v.Id}");
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await NewForm(new PageContext(http), FormError.From(ex, "declare", f), status: StatusFor(ex));
        }
    }

    // ------------------------------------------------------------------ incident page

    /// <summary>Reads everything the incident page shows; null when there is no such incident.</summary>
    public static async Task<IncidentPageModel?> Load(PageContext ctx, IncidentService s, long id, FormError? err)
    {
        var ct = ctx.Http.RequestAborted;
        var i = await s.GetAsync(id, ct);
        if (i is null) return null;
        return new IncidentPageModel(ctx, i, await s.StatusUpdatesAsync(id, null, ct), await s.ChecklistAsync(id, ct), await s.PostmortemAsync(id, ct),
            await s.BreachesAsync(id, ct), await ActiveUsers(ctx.Http), err);
    }

    public static async Task<IResult> Show(PageContext ctx, IncidentService s, long id, FormError? err, int status = 200, string? tab = null)
    {
        var m = await Load(ctx, s, id, err);
        if (m is null) return ErrorPages.Page(ctx.Http, 404, $"Incident {id} not found.", heading: $"Incident {id} not found");
        return Pages.Render<IncidentDetailPage>(status, new()
        {
            [nameof(IncidentDetailPage.Model)] = m,
            [nameof(IncidentDetailPage.Tab)] = err is not null ? IncidentTabs.ForForm(err.Form) : IncidentTabs.Of(tab),
        });
    }
}

/// <summary>What a link to the declare form fills in: from a down target (service and instance) or a query (its expression, linked).</summary>
public sealed record DeclarePrefill(string? Title, string? Summary, IReadOnlyList<string> Services, string? Source)
{
    public static readonly DeclarePrefill None = new(null, null, [], null);

    /// <summary>The declare form's link for a query: the expression, and the service its first <c>job="..."</c> matcher names.</summary>
    public static string LinkForQuery(string expr)
    {
        var m = System.Text.RegularExpressions.Regex.Match(expr, "job\\s*=~?\\s*\"([a-zA-Z0-9_.:-]{1,100})\"");
        return "/incidents/new?query=" + Uri.EscapeDataString(expr) + (m.Success ? "&service=" + Uri.EscapeDataString(m.Groups[1].Value) : "");
    }

    public static DeclarePrefill From(IServiceCatalog catalog, string? service, string? title, string? query, string? target, string? source)
    {
        static string? Clip(string? s, int max) => string.IsNullOrWhiteSpace(s) ? null : s.Trim().Length > max ? s.Trim()[..max] : s.Trim();
        service = Clip(service, 100);
        query = Clip(query, 2000);
        target = Clip(target, 300);
        // A job label names the service too (the targets page links by job).
        var svc = service is null ? null : catalog.Find(service) ?? catalog.ForJob(service);
        var services = svc is not null ? new[] { svc.Name } : service is not null && catalog.All.Count == 0 ? [service] : [];
        var summary = new System.Text.StringBuilder();
        if (target is not null) summary.Append("Target `").Append(target.Replace("`", "'", StringComparison.Ordinal)).Append("` of ").Append(svc?.Title ?? service ?? "a job").Append(" is down.\n");
        if (query is not null)
            summary.Append("Declared from the query [").Append(query.Replace("]", "\\]", StringComparison.Ordinal)).Append("](/query?expr=").Append(Uri.EscapeDataString(query)).Append(").\n");
        var t = Clip(title, 200) ?? (target is not null ? $"{svc?.Title ?? service} target {target} is down" : null);
        return new(t, summary.Length == 0 ? null : summary.ToString().TrimEnd(), services, Clip(source, 20) ?? (target is not null || query is not null ? "automated" : null));
    }
}
