using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>
/// Every <c>incidents.from_alerts.interval</c>: compares the alert store's firing alerts with the incidents they opened
/// (<see cref="IncidentService.SyncAlertsAsync"/>), and sends the SLA breaches to the alert store as alerts, so they are
/// routed, silenced and notified like any other. Only the replica holding the leader lease runs it: two replicas
/// comparing at once could both declare an incident for the same new alert group.
/// </summary>
public sealed class AlertIncidentWorker(IncidentService incidents, AlertingEngine engine, ConfigHolder config, TimeProvider time,
    ILeadership leadership, ILogger<AlertIncidentWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(config.Current.Incidents.FromAlerts.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!leadership.IsLeader) continue;
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "Comparing firing alerts with incidents failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One comparison and one round of SLA breach alerts.</summary>
    public async Task<AlertSyncResult> RunOnceAsync(CancellationToken ct)
    {
        var breaches = await incidents.SlaBreachAlertsAsync(ct);
        if (breaches.Count > 0)
        {
            var errors = engine.Receive([.. breaches.Select(b => new PostableAlert(b.Labels, b.Annotations, b.StartsAt, b.EndsAt, b.GeneratorUrl))]);
            foreach (var e in errors) logger.LogWarning("SLA breach alert {Index} was refused by the alert store: {Reason}", e.Index, e.Reason);
        }
        // Off: nothing to compare, and the pass over every held alert (with its silence and inhibition status) is skipped.
        if (!config.Current.Incidents.FromAlerts.Enabled) return new(0, 0, 0, 0, 0);
        var now = time.GetUtcNow();
        var firing = new List<AlertForIncident>();
        foreach (var a in engine.Store.Snapshot())
        {
            if (a.Resolved(now)) continue;
            var status = engine.Status(a);
            firing.Add(new AlertForIncident(LabelSets.FormatFingerprint(a.Fingerprint), a.Labels, a.Annotations, a.StartsAt,
                Muted: status.SilencedBy.Count > 0 || status.InhibitedBy.Count > 0));
        }
        var r = await incidents.SyncAlertsAsync(firing, ct);
        if (r.Declared > 0) logger.LogWarning("Declared {Count} incident(s) from firing alerts", r.Declared);
        return r;
    }
}
