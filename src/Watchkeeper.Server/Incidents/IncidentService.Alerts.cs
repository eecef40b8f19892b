using System.Data.Common;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>
/// An alert as the incident bridge sees it: every alert the alert store holds as firing, <paramref name="Muted"/> when a
/// silence or an inhibition mutes it (a muted alert declares nothing, but it still counts as firing).
/// </summary>
public sealed record AlertForIncident(
    string Fingerprint,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    bool Muted = false);

/// <summary>What one comparison of firing alerts with incidents changed.</summary>
public sealed record AlertSyncResult(int Declared, int Attached, int Resolved, int ToMonitoring, int Refired);

/// <summary>
/// Alerts to incidents (operations manual 2.2, detection opens the response): firing alerts that a
/// <c>incidents.from_alerts</c> rule matches declare an incident at the rule's severity, with the SLA clocks started at
/// the alert's start; later alerts of the same group (the <c>group_by</c> labels) join the open incident; when all of
/// an incident's alerts have resolved it moves to Monitoring, and never further by itself; an alert that fires again
/// moves it back to Investigating. The comparison is idempotent: it can run any number of times, on any replica.
/// </summary>
public sealed partial class IncidentService
{
    /// <summary>The author of what the bridge writes in timelines and the audit log.</summary>
    public const string AlertActor = "alerts";

    /// <summary>A label that marks an alert about an incident (an SLA breach): it never declares another incident.</summary>
    public const string IncidentIdLabel = "incident_id";

    /// <summary>The parsed rules of one configuration; replaced as a whole (one reference) when the configuration is reloaded.</summary>
    private sealed record ParsedAlertRules(AlertIncidentsConfig Config, IReadOnlyList<(IReadOnlyList<Matcher> Matchers, string Severity)> Rules);

    private ParsedAlertRules? _alertRules;

    private IReadOnlyList<(IReadOnlyList<Matcher> Matchers, string Severity)> AlertRules(AlertIncidentsConfig cfg)
    {
        if (_alertRules is { } cached && ReferenceEquals(cached.Config, cfg)) return cached.Rules;
        var parsed = new ParsedAlertRules(cfg, cfg.Rules.Select(r => ((IReadOnlyList<Matcher>)r.Matchers.SelectMany(MatcherParser.ParseList).ToList(), r.Severity)).ToList());
        _alertRules = parsed;
        return parsed.Rules;
    }

    /// <summary>The severity the first matching rule gives this alert, or null when no rule matches (or it concerns an incident).</summary>
    public string? SeverityForAlert(IReadOnlyDictionary<string, string> labels)
    {
        if (labels.ContainsKey(IncidentIdLabel)) return null;
        foreach (var (matchers, severity) in AlertRules(Config.Incidents.FromAlerts))
            if (matchers.All(m => m.Matches(labels))) return severity;
        return null;
    }

    /// <summary>The group an alert joins: the values of the <c>group_by</c> labels, in their order.</summary>
    public static string GroupKey(IReadOnlyList<string> groupBy, IReadOnlyDictionary<string, string> labels)
    {
        var sb = new StringBuilder();
        foreach (var name in groupBy)
        {
            if (sb.Length > 0) sb.Append(',');
            sb.Append(name).Append('=').Append(JsonSerializer.Serialize(labels.GetValueOrDefault(name, "")));
        }
        return sb.ToString();
    }

    private sealed class OpenGroupRow
    {
        public long IncidentId { get; set; }
        public string GroupKey { get; set; } = "";
    }

    private sealed class AttachedRow
    {
        public long IncidentId { get; set; }
        public string Fingerprint { get; set; } = "";
        public string Alertname { get; set; } = "";
        public string Labels { get; set; } = "";
        public long? ResolvedAt { get; set; }
    }

    /// <summary>Compares the firing alerts with the incidents alerts opened, and declares, attaches, resolves and moves.</summary>
    public async Task<AlertSyncResult> SyncAlertsAsync(IReadOnlyList<AlertForIncident> firing, CancellationToken ct = default)
    {
        var cfg = Config.Incidents.FromAlerts;
        if (!cfg.Enabled) return new(0, 0, 0, 0, 0);
        var groups = await db.ReadAsync(async c => (await c.QueryAsync<OpenGroupRow>("""
            SELECT g.incident_id AS IncidentId, g.group_key AS GroupKey FROM incident_alert_groups g
            JOIN incidents i ON i.id = g.incident_id WHERE i.status <> 'resolved' ORDER BY g.incident_id
            """)).AsList(), ct);
        var attached = await db.ReadAsync(async c => (await c.QueryAsync<AttachedRow>("""
            SELECT a.incident_id AS IncidentId, a.fingerprint AS Fingerprint, a.alertname AS Alertname, a.labels AS Labels, a.resolved_at AS ResolvedAt
            FROM incident_alerts a JOIN incidents i ON i.id = a.incident_id WHERE i.status <> 'resolved'
            """)).AsList(), ct);
        var byKey = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var g in groups) byKey[g.GroupKey] = g.IncidentId; // the newest open incident of a group wins
        var known = attached.ToDictionary(a => (a.IncidentId, a.Fingerprint));
        var firingNow = firing.Select(a => a.Fingerprint).ToHashSet(StringComparer.Ordinal);
        int declared = 0, joined = 0, resolved = 0, monitoring = 0, refired = 0;

