using System.Globalization;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Monitoring.Ui;

/// <summary><c>/targets</c>: every scrape target by job, with its health, labels, last scrape and last error.</summary>
public static class TargetsPage
{
    public static IResult Handle(HttpContext http, MetricsRuntime runtime, string? state, int? refresh)
    {
        var refreshSeconds = refresh is > 0 ? Math.Clamp(refresh.Value, 5, 3600) : 0;
        if (refreshSeconds > 0) http.Response.Headers["Refresh"] = refreshSeconds.ToString(CultureInfo.InvariantCulture);
        return Pages.Render<TargetsView>(new()
        {
            [nameof(TargetsView.Ctx)] = new PageContext(http),
            [nameof(TargetsView.Scrape)] = runtime.Scrape,
            [nameof(TargetsView.UnhealthyOnly)] = state == "unhealthy",
            [nameof(TargetsView.RefreshSeconds)] = refreshSeconds,
        });
    }

    /// <summary>A query string of the non-empty parts.</summary>
    internal static string Query(params string[] parts)
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
