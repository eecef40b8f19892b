using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Monitoring;

namespace Watchkeeper.Server.Probes;

public sealed record FailingProbe(string Name, string Target, string? Error, DateTimeOffset? Since);
public sealed record DownTarget(string Job, string Instance, string? Error);
public sealed record FiringAlertRef(string Alertname, string Severity, DateTimeOffset Since);
public sealed record OpenIncidentRef(long Id, string Title, string Severity, string Status);

/// <summary>One service's health: "down" (a probe failing or a target down), "degraded" (alerts firing or incidents open), or "ok".</summary>
public sealed record ServiceHealthReport(
    string Service, string Status, int Probes, IReadOnlyList<FailingProbe> FailingProbes, int Targets, IReadOnlyList<DownTarget> DownTargets,
    IReadOnlyList<FiringAlertRef> FiringAlerts, IReadOnlyList<OpenIncidentRef> OpenIncidents);

public sealed record HealthReportView(DateTimeOffset At, string Status, bool Healthy, IReadOnlyList<ServiceHealthReport> Services);

/// <summary>
/// What <c>wk health</c> and <c>GET /api/v1/health</c> show: per service, its probes (by their service), its scrape
/// targets' <c>up</c> (service = job), firing alerts that are not silenced or inhibited (by their service, else job
/// label) and open incidents (by services affected). Healthy when every service is "ok".
/// </summary>
public sealed class HealthReport(ProbeScheduler probes, MetricsRuntime metrics, AlertingEngine alerts, IncidentService incidents, TimeProvider time)
{
    public async Task<HealthReportView> BuildAsync(string? service, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var probeList = probes.Statuses();
        var targets = metrics.Scrape?.ActiveTargets() ?? [];
        var firing = new List<(string Service, FiringAlertRef Alert)>();
        foreach (var a in alerts.Store.Snapshot())
        {
            if (a.Resolved(now)) continue;
            var st = alerts.Status(a);
            if (st.SilencedBy.Count > 0 || st.InhibitedBy.Count > 0) continue;
            var svc = a.Labels.GetValueOrDefault("service") ?? a.Labels.GetValueOrDefault("job") ?? "";
            firing.Add((svc, new FiringAlertRef(a.Labels.GetValueOrDefault("alertname") ?? "", a.Labels.GetValueOrDefault("severity") ?? "", a.StartsAt)));
        }
        var open = (await incidents.ListAsync("open", null, null, null, null, null, 500, null, ct)).Items;

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in probeList) names.Add(p.Service);
        foreach (var t in targets) names.Add(t.Job);
        foreach (var (s, _) in firing) if (s.Length > 0) names.Add(s);
        foreach (var i in open) foreach (var s in i.Impact.ServicesAffected) names.Add(s);
        if (service is { Length: > 0 })
        {
            if (!names.Contains(service)) throw new Platform.NotFoundException($"no service '{service}' has probes, targets, alerts or incidents; known: {string.Join(", ", names)}");
            names = new SortedSet<string>([service], StringComparer.Ordinal);
        }

        var list = new List<ServiceHealthReport>();
        foreach (var name in names)
        {
            var ps = probeList.Where(p => p.Service == name).ToList();
            var failing = ps.Where(p => p.Success == false).Select(p => new FailingProbe(p.Name, p.Target, p.Error, p.LastSuccess is { } s && p.LastFailure > s ? null : p.LastFailure)).ToList();
            var ts = targets.Where(t => t.Job == name).ToList();
            var down = ts.Where(t => t.Health == TargetHealth.Down).Select(t => new DownTarget(t.Job, t.Labels.Get("instance") ?? "", t.LastError)).ToList();
            var fa = firing.Where(f => f.Service == name).Select(f => f.Alert).OrderBy(f => f.Since).ToList();
            var oi = open.Where(i => i.Impact.ServicesAffected.Contains(name)).Select(i => new OpenIncidentRef(i.Id, i.Title, i.Severity, i.Status)).ToList();
            var status = failing.Count > 0 || down.Count > 0 ? "down" : fa.Count > 0 || oi.Count > 0 ? "degraded" : "ok";
            list.Add(new ServiceHealthReport(name, status, ps.Count, failing, ts.Count, down, fa, oi));
        }
        var overall = list.Any(s => s.Status == "down") ? "down" : list.Any(s => s.Status == "degraded") ? "degraded" : "ok";
        return new HealthReportView(now, overall, overall == "ok", list);
    }
}
