using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>Lifecycle: field changes, status transitions, acknowledgement, roles, notes and the timeline.</summary>
public sealed partial class IncidentService
{
    // ---------------------------------------------------------------- changes

    public Task<IncidentView> UpdateAsync(long id, UpdateIncidentRequest r, long? ifMatch, string actor, CancellationToken ct = default) =>
        MutateAsync(id, ifMatch, actor, "incident.update", async (c, tx, row, now) =>
        {
            var changes = new List<string>();
            if (r.Title is not null && r.Title != row.Title) { row.Title = Required(r.Title, "title", 200); changes.Add($"title set to \"{row.Title}\""); }
            if (r.Kind is not null && r.Kind != row.Kind) { row.Kind = OneOf(r.Kind, "kind", IncidentKind.All); changes.Add($"kind set to {row.Kind}"); }
            if (r.Summary is not null && r.Summary != row.Summary) { row.Summary = Optional(r.Summary, "summary", 10_000, multiline: true); changes.Add("summary updated"); }
            if (r.UsersAffected is not null && r.UsersAffected != row.UsersAffected) { row.UsersAffected = Optional(r.UsersAffected, "users_affected", 500); changes.Add($"users affected: {row.UsersAffected}"); }
            if (r.BusinessImpact is not null && r.BusinessImpact != row.BusinessImpact) { row.BusinessImpact = Optional(r.BusinessImpact, "business_impact", 2000, multiline: true); changes.Add($"business impact: {row.BusinessImpact}"); }
            if (r.ServicesAffected is not null)
            {
                var s = JsonSerializer.Serialize(Services(r.ServicesAffected), Json);
                if (s != row.ServicesAffected) { row.ServicesAffected = s; changes.Add($"services affected: {string.Join(", ", r.ServicesAffected)}"); }
            }
            if (r.Severity is not null)
            {
                var sev = SeverityOf(r.Severity, "severity");
                if (!string.Equals(sev.Id, row.Severity, StringComparison.Ordinal))
                {
                    var old = row.Severity;
                    row.Severity = sev.Id;
                    // SLA clocks follow the new severity, measured from detection as the matrix defines them.
                    row.ResponseDueAt = row.DetectedAt + (long)sev.ResponseTime.Value.TotalMilliseconds;
                    row.ResolutionDueAt = row.DetectedAt + (long)sev.ResolutionTime.Value.TotalMilliseconds;
                    await Timeline(c, tx, row.Id, actor, "severity_changed", $"Severity changed from {old} to {sev.Id}", now);
                    foreach (var h in hooks) await h.SeverityChangedAsync(c, tx, row, old, now, ct);
                }
            }
            if (changes.Count > 0) await Timeline(c, tx, row.Id, actor, "updated", string.Join("; ", changes), now);
        }, ct: ct);

    public Task<IncidentView> TransitionAsync(long id, string? status, string? message, long? ifMatch, string actor, CancellationToken ct = default)
    {
        var target = OneOf(status, "status", IncidentStatus.All);
        return MutateAsync(id, ifMatch, actor, "incident.status", (c, tx, row, now) => ApplyTransition(c, tx, row, target, message, actor, now), ct: ct);
    }

    /// <summary>
    /// The lifecycle rules in one place: checks the move, stamps acknowledgement, mitigation and resolution,
    /// records a late resolution, resets the update clock on reopen, and writes the timeline entry.
    /// </summary>
    private async Task ApplyTransition(DbConnection c, DbTransaction tx, IncidentRow row, string target, string? message, string actor, long now)
    {
        var allowed = IncidentStatus.AllowedFrom(row.Status);
        if (!allowed.Contains(target)) throw new InvalidTransitionException(row.Status, target, allowed);
        var from = row.Status;
        row.Status = target;
        if (target != IncidentStatus.Investigating && row.AcknowledgedAt is null)
        {
            row.AcknowledgedAt = now;
            await OnAcknowledged(c, tx, row, actor, now);
        }
        if (target is IncidentStatus.Monitoring or IncidentStatus.Resolved && row.MitigatedAt is null) row.MitigatedAt = now;
        if (target == IncidentStatus.Resolved)
        {
            row.ResolvedAt = now;
            row.NextUpdateDueAt = null;
            if (now > row.ResolutionDueAt) await RecordBreach(c, tx, row, "resolution", now);
            foreach (var h in hooks) await h.ResolvedAsync(c, tx, row, now, CancellationToken.None);
        }
        if (from == IncidentStatus.Resolved)
        {
            row.ResolvedAt = null;
            row.NextUpdateDueAt = now + (long)SeverityOf(row.Severity, "severity").UpdateInterval.Value.TotalMilliseconds;
        }
        var kind = target == IncidentStatus.Resolved ? "resolved" : from == IncidentStatus.Resolved ? "reopened" : "status_changed";
        var text = $"Status changed from {IncidentStatus.Title(from)} to {IncidentStatus.Title(target)}";
        if (!string.IsNullOrWhiteSpace(message)) text += ": " + Optional(message, "message", 10_000, multiline: true);
        await Timeline(c, tx, row.Id, actor, kind, text, now);
    }