        foreach (var alert in firing.OrderBy(a => a.StartsAt).ThenBy(a => a.Fingerprint, StringComparer.Ordinal))
        {
            if (alert.Muted) continue;
            var severity = SeverityForAlert(alert.Labels);
            if (severity is null) continue;
            var key = GroupKey(cfg.GroupBy, alert.Labels);
            if (byKey.TryGetValue(key, out var incidentId))
            {
                var seen = known.GetValueOrDefault((incidentId, alert.Fingerprint));
                if (seen is { ResolvedAt: null }) continue;
                var again = seen is not null;
                await MutateAsync(incidentId, null, AlertActor, "incident.alert_attached", async (c, tx, row, now) =>
                {
                    await AttachAsync(c, tx, incidentId, alert, now, again);
                    await Timeline(c, tx, incidentId, AlertActor, "alert", (again ? "Alert firing again: " : "Alert firing: ") + Describe(alert.Labels, alert.Annotations), now);
                    if (row.Status == IncidentStatus.Monitoring)
                        await ApplyTransition(c, tx, row, IncidentStatus.Investigating, $"alert {Name(alert.Labels)} is firing again", AlertActor, now);
                }, ct: ct);
                known[(incidentId, alert.Fingerprint)] = new AttachedRow { IncidentId = incidentId, Fingerprint = alert.Fingerprint, Alertname = Name(alert.Labels) };
                if (again) refired++; else joined++;
                continue;
            }
            var view = await CreateAsync(DeclarationFor(alert, severity), AlertActor, async (c, tx, id, now) =>
            {
                await c.ExecuteAsync("INSERT INTO incident_alert_groups (incident_id, group_key, created_at) VALUES (@id, @key, @now)", new { id, key, now }, tx);
                await AttachAsync(c, tx, id, alert, now, again: false);
                await Timeline(c, tx, id, AlertActor, "alert", "Alert firing: " + Describe(alert.Labels, alert.Annotations), now);
            }, ct);
            byKey[key] = view.Id;
            known[(view.Id, alert.Fingerprint)] = new AttachedRow { IncidentId = view.Id, Fingerprint = alert.Fingerprint, Alertname = Name(alert.Labels) };
            declared++;
        }

