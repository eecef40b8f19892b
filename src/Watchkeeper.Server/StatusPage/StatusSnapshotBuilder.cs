using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Dapper;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.StatusPage;

/// <summary>What the page needs from the database: incidents with a public status update and those updates.</summary>
public sealed record StatusDbPart(IReadOnlyList<StatusSnapshotBuilder.IncidentLite> Incidents, IReadOnlyList<PublicUpdate> Updates, string Mark, DateTimeOffset ReadAt)
{
    public IReadOnlyList<PublicMaintenance> Maintenances { get; init; } = [];
}

/// <summary>
/// Builds <see cref="StatusData"/>: component levels from firing alerts and scrape targets (live, in memory), replaced
/// by the level of an open incident with a public status update that affects the component; the public incidents
/// and their public updates from the database. The rules are in docs/status-page.md.
/// </summary>
public sealed class StatusSnapshotBuilder(ConfigHolder config, IServiceCatalog catalog, AlertingEngine engine, MetricsRuntime metrics, Db db, TimeProvider time,
    IStatusMaintenanceSource? maintenance = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConditionalWeakTable<StatusPageConfig, ComponentIndex> _matchers = [];

    public sealed class IncidentLite
    {
        public long Id { get; set; }
        public string Title { get; set; } = "";
        public string Severity { get; set; } = "";
        public string Status { get; set; } = "";
        public string ServicesAffected { get; set; } = "[]";
        public long DetectedAt { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
        public long? MitigatedAt { get; set; }
        public long? ResolvedAt { get; set; }
    }

    private sealed class UpdateRow
    {
        public long Id { get; set; }
        public long IncidentId { get; set; }
        public long Ts { get; set; }
        public string Status { get; set; } = "";
        public string CurrentStatus { get; set; } = "";
    }

    /// <summary>Changes whenever an incident or a public status update is written (cheap: two indexed aggregates).</summary>
    public async Task<string> ReadMarkAsync(CancellationToken ct) =>
        await ReadIncidentMarkAsync(ct) + (maintenance is null ? "" : "/" + await maintenance.MarkAsync(ct));

    private Task<string> ReadIncidentMarkAsync(CancellationToken ct) => db.ReadAsync(async c =>
    {
        var (maxUpdated, count, maxUpdate) = await c.QuerySingleAsync<(long, long, long)>(new CommandDefinition("""
            SELECT (SELECT COALESCE(MAX(updated_at), 0) FROM incidents), (SELECT COUNT(*) FROM incidents),
                   (SELECT COALESCE(MAX(id), 0) FROM status_updates WHERE visibility = 'public')
            """, cancellationToken: ct));
        return string.Create(CultureInfo.InvariantCulture, $"{maxUpdated}/{count}/{maxUpdate}");
    }, ct);

    /// <summary>Reads the public incidents: open ones and those resolved within <c>status_page.history</c>, newest first (at most 200).</summary>
    public async Task<StatusDbPart> ReadDbAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var since = (now - config.Current.StatusPage.History.Value).ToUnixTimeMilliseconds();
        var mark = await ReadMarkAsync(ct);
        var maintenances = maintenance is null ? [] : await maintenance.ReadAsync(ct);
        return await db.ReadAsync(async c =>
        {
            var incidents = (await c.QueryAsync<IncidentLite>(new CommandDefinition("""
                SELECT i.id, i.title, i.severity, i.status, i.services_affected, i.detected_at, i.created_at, i.updated_at, i.mitigated_at, i.resolved_at
                FROM incidents i
                WHERE (i.resolved_at IS NULL OR i.resolved_at >= @since)
                  AND EXISTS (SELECT 1 FROM status_updates u WHERE u.incident_id = i.id AND u.visibility = 'public')
                ORDER BY i.id DESC LIMIT 200
                """, new { since }, cancellationToken: ct))).AsList();
            var ids = incidents.Select(i => i.Id).ToArray();
            var updates = new List<PublicUpdate>();
            if (ids.Length > 0)
            {
                // Only the updates marked public, and only their author's text: never notes, never the rendered template.
                var rows = await c.QueryAsync<UpdateRow>(new CommandDefinition(
                    $"SELECT id, incident_id, ts, status, current_status FROM status_updates WHERE visibility = 'public' AND incident_id IN ({string.Join(',', ids)}) ORDER BY ts, id",
                    cancellationToken: ct));
                updates.AddRange(rows.Select(r => new PublicUpdate(r.Id, r.IncidentId, r.Status, r.CurrentStatus, DateTimeOffset.FromUnixTimeMilliseconds(r.Ts))));
            }
            return new StatusDbPart(incidents, updates, mark, now) { Maintenances = maintenances };
        }, ct);
    }

    /// <summary>Each component's level from firing alerts (muted ones excluded) and its scrape targets.</summary>
    public Dictionary<string, string> LiveLevels(StatusPageConfig s)
    {
        var now = time.GetUtcNow();
        var index = MatchersOf(s);
        var levels = s.Components.ToDictionary(x => x.Id, _ => StatusLevel.Operational, StringComparer.Ordinal);
        var matched = new bool[s.Components.Count];
        foreach (var a in engine.Store.Snapshot())
        {
            if (a.Resolved(now)) continue;
            if (!s.AlertLevels.TryGetValue(a.Labels.GetValueOrDefault("severity") ?? "", out var level)) continue;
            // Runs over every held alert each refresh: only the components whose key label the alert carries are tried,
            // and nothing is allocated for the (usual) alert that names no component.
            if (!index.Match(a.Labels, matched)) continue;
            var st = engine.Status(a);
            if (st.SilencedBy.Count > 0 || st.InhibitedBy.Count > 0) continue;
            for (var i = 0; i < matched.Length; i++)
                if (matched[i]) levels[s.Components[i].Id] = StatusLevel.Worst(levels[s.Components[i].Id], level);
        }
        var targets = metrics.Scrape?.ActiveTargets();
        if (targets is not null)
        {
            foreach (var x in s.Components.Where(x => x.Targets))
            {
                int up = 0, down = 0;
                foreach (var t in targets)
                {
                    if (!string.Equals(t.Job, JobOf(x), StringComparison.Ordinal)) continue;
                    if (t.Health == TargetHealth.Up) up++;
                    else if (t.Health == TargetHealth.Down) down++;
                }
                if (down > 0) levels[x.Id] = StatusLevel.Worst(levels[x.Id], up == 0 ? StatusLevel.MajorOutage : StatusLevel.PartialOutage);
            }
        }
        return levels;
    }

    private ComponentIndex MatchersOf(StatusPageConfig s) => _matchers.GetValue(s, cfg => new ComponentIndex(cfg.Components.Select(x =>
        (x.Alerts.Count > 0 ? x.Alerts : [$"job=\"{Escape(JobOf(x))}\"", $"service=\"{Escape(x.Service)}\""])
            .Select(m => new Matchers(MatcherParser.ParseList(m))).ToList()).ToList()));

    /// <summary>
    /// The components' alert matchers, indexed by one equality matcher of each set (<c>job="api"</c>): an alert is tried
    /// only against the sets whose key label it carries with that value, and against the sets that have no such matcher.
    /// </summary>
    internal sealed class ComponentIndex
    {
        private readonly Dictionary<string, Dictionary<string, List<(int Component, Matchers Set)>>> _byKey = new(StringComparer.Ordinal);
        private readonly List<(int Component, Matchers Set)> _always = [];

        public ComponentIndex(List<List<Matchers>> components)
        {
            for (var i = 0; i < components.Count; i++)
                foreach (var set in components[i])
                {
                    // An equality matcher with an empty value also matches an alert without the label: not a key.
                    var key = set.FirstOrDefault(m => m.Op == MatchOp.Equal && m.Value.Length > 0);
                    if (key is null)
                    {
                        _always.Add((i, set));
                        continue;
                    }
                    if (!_byKey.TryGetValue(key.Name, out var values)) _byKey[key.Name] = values = new(StringComparer.Ordinal);
                    if (!values.TryGetValue(key.Value, out var list)) values[key.Value] = list = [];
                    list.Add((i, set));
                }
        }

        /// <summary>Sets <paramref name="matched"/>[i] for each component whose matchers match; true when any does.</summary>
        public bool Match(IReadOnlyDictionary<string, string> labels, bool[] matched)
        {
            Array.Clear(matched);
            var any = false;
            foreach (var (name, values) in _byKey)
            {
                if (!labels.TryGetValue(name, out var v) || !values.TryGetValue(v, out var sets)) continue;
                foreach (var (c, set) in sets)
                    if (!matched[c] && set.Matches(labels)) matched[c] = any = true;
            }
            foreach (var (c, set) in _always)
                if (!matched[c] && set.Matches(labels)) matched[c] = any = true;
            return any;
        }
    }

    /// <summary>The <c>job</c> label of a component's service: the catalog's, or the service name when the catalog does not list it.</summary>
    private string JobOf(StatusComponentConfig x) => catalog.Find(x.Service)?.JobLabel ?? x.Service;

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>Puts the page together. <paramref name="previous"/> keeps each component's <c>updated_at</c> while its level is unchanged.</summary>
    public StatusData Compose(StatusDbPart dbPart, Dictionary<string, string> live, StatusData? previous, string? staleNote)
    {
        var c = config.Current;
        var s = c.StatusPage;
        var now = time.GetUtcNow();
        var updatesBy = dbPart.Updates.ToLookup(u => u.IncidentId);
        var incidents = new List<PublicIncident>();
        var incidentLevel = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var i in dbPart.Incidents)
        {
            var services = JsonSerializer.Deserialize<List<string>>(i.ServicesAffected, Json) ?? [];
            var affected = s.Components.Where(x => services.Contains(x.Service, StringComparer.OrdinalIgnoreCase) || services.Contains(x.Id, StringComparer.OrdinalIgnoreCase))
                .Select(x => x.Id).ToList();
            var level = s.IncidentLevels.GetValueOrDefault(i.Severity) ?? StatusLevel.DegradedPerformance;
            if (i.ResolvedAt is null)
                foreach (var id in affected) incidentLevel[id] = incidentLevel.TryGetValue(id, out var l) ? StatusLevel.Worst(l, level) : level;
            var updates = updatesBy[i.Id].ToList();
            incidents.Add(new PublicIncident(i.Id, i.Title, i.Status, StatusLevel.Impact(level), At(i.DetectedAt),
                At(Math.Max(i.UpdatedAt, updates.Count == 0 ? 0 : updates[^1].At.ToUnixTimeMilliseconds())),
                i.MitigatedAt is { } m ? At(m) : null, i.ResolvedAt is { } r ? At(r) : null, affected, updates));
        }

        var components = new List<StatusComponent>();
        for (var n = 0; n < s.Components.Count; n++)
        {
            var x = s.Components[n];
            // An open incident with a public update sets the level (people's judgement over the automatic one).
            // A running maintenance shows its components under maintenance (their alerts are silenced meanwhile).
            var level = incidentLevel.TryGetValue(x.Id, out var il) ? il
                : dbPart.Maintenances.Any(m => m.InProgress && m.ComponentIds.Contains(x.Id)) ? StatusLevel.UnderMaintenance
                : live.GetValueOrDefault(x.Id) ?? StatusLevel.Operational;
            var before = previous?.Components.FirstOrDefault(p => p.Id == x.Id);
            var updated = before is not null && before.Level == level ? before.UpdatedAt : now;
            var service = catalog.Find(x.Service);
            components.Add(new StatusComponent(x.Id, x.Name.Length > 0 ? x.Name : service?.Title ?? x.Service,
                x.Description.Length > 0 ? x.Description : service?.Description ?? "", string.IsNullOrEmpty(x.Group) ? null : x.Group, level, n + 1, updated));
        }
        var groups = s.Groups.Select((g, n) =>
        {
            var members = components.Where(x => x.GroupId == g.Id).ToList();
            var level = members.Aggregate(StatusLevel.Operational, (a, x) => StatusLevel.Worst(a, x.Level));
            return new StatusGroup(g.Id, g.Name, g.Description, level, n + 1, members);
        }).Where(g => g.Components.Count > 0).ToList();

        var worst = components.Aggregate(StatusLevel.Operational, (a, x) => StatusLevel.Worst(a, x.Level));
        var indicator = StatusLevel.Indicator(worst);
        // An open public incident raises the indicator to its impact even when it names no component.
        foreach (var i in incidents.Where(i => i.Open))
            if (StatusLevel.ImpactRank(i.Impact) > StatusLevel.ImpactRank(indicator == "maintenance" ? "none" : indicator)) indicator = i.Impact;
        return new StatusData(s.Title, s.Description, s.Footer, s.PageUrl(c), groups, components.Where(x => x.GroupId is null).ToList(), components,
            incidents, indicator, StatusLevel.IndicatorTitle(indicator), now, dbPart.ReadAt, staleNote, s.Subscribers.Email, s.Subscribers.Webhooks)
        {
            Maintenances = dbPart.Maintenances,
        };
    }

    private static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