    public Task<IncidentView> AcknowledgeAsync(long id, long? ifMatch, string actor, CancellationToken ct = default) =>
        MutateAsync(id, ifMatch, actor, "incident.acknowledge", async (c, tx, row, now) =>
        {
            if (row.AcknowledgedAt is not null) throw new ConflictException($"incident {id} was already acknowledged at {At(row.AcknowledgedAt.Value):u}");
            row.AcknowledgedAt = now;
            await OnAcknowledged(c, tx, row, actor, now);
        }, ct: ct);

    private async Task OnAcknowledged(DbConnection c, DbTransaction tx, IncidentRow row, string actor, long now)
    {
        await Timeline(c, tx, row.Id, actor, "acknowledged", $"Acknowledged by {actor} after {Duration.Format(TimeSpan.FromMilliseconds(Math.Max(0, now - row.DetectedAt)))}", now);
        if (now > row.ResponseDueAt) await RecordBreach(c, tx, row, "response", now);
        foreach (var h in hooks) await h.AcknowledgedAsync(c, tx, row, actor, now, CancellationToken.None);
    }

    public Task<IncidentView> AssignAsync(long id, AssignRequest r, long? ifMatch, string actor, CancellationToken ct = default) =>
        MutateAsync(id, ifMatch, actor, "incident.assign", async (c, tx, row, now) =>
        {
            if (r.Commander is null && r.CommunicationsLead is null && r.Scribe is null)
                throw new ValidationException("commander", "name at least one role: commander, communications_lead or scribe");
            async Task Set(string? value, string field, string label, Func<string?> get, Action<string?> set)
            {
                if (value is null) return;
                var v = value.Length == 0 ? null : Person(value, field);
                if (v == get()) return;
                set(v);
                await Timeline(c, tx, row.Id, actor, "role_assigned", v is null ? $"{label} unassigned" : $"{label}: {v}", now);
            }
            await Set(r.Commander, "commander", "Incident commander", () => row.Commander, v => row.Commander = v);
            await Set(r.CommunicationsLead, "communications_lead", "Communications lead", () => row.CommunicationsLead, v => row.CommunicationsLead = v);
            await Set(r.Scribe, "scribe", "Scribe", () => row.Scribe, v => row.Scribe = v);
        }, ct: ct);

    public async Task<TimelineEntry> AddNoteAsync(long id, string? text, string actor, CancellationToken ct = default)
    {
        var note = Required(text, "text", 10_000, multiline: true);
        TimelineEntry? entry = null;
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.note", async (c, tx, row, now) =>
        {
            var tid = await Timeline(c, tx, row.Id, actor, "note", note, now);
            entry = new TimelineEntry(tid, At(now), actor, "note", note);
            detail.After = new { note = tid, text = note };
        }, detail, ct: ct);
        return entry!;
    }

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(long id, CancellationToken ct = default)
    {
        await EnsureExists(id, ct);
        return await db.ReadAsync(async c => (await c.QueryAsync<TimelineRow>("SELECT * FROM incident_timeline WHERE incident_id = @id ORDER BY id", new { id }))
            .Select(t => new TimelineEntry(t.Id, At(t.Ts), t.Author, t.Kind, t.Message)).ToList(), ct);
    }
}
