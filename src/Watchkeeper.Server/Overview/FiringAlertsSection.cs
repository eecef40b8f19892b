using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.Overview.Ui;
using Watchkeeper.Server.Web;

namespace Watchkeeper.Server.Overview;

/// <summary>One firing alert on the landing page.</summary>
public sealed record FiringAlertRow(string Name, string Severity, string Summary, string Where, DateTimeOffset Since, bool Muted);

/// <summary>Firing alerts by severity (critical first), muted ones counted apart: the first thing an operator needs.</summary>
public sealed class FiringAlertsSection(AlertingEngine engine, TimeProvider time) : IOverviewSection
{
    /// <summary>The order severities are shown in; any other value comes after them.</summary>
    public static readonly string[] SeverityOrder = ["critical", "warning", "info"];

    public int Order => 100;
    public Type Component => typeof(FiringAlertsView);

    public Task<Dictionary<string, object?>> LoadAsync(PageContext ctx, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var rows = new List<FiringAlertRow>();
        foreach (var a in engine.Store.Snapshot())
        {
            if (a.Resolved(now)) continue;
            var st = engine.Status(a);
            var where = a.Labels.GetValueOrDefault("job") ?? a.Labels.GetValueOrDefault("service") ?? "";
            if (a.Labels.GetValueOrDefault("instance") is { Length: > 0 } i) where = where.Length > 0 ? where + " · " + i : i;
            rows.Add(new FiringAlertRow(a.Labels.GetValueOrDefault("alertname") ?? "(no alertname)", a.Labels.GetValueOrDefault("severity") ?? "",
                a.Annotations.GetValueOrDefault("summary") ?? "", where, a.StartsAt, st.SilencedBy.Count > 0 || st.InhibitedBy.Count > 0));
        }
        var ordered = rows.OrderBy(r => r.Muted).ThenBy(r => Rank(r.Severity)).ThenBy(r => r.Since).ToList();
        return Task.FromResult(new Dictionary<string, object?> { [nameof(FiringAlertsView.Alerts)] = ordered });
    }

    public static int Rank(string severity)
    {
        var i = Array.IndexOf(SeverityOrder, severity.ToLowerInvariant());
        return i < 0 ? SeverityOrder.Length : i;
    }
}
