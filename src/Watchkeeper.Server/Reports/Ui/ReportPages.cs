using System.Globalization;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Web;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Reports.Ui;

/// <summary>Reports: MTTA/MTTR by severity against the matrix targets, SLA breaches, counts and trend.</summary>
public static class ReportPages
{
    public static void AddReportPages(this IServiceCollection services) =>
        services.AddNavItem(new NavItem("reports", "Reports", "/reports", 200));

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/reports", Show).RequireAuthorization(Policies.Viewer);
    }

    private static async Task<IResult> Show(HttpContext http, IncidentReports reports, Uptime.UptimeReports uptime, Maintenance.MaintenanceReports maintenance, string? from, string? to, string? bucket, string? period)
    {
        var ctx = new PageContext(http);
        DateTimeOffset? f = null, t = null;
        string? error = null;
        IncidentReport? r = null;
        Maintenance.MaintenanceReportView? mr = null;
        Uptime.UptimeReport? up = null;
        try
        {
            if (period is { Length: > 0 })
            {
                var d = Duration.TryParse(period, out var p) && p.Value > TimeSpan.Zero ? p.Value : throw new ValidationException("period", $"'{period}' is not a duration such as 7d");
                // Whole buckets: the period ends at the end of the current hour (hourly trend) or UTC day.
                var unit = string.Equals(bucket, "hour", StringComparison.OrdinalIgnoreCase) ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
                var ticks = ctx.Now.UtcTicks;
                t = new DateTimeOffset(ticks - ticks % unit.Ticks, TimeSpan.Zero) + unit;
                f = t - d;
            }
            else
            {
                f = Day(from, "from", false);
                t = Day(to, "to", true);
            }
            r = await reports.BuildAsync(f, t, string.IsNullOrWhiteSpace(bucket) ? null : bucket);
            // Uptime over the same number of whole days, ending today (roll-ups are daily).
            mr = await maintenance.BuildAsync(r.From, r.To, http.RequestAborted);
            up = await uptime.BuildAsync(null, Math.Clamp((int)Math.Ceiling((r.To - r.From).TotalDays), 1, 400), http.RequestAborted);
        }
        catch (ValidationException ex)
        {
            error = ErrorMessage(ex);
        }

        return Pages.Render<ReportPage>(error is null ? 200 : 400, new()
        {
            [nameof(ReportPage.Ctx)] = ctx,
            [nameof(ReportPage.Report)] = r,
            [nameof(ReportPage.Uptime)] = up,
            [nameof(ReportPage.Maintenance)] = mr,
            [nameof(ReportPage.Error)] = error,
            [nameof(ReportPage.From)] = from ?? r?.From.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            [nameof(ReportPage.To)] = to ?? r?.To.AddTicks(-1).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            [nameof(ReportPage.Bucket)] = bucket,
        });
    }

    private static DateTimeOffset? Day(string? s, string field, bool inclusiveEnd)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (DateOnly.TryParseExact(s.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(inclusiveEnd ? 1 : 0);
        return IncidentsModule.ParseTime(s, field);
    }
}
