using System.Globalization;
using System.Security.Claims;
using System.Text;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Web;

/// <summary>A domain error shown on a page, with the posted form so it can be shown again with the values kept.</summary>
public sealed record FormError(string Message, string? Field, string Form, IFormCollection? Values)
{
    public static FormError From(Exception ex, string form, IFormCollection? values) =>
        new(ErrorMessage(ex), ex is ValidationException v ? v.Field : null, form, values);

    /// <summary>The posted value of a field of this form, or the fallback when another form was posted.</summary>
    public string? Value(string form, string name, string? fallback) =>
        form == Form && Values is not null && Values.TryGetValue(name, out var v) ? v.ToString() : fallback;

    public string Invalid(string form, string field) =>
        form == Form && Field is not null && (Field == field || Field.StartsWith(field + "[", StringComparison.Ordinal)) ? " aria-invalid=\"true\"" : "";
}

/// <summary>Incident list, declare form, incident page and its actions.</summary>
public static class IncidentPages
{
    private const int PageSize = 25;

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/incidents", List).RequireAuthorization(Policies.Viewer);
        web.MapGet("/incidents/new", (HttpContext http) => NewForm(new PageContext(http), null)).RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/new", Declare).RequireAuthorization(Policies.Responder);
        web.MapGet("/incidents/{id:long}", async (long id, HttpContext http, IncidentService s) => await Show(new PageContext(http), s, id, null))
            .RequireAuthorization(Policies.Viewer);