        // Alerts that stopped firing; an incident whose alerts have all resolved is being monitored.
        foreach (var incident in known.Values.GroupBy(a => a.IncidentId))
        {
            var gone = incident.Where(a => a.ResolvedAt is null && !firingNow.Contains(a.Fingerprint)).ToList();
            if (gone.Count == 0) continue;
            var allGone = incident.All(a => a.ResolvedAt is not null || !firingNow.Contains(a.Fingerprint));
            var moved = false;
            await MutateAsync(incident.Key, null, AlertActor, "incident.alert_resolved", async (c, tx, row, now) =>
            {
                foreach (var a in gone)
                {
                    await c.ExecuteAsync("UPDATE incident_alerts SET resolved_at = @now WHERE incident_id = @id AND fingerprint = @fp",
                        new { now, id = incident.Key, fp = a.Fingerprint }, tx);
                    var labels = JsonSerializer.Deserialize<Dictionary<string, string>>(a.Labels.Length == 0 ? "{}" : a.Labels, Json) ?? [];
                    await Timeline(c, tx, incident.Key, AlertActor, "alert", "Alert resolved: " + Describe(labels, null, a.Alertname), now);
                }
                if (allGone && row.Status is IncidentStatus.Investigating or IncidentStatus.Identified)
                {
                    await ApplyTransition(c, tx, row, IncidentStatus.Monitoring, "all of its alerts have resolved; confirm the fix holds, then resolve", AlertActor, now);
                    moved = true;
                }
            }, ct: ct);
            resolved += gone.Count;
            if (moved) monitoring++;
        }
        return new(declared, joined, resolved, monitoring, refired);
    }

    private static async Task AttachAsync(DbConnection c, DbTransaction tx, long incidentId, AlertForIncident alert, long now, bool again)
    {
        var labels = JsonSerializer.Serialize(alert.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).ToDictionary(l => l.Key, l => l.Value), Json);
        if (again)
        {
            await c.ExecuteAsync("UPDATE incident_alerts SET resolved_at = NULL, starts_at = @starts WHERE incident_id = @incidentId AND fingerprint = @fp",
                new { incidentId, fp = alert.Fingerprint, starts = alert.StartsAt.ToUnixTimeMilliseconds() }, tx);
            return;
        }
        await c.ExecuteAsync("""
            INSERT INTO incident_alerts (incident_id, fingerprint, alertname, labels, starts_at, attached_at)
            VALUES (@incidentId, @fp, @name, @labels, @starts, @now)
            """, new { incidentId, fp = alert.Fingerprint, name = Name(alert.Labels), labels, starts = alert.StartsAt.ToUnixTimeMilliseconds(), now }, tx);
    }

    /// <summary>Ticks the configured checklist item when an incident that alerts opened is acknowledged.</summary>
    private async Task TickAcknowledgeItem(DbConnection c, DbTransaction tx, IncidentRow row, string actor, long now)
    {
        var item = Config.Incidents.FromAlerts.AcknowledgeItem;
        if (string.IsNullOrWhiteSpace(item)) return;
        var fromAlerts = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incident_alert_groups WHERE incident_id = @id", new { id = row.Id }, tx);
        if (fromAlerts == 0) return;
        var items = (await c.QueryAsync<ChecklistRow>("SELECT * FROM checklist_items WHERE incident_id = @id AND text = @item AND done_at IS NULL",
            new { id = row.Id, item }, tx)).AsList();
        foreach (var i in items)
        {
            await c.ExecuteAsync("UPDATE checklist_items SET done_at = @now, done_by = @actor WHERE id = @itemId", new { now, actor, itemId = i.Id }, tx);
            await Timeline(c, tx, row.Id, actor, "checklist_item", $"Checked [{i.PhaseTitle}] {i.Text} (acknowledged)", now);
        }
    }

    private CreateIncidentRequest DeclarationFor(AlertForIncident alert, string severity)
    {
        var name = Name(alert.Labels);
        // The catalog's service when the alert names one (service label) or comes from one of its jobs; else the label as is.
        var service = alert.Labels.GetValueOrDefault("service") is { } named && catalog.Find(named) is { } byName ? byName.Name
            : alert.Labels.GetValueOrDefault("job") is { } job && catalog.ForJob(job) is { } byJob ? byJob.Name
            : alert.Labels.GetValueOrDefault("service") ?? alert.Labels.GetValueOrDefault("job");
        var title = alert.Annotations.GetValueOrDefault("summary") is { Length: > 0 } s ? s : name + (service is { Length: > 0 } ? " on " + service : "");
        var summary = new StringBuilder();
        if (alert.Annotations.GetValueOrDefault("description") is { Length: > 0 } d) summary.Append(d).Append("\n\n");
        summary.Append("Declared from the alert ").Append(Describe(alert.Labels, null));
        if (alert.Annotations.GetValueOrDefault("runbook_url") is { Length: > 0 } rb) summary.Append("\nRunbook: ").Append(rb);
        var now = time.GetUtcNow();
        // The SLA clocks start when the alert started, never in the future and never before the inputs' earliest date.
        var started = alert.StartsAt > now ? now : alert.StartsAt < IncidentInput.Earliest ? now : alert.StartsAt;
        return new CreateIncidentRequest(SingleLine(title, 200), IncidentKind.Operational, severity, Clip(summary.ToString(), 10_000), null,
            service is { Length: > 0 and <= 100 } ? [SingleLine(service, 100)] : null, null, "automated", null, null, null, started);
    }

    private static string Name(IReadOnlyDictionary<string, string> labels) => labels.GetValueOrDefault("alertname") ?? "alert";

    /// <summary><c>ServiceDown{instance="a:1", job="api"}: API down</c>, one line.</summary>
    private static string Describe(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string>? annotations, string? name = null)
    {
        var sb = new StringBuilder(name ?? Name(labels)).Append('{');
        var first = true;
        foreach (var (k, v) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            if (k == "alertname") continue;
            if (!first) sb.Append(", ");
            sb.Append(k).Append('=').Append(JsonSerializer.Serialize(v));
            first = false;
        }
        sb.Append('}');
        if (annotations?.GetValueOrDefault("summary") is { Length: > 0 } s) sb.Append(": ").Append(s);
        return SingleLine(sb.ToString(), 2000);
    }

    /// <summary>Text from an alert, made fit for a single-line field: control and bidi characters become spaces, clipped.</summary>
    private static string SingleLine(string s, int max) => Clip(s, max, keepLineBreaks: false).Trim();

    /// <summary>Text from an alert, made fit for a text field: bidi characters and control characters other than line
    /// breaks and tabs become spaces (the characters <see cref="IncidentInput.Check"/> refuses), clipped to <paramref name="max"/>.</summary>
    private static string Clip(string s, int max, bool keepLineBreaks = true)
    {
        var chars = s.Select(ch => (char.IsControl(ch) && !(keepLineBreaks && ch is '\n' or '\t')) || ch is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' ? ' ' : ch).ToArray();
        var t = new string(chars);
        return t.Length <= max ? t : t[..(max - 1)] + "…";
    }
}

