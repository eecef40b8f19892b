using System.Globalization;
using System.Text;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.Reports;
using static Watchkeeper.Server.Web.Html;

namespace Watchkeeper.Server.Web;

/// <summary>Reports: MTTA/MTTR by severity against the matrix targets, SLA breaches, counts and trend.</summary>
public static class ReportPages
{
    private static readonly string[] SevColours = ["var(--sev1)", "var(--sev2)", "var(--sev3)", "var(--sev4)", "#777", "#999"];

    public static void Map(RouteGroupBuilder web)
    {
        web.MapGet("/reports", Show).RequireAuthorization(Policies.Viewer);
    }

    private static async Task<IResult> Show(HttpContext http, IncidentReports reports, string? from, string? to, string? bucket, string? period)
    {
        var ctx = new PageContext(http);
        DateTimeOffset? f = null, t = null;
        string? error = null;
        IncidentReport? r = null;
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
        }
        catch (ValidationException ex)
        {
            error = ErrorMessage(ex);
        }

        var sb = new StringBuilder();
        sb.Append("<h1>Incident reports</h1>");
        sb.Append("<form class=\"panel filters\" method=\"get\" action=\"/reports\">");
        var fromValue = from ?? r?.From.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var toValue = to ?? r?.To.AddTicks(-1).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        sb.Append($"<div class=\"field\"><label for=\"r-from\">From</label><input type=\"date\" id=\"r-from\" name=\"from\" value=\"{E(fromValue)}\"></div>");
        sb.Append($"<div class=\"field\"><label for=\"r-to\">To (inclusive)</label><input type=\"date\" id=\"r-to\" name=\"to\" value=\"{E(toValue)}\"></div>");
        sb.Append("<div class=\"field\"><label for=\"r-bucket\">Trend by</label><select id=\"r-bucket\" name=\"bucket\">")
            .Append(Options([("", "auto"), ("hour", "hour"), ("day", "day"), ("week", "week")], bucket)).Append("</select></div>");
        sb.Append("<button type=\"submit\">Show</button> <span class=\"small\">Last <a href=\"/reports?period=24h&amp;bucket=hour\">24 hours</a> · <a href=\"/reports?period=7d\">7 days</a> · <a href=\"/reports?period=30d\">30 days</a> · <a href=\"/reports?period=90d&amp;bucket=week\">90 days</a></span></form>");