        web.MapPost("/incidents/{id:long}/status", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "status", f, "header", () => s.TransitionAsync(id, Field(f, "status"), Field(f, "message"), Version(f), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/acknowledge", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "ack", f, "header", () => s.AcknowledgeAsync(id, Version(f), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/roles", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "roles", f, "header", () => s.AssignAsync(id, new AssignRequest(f["commander"], f["communications_lead"], f["scribe"]), Version(f), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/edit", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "edit", f, "header", () => s.UpdateAsync(id, new UpdateIncidentRequest(Field(f, "title"), Field(f, "severity"), f["summary"],
                f["users_affected"], ServiceList(f["services_affected"]), f["business_impact"], Field(f, "kind")), Version(f), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/notes", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "note", f, "timeline", () => s.AddNoteAsync(id, f["text"], u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/status-updates", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "update", f, "updates", () => s.PostStatusUpdateAsync(id,
                new StatusUpdateRequest(f["current_status"], Field(f, "visibility"), Field(f, "next_update_in"), Field(f, "status")), null, u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/checklist/{itemId:long}", (long id, long itemId, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "checklist", f, "item-" + itemId.ToString(CultureInfo.InvariantCulture),
                () => s.CheckItemAsync(id, itemId, !string.Equals(f["done"], "false", StringComparison.OrdinalIgnoreCase), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/postmortem", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "postmortem", f, "postmortem", () => s.SavePostmortemAsync(id,
                new PostmortemRequest(f["summary"], f["impact"], f["root_cause"], f["lessons_learned"]), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/action-items", (long id, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "action", f, "actions", () => s.AddActionItemAsync(id, new ActionItemRequest(f["title"], f["owner"], DueDate(f["due_at"]), Field(f, "status")), u.Actor())))
            .RequireAuthorization(Policies.Responder);
        web.MapPost("/incidents/{id:long}/action-items/{itemId:long}", (long id, long itemId, HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal u) =>
            Act(http, s, id, "action-" + itemId.ToString(CultureInfo.InvariantCulture), f, "actions",
                () => s.UpdateActionItemAsync(id, itemId, new ActionItemRequest(null, null, null, Field(f, "status")), u.Actor())))
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

    /// <summary>Runs a change; on success goes back to the incident page at the changed section, on a domain error shows the page with the message.</summary>
    private static async Task<IResult> Act<T>(HttpContext http, IncidentService s, long id, string form, IFormCollection f, string anchor, Func<Task<T>> action)
    {
        try
        {
            await action();
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return await Show(new PageContext(http), s, id, FormError.From(ex, form, f), StatusFor(ex));
        }
        return Results.Redirect($"/incidents/{id}#{anchor}");
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
            result = await s.ListAsync(st, severity, kind, DayStart(from, "from", false), DayStart(to, "to", true), q, size, cursor);
        }
        catch (ValidationException ex)
        {
            error = ErrorMessage(ex);
        }

        var sb = new StringBuilder();
        sb.Append("<div class=\"head\"><h1>Incidents</h1>");
        if (ctx.CanWrite) sb.Append("<a class=\"button\" href=\"/incidents/new\">Declare incident</a>");
        sb.Append("</div>");

        sb.Append("<form class=\"panel filters\" method=\"get\" action=\"/incidents\" role=\"search\">");
        sb.Append("<div class=\"field\"><label for=\"f-status\">Status</label><select id=\"f-status\" name=\"status\">")
            .Append(Options([("open", "Open (not resolved)"), ("", "All"), .. IncidentStatus.All.Select(x => (x, IncidentStatus.Title(x)))], st))
            .Append("</select></div>");
        sb.Append("<div class=\"field\"><label for=\"f-severity\">Severity</label><select id=\"f-severity\" name=\"severity\">")
            .Append(Options([("", "Any"), .. ctx.Config.Severities.Select(x => (x.Id, $"{x.Id} · {x.Name}"))], severity))
            .Append("</select></div>");
        sb.Append("<div class=\"field\"><label for=\"f-kind\">Kind</label><select id=\"f-kind\" name=\"kind\">")
            .Append(Options([("", "Any"), .. IncidentKind.All.Select(x => (x, IncidentStatus.Title(x)))], kind))
            .Append("</select></div>");
        sb.Append($"<div class=\"field\"><label for=\"f-from\">Detected from</label><input type=\"date\" id=\"f-from\" name=\"from\" value=\"{E(from)}\"></div>");
        sb.Append($"<div class=\"field\"><label for=\"f-to\">to</label><input type=\"date\" id=\"f-to\" name=\"to\" value=\"{E(to)}\"></div>");
        sb.Append($"<div class=\"field\"><label for=\"f-q\">Title contains</label><input type=\"text\" id=\"f-q\" name=\"q\" value=\"{E(q)}\" placeholder=\"search\"></div>");
        sb.Append("<button type=\"submit\">Filter</button> <a href=\"/incidents?status=\">All incidents</a></form>");

        if (result is not null)
        {
            sb.Append(cursor is null ? "<div class=\"panel\" data-autorefresh=\"60\">" : "<div class=\"panel\">");
            sb.Append($"<p class=\"muted small\" id=\"count\">{result.Total} incident{(result.Total == 1 ? "" : "s")} match · page {pageNo}</p>");
            if (result.Items.Count == 0)
            {
                sb.Append("<p>No incidents match these filters.</p>");
            }
            else
            {
                sb.Append("<table class=\"incidents\"><thead><tr><th>#</th><th>Sev</th><th>Title</th><th>Status</th><th>Kind</th><th>Commander</th><th>Detected</th><th>Duration</th><th>SLA</th></tr></thead><tbody>");
                foreach (var i in result.Items)
                {
                    var end = i.ResolvedAt ?? ctx.Now;
                    sb.Append($"<tr data-id=\"{i.Id}\"><td class=\"num\">{i.Id}</td><td>{SeverityBadge(i.Severity)}</td>");
                    sb.Append($"<td><a href=\"/incidents/{i.Id}\">{E(i.Title)}</a></td><td>{StatusBadge(i.Status)}</td><td>{KindLabel(i.Kind)}</td>");
                    sb.Append($"<td>{E(i.Roles.Commander ?? "–")}</td><td class=\"nowrap\">{TimeTag(i.DetectedAt)}</td><td class=\"nowrap\">{Span(end - i.DetectedAt)}</td><td>");
                    if (i.AcknowledgedAt is null && i.ResolvedAt is null) sb.Append("<span class=\"flag warn\">unacknowledged</span> ");
                    if (i.ResponseSla.Breached) sb.Append("<span class=\"flag bad\">response breached</span> ");
                    if (i.ResolutionSla.Breached) sb.Append("<span class=\"flag bad\">resolution breached</span> ");
                    if (i.StatusUpdateOverdue) sb.Append("<span class=\"flag warn\">update overdue</span> ");
                    if (i.AcknowledgedAt is not null && !i.ResponseSla.Breached && !i.ResolutionSla.Breached && !i.StatusUpdateOverdue) sb.Append(i.ResolvedAt is null ? "<span class=\"muted\">on track</span>" : "<span class=\"flag ok\">met</span>");
                    sb.Append("</td></tr>");
                }
                sb.Append("</tbody></table>");
            }
            sb.Append("<div class=\"pager\">");
            var baseQuery = $"status={Url(st)}&severity={Url(severity)}&kind={Url(kind)}&from={Url(from)}&to={Url(to)}&q={Url(q)}" + (limit is null ? "" : $"&limit={size}");
            if (cursor is not null) sb.Append($"<a href=\"/incidents?{baseQuery}\">« First page</a>");
            if (result.NextCursor is { } next) sb.Append($"<a href=\"/incidents?{baseQuery}&cursor={next}&page={pageNo + 1}\" rel=\"next\">Next page »</a>");
            sb.Append("</div></div>");
        }
        return Page(ctx, "Incidents", "incidents", sb.ToString(), error is null ? 200 : 400, error);
    }

    private static string KindLabel(string kind) =>
        kind == IncidentKind.Security ? "<span class=\"flag bad\">security</span>" : E(IncidentStatus.Title(kind));

    /// <summary>A date field as the start of that UTC day (or of the next day for an inclusive end); full timestamps pass through.</summary>
    private static DateTimeOffset? DayStart(string? s, string field, bool inclusiveEnd)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (DateOnly.TryParseExact(s.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(inclusiveEnd ? 1 : 0);
        return IncidentsModule.ParseTime(s, field);
    }

    // ------------------------------------------------------------------ declare

    private static IResult NewForm(PageContext ctx, FormError? err, int status = 200)
    {
        const string F = "declare";
        string? V(string name, string? fallback = null) => err is null ? fallback : err.Value(F, name, fallback);
        string Inv(string name) => err?.Invalid(F, name) ?? "";
        string FieldErr(string name) => err is not null && err.Invalid(F, name).Length > 0 ? $"<div class=\"field-error\" id=\"{name}-error\">{E(err.Message)}</div>" : "";

        var sevs = ctx.Config.Severities;
        var chosen = V("severity", null);
        var sb = new StringBuilder();
        sb.Append("<h1>Declare an incident</h1>");
        sb.Append(ctx.FormStart("/incidents/new", "panel", "declare"));
        sb.Append($"<div class=\"field\"><label for=\"title\">Title</label><input type=\"text\" id=\"title\" name=\"title\" class=\"wide\" maxlength=\"200\" value=\"{E(V("title"))}\"{Inv("title")} placeholder=\"What is broken, in one line\">{FieldErr("title")}</div>");

        sb.Append("<div class=\"field\"><label>Kind</label><div class=\"actions\">");
        var kind = V("kind", IncidentKind.Operational);
        foreach (var k in IncidentKind.All)
            sb.Append($"<label class=\"check\"><input type=\"radio\" name=\"kind\" value=\"{k}\"{Checked(kind == k)}{Inv("kind")}> {IncidentStatus.Title(k)}</label>");
        sb.Append($"</div>{FieldErr("kind")}</div>");

        sb.Append("<fieldset class=\"field\" style=\"border:0;padding:0;margin:0 0 .7rem\"><legend><label>Severity <span class=\"hint\">(operations manual 2.1)</span></label></legend><div class=\"sevpick\">");
        foreach (var sv in sevs)
        {
            sb.Append($"<label><input type=\"radio\" name=\"severity\" value=\"{E(sv.Id)}\" data-users=\"{E(sv.UsersAffected)}\" data-business=\"{E(sv.BusinessImpact)}\"{Checked(string.Equals(chosen, sv.Id, StringComparison.OrdinalIgnoreCase))}{Inv("severity")}> ");
            sb.Append($"{SeverityBadge(sv.Id)} <b>{E(IncidentStatus.Title(sv.Name))}</b>");
            sb.Append($"<span class=\"desc\">{E(sv.Impact)}. Users: {E(sv.UsersAffected)}. {E(sv.BusinessImpact)}.<br>Response {E(sv.ResponseTarget.ToLowerInvariant())}; resolution {E(sv.ResolutionTarget.ToLowerInvariant())}.</span></label>");
        }
        sb.Append($"</div>{FieldErr("severity")}</fieldset>");

        sb.Append($"<div class=\"field\"><label for=\"summary\">Summary</label><textarea id=\"summary\" name=\"summary\"{Inv("summary")} placeholder=\"What is happening, what users see\">{E(V("summary"))}</textarea>{FieldErr("summary")}</div>");
        sb.Append("<div class=\"grid\"><div>");
        sb.Append($"<div class=\"field\"><label for=\"users_affected\">Users affected <span class=\"hint\">(blank: the severity's default)</span></label><input type=\"text\" id=\"users_affected\" name=\"users_affected\" class=\"wide\" value=\"{E(V("users_affected"))}\"{Inv("users_affected")}>{FieldErr("users_affected")}</div>");
        sb.Append($"<div class=\"field\"><label for=\"business_impact\">Business impact <span class=\"hint\">(blank: the severity's default)</span></label><input type=\"text\" id=\"business_impact\" name=\"business_impact\" class=\"wide\" value=\"{E(V("business_impact"))}\"{Inv("business_impact")}>{FieldErr("business_impact")}</div>");
        sb.Append($"<div class=\"field\"><label for=\"services_affected\">Services affected <span class=\"hint\">(comma separated)</span></label><input type=\"text\" id=\"services_affected\" name=\"services_affected\" class=\"wide\" value=\"{E(V("services_affected"))}\"{Inv("services_affected")} placeholder=\"api, policy-engine\">{FieldErr("services_affected")}</div>");
        sb.Append("</div><div>");
        sb.Append("<div class=\"field\"><label for=\"detection_source\">Detection source</label><select id=\"detection_source\" name=\"detection_source\"")
            .Append(Inv("detection_source")).Append('>')
            .Append(Options(DetectionSource.All.Select(x => (x, IncidentStatus.Title(x))), V("detection_source", "manual")))
            .Append($"</select>{FieldErr("detection_source")}</div>");
        sb.Append($"<div class=\"field\"><label for=\"commander\">Incident commander</label><input type=\"text\" id=\"commander\" name=\"commander\" value=\"{E(V("commander", ctx.UserName))}\"{Inv("commander")}>{FieldErr("commander")}</div>");
        sb.Append($"<div class=\"field\"><label for=\"communications_lead\">Communications lead <span class=\"hint\">(optional)</span></label><input type=\"text\" id=\"communications_lead\" name=\"communications_lead\" value=\"{E(V("communications_lead"))}\"{Inv("communications_lead")}>{FieldErr("communications_lead")}</div>");
        sb.Append($"<div class=\"field\"><label for=\"scribe\">Scribe <span class=\"hint\">(optional)</span></label><input type=\"text\" id=\"scribe\" name=\"scribe\" value=\"{E(V("scribe"))}\"{Inv("scribe")}>{FieldErr("scribe")}</div>");
        sb.Append("</div></div>");
        sb.Append("<button type=\"submit\">Declare incident</button> <a href=\"/incidents\">Cancel</a></form>");
        return Page(ctx, "Declare incident", "new", sb.ToString(), status, err?.Message);
    }

    private static async Task<IResult> Declare(HttpContext http, IFormCollection f, IncidentService s, ClaimsPrincipal user)
    {
        try
        {
            var req = new CreateIncidentRequest(f["title"], Field(f, "kind"), Field(f, "severity"), f["summary"], Field(f, "users_affected"),
                ServiceList(f["services_affected"]), Field(f, "business_impact"), Field(f, "detection_source"), Field(f, "commander"),
                Field(f, "communications_lead"), Field(f, "scribe"), null);
            var v = await s.CreateAsync(req, user.Actor());
            return Results.Redirect($"/incidents/{v.Id}");
        }
        catch (Exception ex) when (IsDomainError(ex))
        {
            return NewForm(new PageContext(http), FormError.From(ex, "declare", f), StatusFor(ex));
        }
    }

    // ------------------------------------------------------------------ incident page

    public static async Task<IResult> Show(PageContext ctx, IncidentService s, long id, FormError? err, int status = 200)
    {
        var i = await s.GetAsync(id);
        if (i is null) return Page(ctx, "Not found", "incidents", $"<h1>Incident {id} not found</h1><p><a href=\"/incidents\">Back to incidents</a></p>", 404);
        var updates = await s.StatusUpdatesAsync(id, null);
        var checklist = await s.ChecklistAsync(id);
        var pm = await s.PostmortemAsync(id);
        var breaches = await s.BreachesAsync(id);
        var sb = new StringBuilder(32_768);

        Header(sb, ctx, i, breaches, err);
        sb.Append("<div class=\"grid\"><div>");
        StatusUpdates(sb, ctx, i, updates, err);
        Timeline(sb, ctx, i, pm.Timeline, err);
        sb.Append("</div><div>");
        Checklist(sb, ctx, i, checklist);
        ActionItems(sb, ctx, i, pm.ActionItems, err);
        sb.Append("</div></div>");
        Postmortem(sb, ctx, i, pm, err);
        return Page(ctx, $"#{i.Id} {i.Title}", "incidents", sb.ToString(), status, err?.Message);
    }

    private static void Header(StringBuilder sb, PageContext ctx, IncidentView i, IReadOnlyList<SlaBreachView> breaches, FormError? err)
    {
        var sev = ctx.Config.Severity(i.Severity);
        sb.Append($"<div class=\"changed\" id=\"changed\" role=\"status\" hidden>This incident was changed by someone else. <a href=\"/incidents/{i.Id}\">Reload to see the latest</a></div>");
        sb.Append($"<section class=\"panel\" id=\"header\" data-incident=\"{i.Id}\" data-version=\"{i.Version}\"><div class=\"head big\">");
        sb.Append($"<h1><span class=\"muted\">#{i.Id}</span> {E(i.Title)}</h1>");
        sb.Append($"<span id=\"severity\">{SeverityBadge(i.Severity)}</span> <span id=\"status\">{StatusBadge(i.Status)}</span></div>");
        sb.Append("<div class=\"facts\">");
        Fact(sb, "Commander", i.Roles.Commander is null ? "<span class=\"flag warn\">unassigned</span>" : E(i.Roles.Commander), "commander");
        Fact(sb, "Communications lead", E(i.Roles.CommunicationsLead ?? "–"), "comms");
        Fact(sb, "Scribe", E(i.Roles.Scribe ?? "–"), "scribe");
        Fact(sb, "Kind", KindLabel(i.Kind), "kind");
        Fact(sb, "Detected", $"{TimeTag(i.DetectedAt)} via {E(i.DetectionSource)}", "detected");
        Fact(sb, "Acknowledged", i.AcknowledgedAt is { } a ? TimeTag(a) : "<span class=\"flag bad\">not yet</span>", "acknowledged");
        Fact(sb, "Resolved", i.ResolvedAt is { } r ? TimeTag(r) : "–", "resolved");
        Fact(sb, "Declared by", E(i.CreatedBy), "created-by");
        sb.Append("</div>");
        if (i.Summary.Length > 0) sb.Append($"<p id=\"summary\">{E(i.Summary)}</p>");
        sb.Append($"<p class=\"small\"><b>Impact:</b> users affected: {E(i.Impact.UsersAffected)} · services: {E(i.Impact.ServicesAffected.Count == 0 ? "none identified yet" : string.Join(", ", i.Impact.ServicesAffected))} · business: {E(i.Impact.BusinessImpact)}");
        if (sev is not null) sb.Append($" · <span class=\"muted\">{E(sev.Id)} escalation: {E(string.Join(" → ", sev.Escalation))}</span>");
        sb.Append("</p>");

        sb.Append("<div class=\"clocks\" id=\"sla\">");
        Clock(sb, ctx, "Response", i.ResponseSla, "acknowledged");
        Clock(sb, ctx, "Resolution", i.ResolutionSla, "resolved");
        sb.Append("</div>");
        if (breaches.Count > 0)
            sb.Append("<p class=\"small\">").Append(string.Join(" ", breaches.Select(b => $"<span class=\"flag bad\">{E(b.Kind)} SLA breached {Time(b.BreachedAt)}</span>"))).Append("</p>");

        if (ctx.CanWrite)
        {
            sb.Append("<h3>Actions</h3><div class=\"actions\" id=\"transitions\">");
            if (i.AcknowledgedAt is null)
                sb.Append(ctx.FormStart($"/incidents/{i.Id}/acknowledge", "inline")).Append($"<input type=\"hidden\" name=\"version\" value=\"{i.Version}\"><button type=\"submit\" class=\"danger\">Acknowledge</button></form>");
            foreach (var t in i.AllowedTransitions)
            {
                var label = t == IncidentStatus.Resolved ? "Resolve" : i.Status == IncidentStatus.Resolved ? "Reopen" : $"Move to {IncidentStatus.Title(t)}";
                sb.Append(ctx.FormStart($"/incidents/{i.Id}/status", "inline"))
                    .Append($"<input type=\"hidden\" name=\"version\" value=\"{i.Version}\"><input type=\"hidden\" name=\"status\" value=\"{t}\">")
                    .Append($"<button type=\"submit\" class=\"go-{t}\" data-status=\"{t}\">{E(label)}</button></form>");
            }
            sb.Append("</div>");
            sb.Append($"<details{(err?.Form is "roles" or "edit" or "status" ? " open" : "")}><summary>Assign roles, change severity or details</summary><div class=\"grid\" style=\"margin-top:.6rem\"><div>");
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/roles", null, "roles-form")).Append($"<input type=\"hidden\" name=\"version\" value=\"{i.Version}\">");
            RoleInput(sb, err, "commander", "Incident commander", i.Roles.Commander);
            RoleInput(sb, err, "communications_lead", "Communications lead", i.Roles.CommunicationsLead);
            RoleInput(sb, err, "scribe", "Scribe", i.Roles.Scribe);
            sb.Append("<button type=\"submit\">Save roles</button> <span class=\"hint muted small\">Clear a field to unassign.</span></form>");
            sb.Append("<h3>Status change with a message</h3>");
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/status", "row")).Append($"<input type=\"hidden\" name=\"version\" value=\"{i.Version}\">");
            sb.Append("<div><label for=\"tr-status\">New status</label><select id=\"tr-status\" name=\"status\">")
                .Append(Options(IncidentStatus.All.Select(x => (x, IncidentStatus.Title(x) + (x == i.Status ? " (current)" : i.AllowedTransitions.Contains(x) ? "" : " (not allowed now)"))),
                    err?.Value("status", "status", null) ?? (i.AllowedTransitions.Count > 0 ? i.AllowedTransitions[0] : null)))
                .Append("</select></div>");
            sb.Append($"<div style=\"flex:1\"><label for=\"tr-message\">Message</label><input type=\"text\" id=\"tr-message\" name=\"message\" class=\"wide\" value=\"{E(err?.Value("status", "message", null))}\"></div>");
            sb.Append("<button type=\"submit\">Change status</button></form>");
            sb.Append("</div><div>");
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/edit", null, "edit-form")).Append($"<input type=\"hidden\" name=\"version\" value=\"{i.Version}\">");
            sb.Append($"<div class=\"field\"><label for=\"e-title\">Title</label><input type=\"text\" id=\"e-title\" name=\"title\" class=\"wide\" value=\"{E(err?.Value("edit", "title", i.Title) ?? i.Title)}\"{err?.Invalid("edit", "title")}></div>");
            sb.Append("<div class=\"field\"><label for=\"e-severity\">Severity</label><select id=\"e-severity\" name=\"severity\">")
                .Append(Options(ctx.Config.Severities.Select(x => (x.Id, $"{x.Id} · {x.Name} (response {x.ResponseTime}, resolution {x.ResolutionTime})")), err?.Value("edit", "severity", i.Severity) ?? i.Severity))
                .Append("</select></div>");
            sb.Append($"<div class=\"field\"><label for=\"e-summary\">Summary</label><textarea id=\"e-summary\" name=\"summary\">{E(err?.Value("edit", "summary", i.Summary) ?? i.Summary)}</textarea></div>");
            sb.Append($"<div class=\"field\"><label for=\"e-users\">Users affected</label><input type=\"text\" id=\"e-users\" name=\"users_affected\" class=\"wide\" value=\"{E(err?.Value("edit", "users_affected", i.Impact.UsersAffected) ?? i.Impact.UsersAffected)}\"{err?.Invalid("edit", "users_affected")}></div>");
            var services = string.Join(", ", i.Impact.ServicesAffected);
            sb.Append($"<div class=\"field\"><label for=\"e-services\">Services affected</label><input type=\"text\" id=\"e-services\" name=\"services_affected\" class=\"wide\" value=\"{E(err?.Value("edit", "services_affected", services) ?? services)}\"{err?.Invalid("edit", "services_affected")}></div>");
            sb.Append($"<div class=\"field\"><label for=\"e-business\">Business impact</label><input type=\"text\" id=\"e-business\" name=\"business_impact\" class=\"wide\" value=\"{E(err?.Value("edit", "business_impact", i.Impact.BusinessImpact) ?? i.Impact.BusinessImpact)}\"{err?.Invalid("edit", "business_impact")}></div>");
            sb.Append("<button type=\"submit\">Save details</button></form>");
            sb.Append("</div></div></details>");
        }
        sb.Append("</section>");
    }

    private static void RoleInput(StringBuilder sb, FormError? err, string name, string label, string? current) =>
        sb.Append($"<div class=\"field\"><label for=\"r-{name}\">{label}</label><input type=\"text\" id=\"r-{name}\" name=\"{name}\" value=\"{E(err?.Value("roles", name, current) ?? current)}\"{err?.Invalid("roles", name)}></div>");

    private static void Fact(StringBuilder sb, string label, string html, string id) =>
        sb.Append($"<div id=\"fact-{id}\"><b>{label}</b>{html}</div>");

    private static void Clock(StringBuilder sb, PageContext ctx, string label, SlaClock c, string stopVerb)
    {
        string cls, big, detail;
        var target = Span(c.TargetSeconds);
        if (c.MetAt is { } met)
        {
            cls = c.Breached ? "breached" : "met";
            big = c.Breached ? $"Missed by {Span(met - c.DueAt)}" : $"Met in {Span(c.ElapsedSeconds)}";
            detail = $"{stopVerb} {Time(met)} · target {target} · due {Time(c.DueAt)}";
        }
        else if (c.Breached)
        {
            cls = "breached";
            big = $"BREACHED {Span(ctx.Now - c.DueAt)} ago";
            detail = $"target {target} · was due {Time(c.DueAt)}";
        }
        else
        {
            cls = c.RemainingSeconds < c.TargetSeconds / 4 ? "soon" : "running";
            big = $"{Span(c.RemainingSeconds)} left";
            detail = $"target {target} · due {Time(c.DueAt)}";
        }
        sb.Append($"<div class=\"clock {cls}\" id=\"sla-{c.Kind}\"><div class=\"small muted\"><b>{label} SLA</b></div><div class=\"big\">{E(big)}</div><div class=\"small\">{E(detail)} UTC</div></div>");
    }

    private static void StatusUpdates(StringBuilder sb, PageContext ctx, IncidentView i, IReadOnlyList<StatusUpdateView> updates, FormError? err)
    {
        sb.Append("<section class=\"panel\" id=\"updates\"><h2>Status updates</h2>");
        if (i.ResolvedAt is null && i.NextUpdateDueAt is { } due)
        {
            sb.Append(i.StatusUpdateOverdue
                ? $"<p id=\"next-update\"><span class=\"flag bad\">update overdue</span> next update was due {Time(due)} UTC ({Relative(due, ctx.Now)})</p>"
                : $"<p id=\"next-update\" class=\"small\">Next update due {Time(due)} UTC ({Relative(due, ctx.Now)})</p>");
        }
        if (ctx.CanWrite)
        {
            const string F = "update";
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/status-updates", null, "update-form"));
            sb.Append($"<div class=\"field\"><label for=\"current_status\">Current status <span class=\"hint\">(goes into the manual's status update template)</span></label><textarea id=\"current_status\" name=\"current_status\"{err?.Invalid(F, "current_status")} placeholder=\"What we know, what we are doing, what changed\">{E(err?.Value(F, "current_status", null))}</textarea></div>");
            sb.Append("<div class=\"row\" style=\"display:flex;gap:.6rem;flex-wrap:wrap;align-items:flex-end\">");
            sb.Append("<div><label for=\"visibility\">Visibility</label><select id=\"visibility\" name=\"visibility\">")
                .Append(Options([("internal", "Internal"), ("public", "Public")], err?.Value(F, "visibility", "internal"))).Append("</select></div>");
            sb.Append($"<div><label for=\"next_update_in\">Next update in</label><input type=\"text\" id=\"next_update_in\" name=\"next_update_in\" size=\"8\" placeholder=\"{E(ctx.Config.Severity(i.Severity)?.UpdateInterval.ToString() ?? "1h")}\" value=\"{E(err?.Value(F, "next_update_in", null))}\"{err?.Invalid(F, "next_update_in")}></div>");
            sb.Append("<div><label for=\"su-status\">Status</label><select id=\"su-status\" name=\"status\">")
                .Append(Options([("", $"keep ({IncidentStatus.Title(i.Status)})"), .. i.AllowedTransitions.Select(x => (x, IncidentStatus.Title(x)))], err?.Value(F, "status", "")))
                .Append("</select></div>");
            sb.Append("<button type=\"submit\">Post update</button></div></form>");
        }
        if (updates.Count == 0) sb.Append("<p class=\"muted\">No status updates yet.</p>");
        var latest = true;
        foreach (var u in updates.Reverse())
        {
            sb.Append($"<div class=\"update-item\" data-update=\"{u.Id}\"><div class=\"small\"><span class=\"flag {(u.Visibility == "public" ? "info" : "warn")}\">{E(u.Visibility)}</span> ");
            sb.Append($"{TimeTag(u.At)} by <b>{E(u.Author)}</b> · {StatusBadge(u.Status)}");
            if (u.NextUpdateAt is { } n) sb.Append($" · next by {Time(n)}");
            sb.Append($"</div><p class=\"current\">{E(u.CurrentStatus)}</p>");
            sb.Append($"<details{(latest ? " open" : "")}><summary class=\"small\">Rendered update (template)</summary><div class=\"markdown\">{Markdown.ToHtml(u.Body)}</div><details><summary class=\"small\">Plain text to copy</summary><pre class=\"update\">{E(u.Body)}</pre></details></details></div>");
            latest = false;
        }
        sb.Append("</section>");
    }

    private static void Timeline(StringBuilder sb, PageContext ctx, IncidentView i, IReadOnlyList<TimelineEntry> timeline, FormError? err)
    {
        sb.Append($"<section class=\"panel\" id=\"timeline\"><h2>Timeline <span class=\"muted small\">({timeline.Count} entries, oldest first)</span></h2>");
        sb.Append("<table class=\"timeline\"><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th></th></tr></thead><tbody>");
        foreach (var t in timeline)
        {
            sb.Append($"<tr class=\"k-{E(t.Kind)}\" data-kind=\"{E(t.Kind)}\"><td class=\"when\">{TimeSec(t.At)}</td><td class=\"who\">{E(t.Author)}</td>");
            sb.Append($"<td class=\"msg\">{E(t.Message)}</td><td class=\"kind\"><span class=\"kind-tag\">{E(t.Kind.Replace('_', ' '))}</span></td></tr>");
        }
        sb.Append("</tbody></table>");
        if (ctx.CanWrite)
        {
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/notes", null, "note-form"));
            sb.Append($"<div class=\"field\" style=\"margin-top:.6rem\"><label for=\"note\">Add a note</label><textarea id=\"note\" name=\"text\"{err?.Invalid("note", "text")} placeholder=\"Findings, decisions, who is doing what\">{E(err?.Value("note", "text", null))}</textarea></div>");
            sb.Append("<button type=\"submit\">Add note</button></form>");
        }
        sb.Append("</section>");
    }

    private static void Checklist(StringBuilder sb, PageContext ctx, IncidentView i, ChecklistView cl)
    {
        sb.Append($"<section class=\"panel\" id=\"checklist\"><h2>Checklist <span class=\"muted small\" id=\"checklist-count\">{cl.Done}/{cl.Total} done");
        if (cl.Overdue > 0) sb.Append($" · <span class=\"flag bad\">{cl.Overdue} overdue</span>");
        sb.Append("</span></h2>");
        foreach (var p in cl.Phases)
        {
            var cls = p.Overdue ? "phase overdue" : p.Done == p.Total ? "phase complete" : "phase";
            sb.Append($"<div class=\"{cls}\" data-phase=\"{E(p.Key)}\"><div class=\"ph\"><span>{E(p.Title)}</span><span class=\"small\">{p.Done}/{p.Total}");
            sb.Append(p.Overdue ? $" · <span class=\"flag bad\">overdue</span> due {Time(p.DueAt)}" : $" · due {Time(p.DueAt)}");
            sb.Append("</span></div><ul>");
            foreach (var it in p.Items)
            {
                sb.Append($"<li class=\"{(it.Done ? "done" : it.Overdue ? "overdue" : "")}\" id=\"item-{it.Id}\" data-item=\"{it.Id}\">");
                if (ctx.CanWrite)
                {
                    sb.Append(ctx.FormStart($"/incidents/{i.Id}/checklist/{it.Id}", "inline"));
                    sb.Append($"<input type=\"hidden\" name=\"done\" value=\"{(it.Done ? "false" : "true")}\">");
                    sb.Append($"<label class=\"check\"><input type=\"checkbox\" data-autosubmit{Checked(it.Done)} aria-label=\"{E(it.Text)}\"> <span class=\"txt\">{E(it.Text)}</span></label>");
                    sb.Append($"<button type=\"submit\" class=\"save secondary small\">{(it.Done ? "Uncheck" : "Check")}</button></form>");
                }
                else
                {
                    sb.Append($"<label class=\"check\"><input type=\"checkbox\" disabled{Checked(it.Done)} aria-label=\"{E(it.Text)}\"> <span class=\"txt\">{E(it.Text)}</span></label>");
                }
                if (it.Done) sb.Append($"<span class=\"by\">{E(it.DoneBy)} · {Time(it.DoneAt)}</span>");
                sb.Append("</li>");
            }
            sb.Append("</ul></div>");
        }
        sb.Append("</section>");
    }

    private static void ActionItems(StringBuilder sb, PageContext ctx, IncidentView i, IReadOnlyList<ActionItemView> items, FormError? err)
    {
        sb.Append("<section class=\"panel\" id=\"actions\"><h2>Action items</h2>");
        if (items.Count == 0) sb.Append("<p class=\"muted\">No action items yet.</p>");
        else
        {
            sb.Append("<table><thead><tr><th>Item</th><th>Owner</th><th>Due</th><th>Status</th></tr></thead><tbody>");
            foreach (var a in items)
            {
                sb.Append($"<tr data-action=\"{a.Id}\"><td>{E(a.Title)}</td><td>{E(a.Owner)}</td><td class=\"nowrap\">{(a.DueAt is { } d ? d.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "–")}");
                if (a.Overdue) sb.Append(" <span class=\"flag bad\">overdue</span>");
                sb.Append("</td><td>");
                if (ctx.CanWrite)
                {
                    sb.Append(ctx.FormStart($"/incidents/{i.Id}/action-items/{a.Id}", "inline"));
                    sb.Append($"<select name=\"status\" aria-label=\"Status of {E(a.Title)}\">").Append(Options(ActionItemStatus.All.Select(x => (x, x.Replace('_', ' '))), a.Status)).Append("</select> ");
                    sb.Append("<button type=\"submit\" class=\"secondary\">Set</button></form>");
                }
                else sb.Append(E(a.Status.Replace('_', ' ')));
                sb.Append("</td></tr>");
            }
            sb.Append("</tbody></table>");
        }
        if (ctx.CanWrite)
        {
            const string F = "action";
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/action-items", null, "action-form"));
            sb.Append("<h3>Add an action item</h3><div style=\"display:flex;gap:.5rem;flex-wrap:wrap;align-items:flex-end\">");
            sb.Append($"<div style=\"flex:2 1 12rem\"><label for=\"ai-title\">Title</label><input type=\"text\" id=\"ai-title\" name=\"title\" class=\"wide\" value=\"{E(err?.Value(F, "title", null))}\"{err?.Invalid(F, "title")}></div>");
            sb.Append($"<div style=\"flex:1 1 7rem\"><label for=\"ai-owner\">Owner</label><input type=\"text\" id=\"ai-owner\" name=\"owner\" class=\"wide\" value=\"{E(err?.Value(F, "owner", null))}\"{err?.Invalid(F, "owner")}></div>");
            sb.Append($"<div><label for=\"ai-due\">Due</label><input type=\"date\" id=\"ai-due\" name=\"due_at\" value=\"{E(err?.Value(F, "due_at", null))}\"{err?.Invalid(F, "due_at")}></div>");
            sb.Append("<button type=\"submit\">Add</button></div></form>");
        }
        sb.Append("</section>");
    }

    private static void Postmortem(StringBuilder sb, PageContext ctx, IncidentView i, PostmortemView pm, FormError? err)
    {
        const string F = "postmortem";
        sb.Append("<section class=\"panel\" id=\"postmortem\"><h2>Postmortem</h2>");
        sb.Append(pm.UpdatedAt is { } at ? $"<p class=\"small muted\">Last edited by {E(pm.UpdatedBy)} at {Time(at)} UTC.</p>" : "<p class=\"small muted\">Not started. The timeline and action items are pulled in automatically.</p>");
        sb.Append("<div class=\"grid\"><div>");
        if (ctx.CanWrite)
        {
            sb.Append(ctx.FormStart($"/incidents/{i.Id}/postmortem", null, "postmortem-form"));
            PmField(sb, err, F, "summary", "Summary", pm.Summary, "What happened, in a few sentences");
            PmField(sb, err, F, "impact", "Impact", pm.Impact, "Who and what was affected, for how long");
            PmField(sb, err, F, "root_cause", "Root cause", pm.RootCause, "Why it happened; keep asking why");
            PmField(sb, err, F, "lessons_learned", "Lessons learned", pm.LessonsLearned, "What went well, what did not, where we got lucky");
            sb.Append("<button type=\"submit\">Save postmortem</button></form>");
        }
        else
        {
            sb.Append("<p class=\"muted\">The postmortem document is shown alongside.</p>");
        }
        sb.Append("</div><div>");
        sb.Append($"<div class=\"markdown\" id=\"postmortem-view\">{Markdown.ToHtml(pm.Markdown)}</div>");
        sb.Append($"<details><summary class=\"small\">Markdown source</summary><pre class=\"md\" id=\"postmortem-md\">{E(pm.Markdown)}</pre></details>");
        sb.Append("</div></div></section>");
    }

    private static void PmField(StringBuilder sb, FormError? err, string form, string name, string label, string value, string placeholder) =>
        sb.Append($"<div class=\"field\"><label for=\"pm-{name}\">{label}</label><textarea id=\"pm-{name}\" name=\"{name}\" rows=\"4\"{err?.Invalid(form, name)} placeholder=\"{E(placeholder)}\">{E(err?.Value(form, name, value) ?? value)}</textarea></div>");
}
