using System.Globalization;
using Dapper;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Platform.Ui;

/// <summary>
/// <c>/audit</c> (admins): the audit log as a page, newest first, filtered by actor, action (a prefix such as
/// <c>incident.</c>) and time range, paged by sequence number. Readable without JavaScript.
/// </summary>
public static class AuditPage
{
    public const int PageSize = 100;

    public static void AddAuditPage(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("audit", "Audit log", "/audit", 920, MinRank: 3));

    public static void Map(RouteGroupBuilder web) =>
        web.MapGet("/audit", Show).RequireAuthorization(Policies.Admin);

    private static async Task<IResult> Show(HttpContext http, Db db, AuditLog log, string? actor, string? action, string? from, string? to, long? before)
    {
        string? error = null;
        IReadOnlyList<AuditRecord> rows = [];
        try
        {
            var f = Day(from, "from", false);
            var t = Day(to, "to", true);
            if (f is not null && t is not null && t <= f) throw new ValidationException("to", "must be after from");
            var where = new List<string>();
            var p = new DynamicParameters();
            if (!string.IsNullOrWhiteSpace(actor)) { where.Add("actor = @actor"); p.Add("actor", actor.Trim()); }
            if (!string.IsNullOrWhiteSpace(action))
            {
                where.Add($"action {db.ILike} @action ESCAPE '\\'");
                p.Add("action", Incidents.IncidentInput.EscapeLike(action.Trim()) + "%");
            }
            if (f is not null) { where.Add("ts >= @from"); p.Add("from", f.Value.ToUnixTimeMilliseconds()); }
            if (t is not null) { where.Add("ts < @to"); p.Add("to", t.Value.ToUnixTimeMilliseconds()); }
            if (before is not null) { where.Add("seq < @before"); p.Add("before", before.Value); }
            p.Add("limit", PageSize + 1);
            var sql = "SELECT * FROM audit_log" + (where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where)) + " ORDER BY seq DESC LIMIT @limit";
            rows = await db.ReadAsync(async c => (await c.QueryAsync<AuditRecord>(sql, p)).AsList(), http.RequestAborted);
        }
        catch (ValidationException ex)
        {
            error = ErrorMessage(ex);
        }
        var more = rows.Count > PageSize;
        var actors = await db.ReadAsync(async c => (await c.QueryAsync<string>("SELECT DISTINCT actor FROM audit_log ORDER BY actor")).AsList(), http.RequestAborted);
        return Pages.Render<AuditLogPage>(error is null ? 200 : 400, new()
        {
            [nameof(AuditLogPage.Ctx)] = new PageContext(http),
            [nameof(AuditLogPage.Records)] = more ? rows.Take(PageSize).ToList() : rows,
            [nameof(AuditLogPage.NextBefore)] = more ? rows[PageSize - 1].Seq : null,
            [nameof(AuditLogPage.Actors)] = actors,
            [nameof(AuditLogPage.Actor)] = actor,
            [nameof(AuditLogPage.Action)] = action,
            [nameof(AuditLogPage.From)] = from,
            [nameof(AuditLogPage.To)] = to,
            [nameof(AuditLogPage.Before)] = before,
            [nameof(AuditLogPage.Head)] = log.Head,
            [nameof(AuditLogPage.Error)] = error,
        });
    }

    /// <summary>A date (the start of that UTC day, or of the next for an inclusive end) or a full time in the one time grammar.</summary>
    private static DateTimeOffset? Day(string? s, string field, bool inclusiveEnd)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (DateOnly.TryParseExact(s.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(inclusiveEnd ? 1 : 0);
        return Incidents.IncidentsModule.ParseTime(s, field);
    }
}
