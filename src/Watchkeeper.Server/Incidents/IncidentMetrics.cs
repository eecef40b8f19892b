using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>
/// Incident metrics (open incidents, SLA breaches, response and resolution histograms) kept in memory: loaded
/// once at start, then updated after each committed lifecycle change, so a scrape costs nothing per incident.
/// Each incident's last seen state (by version) is kept, so a change is applied once and in order even when
/// commits finish out of order. With PostgreSQL, other replicas' changes are picked up at scrape by
/// <c>updated_at</c> (indexed) with a margin for clock skew.
/// </summary>
public sealed class IncidentMetrics(Db db, ConfigHolder config, TimeProvider time)
{
    public static readonly double[] ResponseBuckets = [60, 300, 900, 1800, 3600, 14400, 86400];
    public static readonly double[] ResolutionBuckets = [900, 3600, 14400, 86400, 259200, 604800];
    private static readonly TimeSpan SkewMargin = TimeSpan.FromMinutes(5);

    private readonly Lock _gate = new();
    private readonly Dictionary<long, IncidentState> _incidents = [];
    private readonly HashSet<long> _breachIds = [];
    private readonly Dictionary<string, long> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Severity, string Kind), long> _breaches = [];
    private readonly Dictionary<string, Histogram> _response = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Histogram> _resolution = new(StringComparer.Ordinal);
    private long _refreshedAt;

    /// <summary>What the metrics need of an incident.</summary>
    public readonly record struct IncidentState(string Severity, string Status, long DetectedAt, long? AcknowledgedAt, long? ResolvedAt, long Version)
    {
        public static IncidentState Of(IncidentRow r) => new(r.Severity, r.Status, r.DetectedAt, r.AcknowledgedAt, r.ResolvedAt, r.Version);
    }

    private sealed class StateRow
    {
        public long Id { get; set; }
        public string Severity { get; set; } = "";
        public string Status { get; set; } = "";
        public long DetectedAt { get; set; }
        public long? AcknowledgedAt { get; set; }
        public long? ResolvedAt { get; set; }
        public long Version { get; set; }
    }

    private sealed class BreachRow
    {
        public long Id { get; set; }
        public string Severity { get; set; } = "";
        public string Kind { get; set; } = "";
    }

    private sealed class Histogram(double[] bounds)
    {
        public readonly double[] Cumulative = new double[bounds.Length];
        public double Count;
        public double Sum;

        public void Add(double v, int sign)
        {
            for (var i = 0; i < bounds.Length; i++) if (v <= bounds[i]) Cumulative[i] += sign;
            Count += sign;
            Sum += sign * v;
        }
    }

    private const string StateSql = "SELECT id, severity, status, detected_at, acknowledged_at, resolved_at, version FROM incidents";
    private const string BreachSql = "SELECT id, severity, kind FROM sla_breaches";

    /// <summary>Reads every incident and breach once (at start).</summary>
    public async Task LoadAsync(CancellationToken ct = default)
    {
        var startedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var (rows, breaches) = await db.ReadAsync(async c =>
            ((await c.QueryAsync<StateRow>(StateSql)).AsList(), (await c.QueryAsync<BreachRow>(BreachSql)).AsList()), ct);
        Apply(rows, breaches);
        lock (_gate) _refreshedAt = startedAt;
    }

    private void Apply(List<StateRow> rows, List<BreachRow> breaches)
    {
        lock (_gate)
        {
            foreach (var r in rows) ApplyLocked(r.Id, new IncidentState(r.Severity, r.Status, r.DetectedAt, r.AcknowledgedAt, r.ResolvedAt, r.Version));
            foreach (var b in breaches) BreachLocked(b.Id, b.Severity, b.Kind);
        }
    }

    /// <summary>Applies an incident's committed state (call after commit, e.g. through <see cref="Db.OnCommit"/>).</summary>
    public void Apply(long id, IncidentState state)
    {
        lock (_gate) ApplyLocked(id, state);
    }

    /// <summary>Incidents not resolved, as last applied (the tab title's count).</summary>
    public long OpenCount
    {
        get
        {
            lock (_gate) return _open.Values.Sum();
        }
    }

    /// <summary>Counts a committed SLA breach once.</summary>
    public void Breach(long breachId, string severity, string kind)
    {
        lock (_gate) BreachLocked(breachId, severity, kind);
    }

    private void ApplyLocked(long id, IncidentState s)
    {
        if (_incidents.TryGetValue(id, out var old))
        {
            if (old.Version >= s.Version) return;
            Contribute(old, -1);
        }
        _incidents[id] = s;
        Contribute(s, +1);
    }

    private void BreachLocked(long id, string severity, string kind)
    {
        if (!_breachIds.Add(id)) return;
        _breaches[(severity, kind)] = _breaches.GetValueOrDefault((severity, kind)) + 1;
    }

    private void Contribute(IncidentState s, int sign)
    {
        if (s.Status != IncidentStatus.Resolved) _open[s.Severity] = _open.GetValueOrDefault(s.Severity) + sign;
        if (s.AcknowledgedAt is { } a) Hist(_response, s.Severity, ResponseBuckets).Add((a - s.DetectedAt) / 1000.0, sign);
        if (s.ResolvedAt is { } z) Hist(_resolution, s.Severity, ResolutionBuckets).Add((z - s.DetectedAt) / 1000.0, sign);
    }

    private static Histogram Hist(Dictionary<string, Histogram> d, string severity, double[] bounds)
    {
        if (!d.TryGetValue(severity, out var h)) d[severity] = h = new Histogram(bounds);
        return h;
    }

    /// <summary>With PostgreSQL, picks up changes other replicas made since the last refresh (a few rows, by index).</summary>
    private async Task RefreshAsync(CancellationToken ct)
    {
        if (db.SingleWriter) return;
        long since;
        lock (_gate) since = _refreshedAt - (long)SkewMargin.TotalMilliseconds;
        var startedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var (rows, breaches) = await db.ReadAsync(async c =>
            ((await c.QueryAsync<StateRow>(StateSql + " WHERE updated_at >= @since", new { since })).AsList(),
             (await c.QueryAsync<BreachRow>(BreachSql + " WHERE breached_at >= @since", new { since })).AsList()), ct);
        Apply(rows, breaches);
        lock (_gate) _refreshedAt = Math.Max(_refreshedAt, startedAt);
    }

    /// <summary>Writes the incident metrics for severities in the current configuration.</summary>
    public async Task WriteAsync(MetricsWriter w, CancellationToken ct)
    {
        await RefreshAsync(ct);
        var sevs = config.Current.Severities.Select(s => s.Id).ToArray();
        lock (_gate)
        {
            w.Header("watchkeeper_incidents_open", "Open incidents by severity.", "gauge");
            foreach (var s in sevs) w.Sample("watchkeeper_incidents_open", ["severity"], [s], _open.GetValueOrDefault(s));
            w.Header("watchkeeper_incident_sla_breaches_total", "SLA breaches recorded, by severity and clock (response, resolution).", "counter");
            foreach (var s in sevs)
                foreach (var k in new[] { "response", "resolution" })
                    w.Sample("watchkeeper_incident_sla_breaches_total", ["severity", "kind"], [s, k], _breaches.GetValueOrDefault((s, k)));
            Write(w, "watchkeeper_incident_response_seconds", "Seconds from detection to acknowledgement.", sevs, ResponseBuckets, _response);
            Write(w, "watchkeeper_incident_resolution_seconds", "Seconds from detection to resolution.", sevs, ResolutionBuckets, _resolution);
        }
    }

    private static void Write(MetricsWriter w, string name, string help, string[] sevs, double[] bounds, Dictionary<string, Histogram> hists)
    {
        w.Header(name, help, "histogram");
        foreach (var s in sevs)
        {
            if (hists.TryGetValue(s, out var h)) w.Histogram(name, ["severity"], [s], bounds, [.. h.Cumulative], h.Count, h.Sum);
            else w.Histogram(name, ["severity"], [s], bounds, new double[bounds.Length], 0, 0);
        }
    }
}