/// <summary>An alert Watchkeeper raises about an incident (an SLA breach); <see cref="EndsAt"/> is set once it resolved.</summary>
public sealed record IncidentAlert(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    string GeneratorUrl);

public sealed partial class IncidentService
{
    /// <summary>The alert name of an SLA breach.</summary>
    public const string SlaBreachAlertName = "IncidentSlaBreached";

    /// <summary>How long a breach alert that ended is still reported as resolved, so the alert store and receivers learn it.</summary>
    public static readonly TimeSpan ResolvedBreachResend = TimeSpan.FromMinutes(15);

    private sealed class BreachAlertRow
    {
        public long IncidentId { get; set; }
        public string Kind { get; set; } = "";
        public string Severity { get; set; } = "";
        public long DueAt { get; set; }
        public long BreachedAt { get; set; }
        public string Title { get; set; } = "";
        public long? AcknowledgedAt { get; set; }
        public long? ResolvedAt { get; set; }
    }

    /// <summary>
    /// SLA breaches as alerts, so they go through the same routes as every other alert: a response breach fires until
    /// the incident is acknowledged, a resolution breach until it is resolved; an ended breach is reported resolved for
    /// <see cref="ResolvedBreachResend"/>. SEV1 and SEV2 breaches are <c>critical</c>, the others <c>warning</c>.
    /// </summary>
    public async Task<IReadOnlyList<IncidentAlert>> SlaBreachAlertsAsync(CancellationToken ct = default)
    {
        var now = Now;
        var since = now - (long)ResolvedBreachResend.TotalMilliseconds;
        var rows = await db.ReadAsync(async c => (await c.QueryAsync<BreachAlertRow>("""
            SELECT b.incident_id AS IncidentId, b.kind AS Kind, b.severity AS Severity, b.due_at AS DueAt, b.breached_at AS BreachedAt,
                   i.title AS Title, i.acknowledged_at AS AcknowledgedAt, i.resolved_at AS ResolvedAt
            FROM sla_breaches b JOIN incidents i ON i.id = b.incident_id
            WHERE (b.kind = 'response' AND (i.acknowledged_at IS NULL OR i.acknowledged_at >= @since))
               OR (b.kind = 'resolution' AND (i.resolved_at IS NULL OR i.resolved_at >= @since))
            ORDER BY b.incident_id, b.kind
            """, new { since })).AsList(), ct);
        var list = new List<IncidentAlert>(rows.Count);
        foreach (var r in rows)
        {
            var ended = r.Kind == "response" ? r.AcknowledgedAt : r.ResolvedAt;
            // A breach recorded on acknowledgement or resolution (late) has already ended: it is reported resolved.
            var id = Id(r.IncidentId);
            var sev = r.Severity.ToUpperInvariant();
            var labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["alertname"] = SlaBreachAlertName,
                [IncidentIdLabel] = id,
                ["sla"] = r.Kind,
                ["incident_severity"] = r.Severity,
                ["severity"] = sev is "SEV1" or "SEV2" ? "critical" : "warning",
            };
            var url = Config.Server.Absolute("/incidents/" + id);
            var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["summary"] = $"{r.Severity} incident #{id} missed its {r.Kind} SLA",
                ["description"] = $"\"{SingleLine(r.Title, 200)}\" was due to be {(r.Kind == "response" ? "acknowledged" : "resolved")} by {At(r.DueAt):yyyy-MM-dd HH:mm:ss} UTC"
                    + (ended is null ? " and still is not." : $"; it was at {At(ended.Value):yyyy-MM-dd HH:mm:ss} UTC."),
                ["incident_url"] = url,
            };
            list.Add(new IncidentAlert(labels, annotations, At(r.DueAt), ended is { } e ? At(Math.Max(e, r.DueAt)) : null, url));
        }
        return list;
    }
}