        if (r is not null)
        {
            sb.Append($"<section class=\"panel\" id=\"summary\"><h2>{Time(r.From)} – {Time(r.To)} UTC</h2>");
            var prev = r.PreviousPeriodTotal ?? 0;
            var change = prev == 0 ? "" : $" ({(r.Total >= prev ? "+" : "")}{(r.Total - prev) / prev * 100:0}% vs the previous period's {prev:0})";
            var breaches = r.BySeverity.Sum(x => x.ResponseBreaches + x.ResolutionBreaches);
            sb.Append($"<p><b id=\"total\">{r.Total}</b> incident{(r.Total == 1 ? "" : "s")}{E(change)} · <b>{r.BySeverity.Sum(x => x.Open)}</b> still open · <b id=\"breaches\">{breaches}</b> SLA breach{(breaches == 1 ? "" : "es")}</p>");
            sb.Append("<table id=\"by-severity\"><thead><tr><th>Severity</th><th class=\"num\">Incidents</th><th class=\"num\">Open</th><th class=\"num\">MTTA</th><th class=\"num\">Response target</th><th class=\"num\">Response met</th><th class=\"num\">Response breaches</th><th class=\"num\">MTTR</th><th class=\"num\">Resolution target</th><th class=\"num\">Resolution met</th><th class=\"num\">Resolution breaches</th></tr></thead><tbody>");
            foreach (var s in r.BySeverity)
            {
                sb.Append($"<tr data-severity=\"{E(s.Severity)}\"><td>{SeverityBadge(s.Severity)}</td><td class=\"num\">{s.Incidents}</td><td class=\"num\">{s.Open}</td>");
                sb.Append($"<td class=\"num {Against(s.MttaSeconds, s.ResponseTargetSeconds)}\">{Span(s.MttaSeconds)}</td><td class=\"num muted\">{Span(s.ResponseTargetSeconds)}</td><td class=\"num\">{ReportsModule.Percent(s.ResponseMetPercent)}</td>");
                sb.Append($"<td class=\"num{(s.ResponseBreaches > 0 ? " over" : "")}\">{s.ResponseBreaches}</td>");
                sb.Append($"<td class=\"num {Against(s.MttrSeconds, s.ResolutionTargetSeconds)}\">{Span(s.MttrSeconds)}</td><td class=\"num muted\">{Span(s.ResolutionTargetSeconds)}</td><td class=\"num\">{ReportsModule.Percent(s.ResolutionMetPercent)}</td>");
                sb.Append($"<td class=\"num{(s.ResolutionBreaches > 0 ? " over" : "")}\">{s.ResolutionBreaches}</td></tr>");
            }
            sb.Append("</tbody></table><p class=\"small muted\">MTTA: detection to acknowledgement. MTTR: detection to resolution. Green is within the severity matrix target, red is over it.</p></section>");

            sb.Append($"<section class=\"panel\" id=\"trend\"><h2>Incidents per {E(r.Bucket)}</h2>");
            Chart(sb, r);
            sb.Append("</section>");
        }
        return Page(ctx, "Reports", "reports", sb.ToString(), error is null ? 200 : 400, error);
    }

    private static string Against(double? value, double target) => value is null ? "" : value <= target ? "under" : "over";

    private static DateTimeOffset? Day(string? s, string field, bool inclusiveEnd)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        if (DateOnly.TryParseExact(s.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(inclusiveEnd ? 1 : 0);
        return IncidentsModule.ParseTime(s, field);
    }

    /// <summary>A stacked bar chart by severity as inline SVG.</summary>
    private static void Chart(StringBuilder sb, IncidentReport r)
    {
        var sevs = r.BySeverity.Select(x => x.Severity).ToList();
        sb.Append("<div class=\"legend\">");
        for (var k = 0; k < sevs.Count; k++) sb.Append($"<span><i style=\"background:{SevColours[Math.Min(k, SevColours.Length - 1)]}\"></i>{E(sevs[k])}</span>");
        sb.Append("</div>");
        var n = r.Trend.Count;
        if (n == 0) return;
        var max = Math.Max(1, r.Trend.Max(p => p.Incidents));
        const double W = 1000, H = 220, left = 30, bottom = 24, top = 8;
        var bw = (W - left) / n;
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Incidents per {E(r.Bucket)} by severity\">");
        foreach (var tick in new[] { 0, max / 2, max }.Distinct())
        {
            var y = H - bottom - (H - bottom - top) * tick / max;
            sb.Append(inv, $"<line x1=\"{left}\" x2=\"{W}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"currentColor\" stroke-opacity=\".15\"/><text x=\"{left - 4}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{tick}</text>");
        }
        var labelEvery = Math.Max(1, (int)Math.Ceiling(n / 12.0));
        for (var idx = 0; idx < n; idx++)
        {
            var p = r.Trend[idx];
            var x = left + idx * bw;
            var y = H - bottom;
            for (var k = 0; k < sevs.Count; k++)
            {
                var c = p.BySeverity.GetValueOrDefault(sevs[k]);
                if (c == 0) continue;
                var h = (H - bottom - top) * c / max;
                y -= h;
                sb.Append(inv, $"<rect x=\"{x + bw * 0.1:0.##}\" y=\"{y:0.##}\" width=\"{bw * 0.8:0.##}\" height=\"{h:0.##}\" fill=\"{SevColours[Math.Min(k, SevColours.Length - 1)]}\"><title>{p.Start:yyyy-MM-dd HH:mm}: {c} {E(sevs[k])}</title></rect>");
            }
            if (idx % labelEvery == 0)
            {
                var label = r.Bucket == "hour" ? p.Start.UtcDateTime.ToString("HH:mm", inv) : p.Start.UtcDateTime.ToString("MM-dd", inv);
                sb.Append(inv, $"<text x=\"{x + bw / 2:0.#}\" y=\"{H - 6}\" text-anchor=\"middle\">{label}</text>");
            }
        }
        sb.Append("</svg>");
    }
}
