using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>SLA clocks: recording response and resolution breaches.</summary>
public sealed partial class IncidentService
{
    // ---------------------------------------------------------------- SLA

    /// <summary>Records response and resolution breaches that are due by now. Returns how many were recorded.</summary>
    public async Task<int> CheckSlaAsync(CancellationToken ct = default)
    {
        var now = Now;
        var candidates = await db.ReadAsync(async c => (await c.QueryAsync<IncidentRow>("""
            SELECT * FROM incidents i WHERE
              (i.acknowledged_at IS NULL AND i.response_due_at < @now AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.incident_id = i.id AND b.kind = 'response'))
              OR (i.resolved_at IS NULL AND i.resolution_due_at < @now AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.incident_id = i.id AND b.kind = 'resolution'))
            """, new { now })).AsList(), ct);
        var recorded = 0;
        foreach (var row in candidates)
        {
            recorded += await db.WriteAsync(async (c, tx) =>
            {
                // Decide on the row as it is now, not as the scan saw it: it may have been acknowledged or resolved since.
                var fresh = await c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id" + RowLock, new { id = row.Id }, tx);
                if (fresh is null) return 0;
                var n = 0;
                if (fresh.AcknowledgedAt is null && fresh.ResponseDueAt < now && await RecordBreach(c, tx, fresh, "response", now)) n++;
                if (fresh.ResolvedAt is null && fresh.ResolutionDueAt < now && await RecordBreach(c, tx, fresh, "resolution", now)) n++;
                return n;
            }, ct);
        }
        return recorded;
    }

    private async Task<bool> RecordBreach(DbConnection c, DbTransaction tx, IncidentRow row, string kind, long now)
    {
        var exists = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sla_breaches WHERE incident_id = @id AND kind = @kind", new { id = row.Id, kind }, tx);
        if (exists > 0) return false;
        var due = kind == "response" ? row.ResponseDueAt : row.ResolutionDueAt;
        var breachId = await c.ExecuteScalarAsync<long>("INSERT INTO sla_breaches (incident_id, kind, severity, due_at, breached_at) VALUES (@id, @kind, @sev, @due, @now) RETURNING id",
            new { id = row.Id, kind, sev = row.Severity, due, now }, tx);
        var severity = row.Severity;
        db.OnCommit(tx, () => metrics.Breach(breachId, severity, kind));
        await Timeline(c, tx, row.Id, "watchkeeper", "sla_breach",
            $"{row.Severity} {kind} SLA breached: due {At(due):yyyy-MM-dd HH:mm:ss} UTC ({Duration.Format(TimeSpan.FromMilliseconds(due - row.DetectedAt))} after detection)", now);
        await audit.AppendAsync(c, tx, "watchkeeper", "incident.sla_breach", "incident", Id(row.Id), null, new { kind, severity = row.Severity, due_at = At(due) });
        return true;
    }

    public async Task<IReadOnlyList<SlaBreachView>> BreachesAsync(long? id, CancellationToken ct = default)
    {
        return await db.ReadAsync(async c => (await c.QueryAsync<SlaBreachRow>(
            "SELECT * FROM sla_breaches" + (id is null ? "" : " WHERE incident_id = @id") + " ORDER BY id", new { id }))
            .Select(b => new SlaBreachView(b.IncidentId, b.Kind, b.Severity, At(b.DueAt), At(b.BreachedAt))).ToList(), ct);
    }
}

public sealed class SlaBreachRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Kind { get; set; } = "";
    public string Severity { get; set; } = "";
    public long DueAt { get; set; }
    public long BreachedAt { get; set; }
}

public sealed record SlaBreachView(long IncidentId, string Kind, string Severity, DateTimeOffset DueAt, DateTimeOffset BreachedAt);
