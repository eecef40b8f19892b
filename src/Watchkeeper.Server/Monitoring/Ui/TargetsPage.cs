using System.Globalization;
using System.Text;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary><c>/targets</c>: every scrape target by job, with its health, labels, last scrape and last error.</summary>
public static class TargetsPage
{
    public static IResult Handle(HttpContext http, MetricsRuntime runtime, TimeProvider time, string? state, int? refresh)
    {
        var unhealthyOnly = state == "unhealthy";
        var refreshSeconds = refresh is > 0 ? Math.Clamp(refresh.Value, 5, 3600) : 0;
        var body = MonitoringAssets.Tags("monitoring.css") + Body(runtime.Scrape, time.GetUtcNow(), unhealthyOnly, refreshSeconds);
        if (refreshSeconds > 0) http.Response.Headers["Refresh"] = refreshSeconds.ToString(CultureInfo.InvariantCulture);
        return MonitoringPage.Render(http, "Targets", body);
    }

    internal static string Body(ScrapeManager? scrape, DateTimeOffset now, bool unhealthyOnly, int refreshSeconds)
    {
        var sb = new StringBuilder();
        sb.Append("""<h1>Targets</h1>""");
        if (scrape is null)
        {
            sb.Append("""<p class="wk-note">Scraping has not started yet; reload in a moment.</p>""");
            return sb.ToString();
        }

        var active = scrape.ActiveTargets();
        var dropped = scrape.DroppedTargets();
        var droppedByJob = dropped.GroupBy(d => d.Job, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var jobs = active.Select(t => t.Job).Concat(droppedByJob.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var up = active.Count(t => t.Health == TargetHealth.Up);

        sb.Append("""<div class="wk-toolbar">""");
        sb.Append(CultureInfo.InvariantCulture, $"""<p class="wk-summary"><strong>{up}/{active.Count}</strong> targets up in {jobs.Count} {(jobs.Count == 1 ? "job" : "jobs")} · <span data-dropped="{dropped.Count}">{dropped.Count} dropped by relabeling</span></p>""");
        var refreshQuery = refreshSeconds > 0 ? "refresh=" + refreshSeconds.ToString(CultureInfo.InvariantCulture) : "";
        sb.Append(unhealthyOnly
            ? $"""<a href="/targets{Query(refreshQuery)}">Show all targets</a>"""
            : $"""<a href="/targets{Query("state=unhealthy", refreshQuery)}">Show only unhealthy targets</a>""");
        sb.Append(refreshSeconds > 0
            ? $"""<a href="/targets{Query(unhealthyOnly ? "state=unhealthy" : "")}">Stop auto-refresh</a>"""
            : $"""<a href="/targets{Query(unhealthyOnly ? "state=unhealthy" : "", "refresh=15")}">Auto-refresh every 15s</a>""");
        sb.Append("</div>");

        foreach (var (file, error) in scrape.DiscoveryErrors())
            sb.Append($"""<p class="wk-error" role="alert">Service discovery failed for <code>{Html.Encode(file)}</code>: {Html.Encode(error)}</p>""");

        if (jobs.Count == 0) sb.Append("""<p class="wk-note">No scrape targets are configured.</p>""");

        foreach (var job in jobs)
        {
            var targets = active.Where(t => t.Job == job).ToList();
            var jobUp = targets.Count(t => t.Health == TargetHealth.Up);
            var shown = unhealthyOnly ? targets.Where(t => t.Health != TargetHealth.Up).ToList() : targets;
            if (unhealthyOnly && shown.Count == 0) continue;
            var jobDropped = droppedByJob.GetValueOrDefault(job);
            var cls = targets.Count == 0 ? "unknown" : jobUp == targets.Count ? "up" : jobUp == 0 ? "down" : "partial";
            sb.Append(CultureInfo.InvariantCulture, $"""<section class="wk-job" data-job="{Html.Encode(job)}">""");
            sb.Append(CultureInfo.InvariantCulture, $"""<h2><span class="wk-job-name">{Html.Encode(job)}</span> <span class="wk-count wk-{cls}">({jobUp}/{targets.Count} up)</span>""");
            if (jobDropped > 0) sb.Append(CultureInfo.InvariantCulture, $""" <span class="wk-muted">{jobDropped} dropped</span>""");
            sb.Append("</h2>");
            if (shown.Count == 0)
            {
                sb.Append("""<p class="wk-note">Every target of this job was dropped by relabeling.</p></section>""");
                continue;
            }
            sb.Append("""<table class="wk-targets"><thead><tr><th>Endpoint</th><th>State</th><th>Labels</th><th>Last scrape</th><th>Scrape duration</th><th>Error</th></tr></thead><tbody>""");
            foreach (var t in shown) Row(sb, t, now);
            sb.Append("</tbody></table></section>");
        }
        return sb.ToString();
    }

    private static void Row(StringBuilder sb, TargetState t, DateTimeOffset now)
    {
        var health = t.Health switch { TargetHealth.Up => "up", TargetHealth.Down => "down", _ => "unknown" };
        var url = t.ScrapeUrl.ToString();
        sb.Append(CultureInfo.InvariantCulture, $"""<tr class="wk-target" data-health="{health}">""");
        sb.Append($"""<td class="mono"><a href="{Html.Encode(url)}" rel="noopener noreferrer">{Html.Encode(url)}</a></td>""");
        sb.Append($"""<td><span class="wk-state wk-{health}">{health.ToUpperInvariant()}</span></td>""");
        sb.Append("<td>");
        foreach (var l in t.Labels)
        {
            if (l.Name.StartsWith("__", StringComparison.Ordinal)) continue;
            sb.Append($"""<span class="wk-label"><b>{Html.Encode(l.Name)}</b>="{Html.Encode(l.Value)}"</span> """);
        }
        sb.Append("</td>");
        if (t.LastScrape is { } last)
        {
            var iso = last.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            sb.Append($"""<td><time datetime="{iso}" title="{iso}">{Relative(now - last)}</time></td>""");
            sb.Append($"""<td>{FormatDuration(t.LastScrapeDuration)}</td>""");
        }
        else
        {
            sb.Append("""<td class="wk-muted">never</td><td></td>""");
        }
        sb.Append(string.IsNullOrEmpty(t.LastError) ? "<td></td>" : $"""<td class="wk-error-text">{Html.Encode(t.LastError)}</td>""");
        sb.Append("</tr>");
    }

    private static string Query(params string[] parts)
    {
        var p = parts.Where(x => x.Length > 0).ToArray();
        return p.Length == 0 ? "" : "?" + string.Join('&', p);
    }

    /// <summary>"just now", "12s ago", "3m 5s ago", "2h 10m ago", "in 3s" (clock skew).</summary>
    internal static string Relative(TimeSpan ago)
    {
        if (ago < TimeSpan.Zero) return "in " + Short(-ago);
        if (ago < TimeSpan.FromSeconds(1)) return "just now";
        return Short(ago) + " ago";

        static string Short(TimeSpan d) => d.TotalSeconds < 60 ? $"{(int)d.TotalSeconds}s"
            : d.TotalMinutes < 60 ? $"{(int)d.TotalMinutes}m {d.Seconds}s"
            : d.TotalHours < 24 ? $"{(int)d.TotalHours}h {d.Minutes}m"
            : $"{(int)d.TotalDays}d {d.Hours}h";
    }

    internal static string FormatDuration(TimeSpan d) =>
        d.TotalSeconds >= 1 ? d.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + "s"
        : d.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture) + "ms";
}
