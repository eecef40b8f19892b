using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>Status updates (operations manual 2.3): posting, rendering the template, listing.</summary>
public sealed partial class IncidentService
{
    public async Task<StatusUpdateView> PostStatusUpdateAsync(long id, StatusUpdateRequest r, long? ifMatch, string actor, CancellationToken ct = default)
    {
        var current = Required(r.CurrentStatus, "current_status", 10_000, multiline: true);
        var visibility = OneOf(r.Visibility ?? "internal", "visibility", ["internal", "public"]);
        Duration? nextIn = null;
        if (!string.IsNullOrWhiteSpace(r.NextUpdateIn))
        {
            if (!Duration.TryParse(r.NextUpdateIn, out var d) || d.Value <= TimeSpan.Zero)
                throw new ValidationException("next_update_in", $"invalid duration \"{r.NextUpdateIn}\" (use e.g. 30m, 1h)");
            if (d.Value > TimeSpan.FromDays(365)) throw new ValidationException("next_update_in", "must be at most 365d");
            nextIn = d;
        }
        StatusUpdateView? result = null;
        var detail = new AuditDetail();
        await MutateAsync(id, ifMatch, actor, "incident.status_update", async (c, tx, row, now) =>
        {
            if (r.Status is not null && !string.Equals(r.Status, row.Status, StringComparison.OrdinalIgnoreCase))
            {
                var target = OneOf(r.Status, "status", IncidentStatus.All);
                await ApplyTransition(c, tx, row, target, null, actor, now);
            }
            result = await InsertStatusUpdate(c, tx, row, visibility, current, nextIn, actor, now);
            detail.After = new { status_update = result.Id, visibility, status = row.Status, current_status = current, next_update_at = result.NextUpdateAt };
        }, detail, ct: ct);
        return result!;
    }

    /// <summary>Stores a status update rendered from the template and its timeline entry; sets when the next one is due.</summary>
    private async Task<StatusUpdateView> InsertStatusUpdate(DbConnection c, DbTransaction tx, IncidentRow row, string visibility, string current, Duration? nextIn, string actor, long now)
    {
        var sev = SeverityOf(row.Severity, "severity");
        long? next = row.Status == IncidentStatus.Resolved ? null : now + (long)(nextIn ?? sev.UpdateInterval).Value.TotalMilliseconds;
        row.NextUpdateDueAt = next;
        var body = RenderStatusUpdate(row, current, now, next);
        var uid = await c.ExecuteScalarAsync<long>("""
            INSERT INTO status_updates (incident_id, ts, author, visibility, status, current_status, next_update_at, body)
            VALUES (@id, @now, @actor, @visibility, @status, @current, @next, @body) RETURNING id
            """, new { id = row.Id, now, actor, visibility, status = row.Status, current, next, body }, tx);
        await Timeline(c, tx, row.Id, actor, "status_update", $"{IncidentStatus.Title(visibility)} status update ({IncidentStatus.Title(row.Status)}): {current}", now);
        return new StatusUpdateView(uid, At(now), actor, visibility, row.Status, current, At(next), body);
    }

    /// <summary>
    /// Resolves an incident with a resolution message (the timeline entry) and a final public status update, in one
    /// transaction. The public update is <paramref name="publicUpdate"/> when given; when it is blank and the incident
    /// already has public updates, the resolution message is published, so the last public update never still reads
    /// "Identified ... next by"; an incident never made public stays internal. <paramref name="requireMessage"/> is set
    /// by the page, where the message is required; the API keeps it optional.
    /// </summary>
    public async Task<IncidentView> ResolveAsync(long id, string? message, string? publicUpdate, long? ifMatch, string actor, bool requireMessage = false, CancellationToken ct = default)
    {
        var resolution = requireMessage ? Required(message, "message", 10_000, multiline: true) : Optional(message, "message", 10_000, multiline: true);
        var update = Optional(publicUpdate, "public_update", 10_000, multiline: true);
        var detail = new AuditDetail();
        return await MutateAsync(id, ifMatch, actor, "incident.status", async (c, tx, row, now) =>
        {
            await ApplyTransition(c, tx, row, IncidentStatus.Resolved, resolution.Length == 0 ? null : resolution, actor, now);
            var anyPublic = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM status_updates WHERE incident_id = @id AND visibility = 'public'", new { id }, tx) > 0;
            var text = update.Length > 0 ? update : anyPublic ? (resolution.Length > 0 ? resolution : "The incident is resolved.") : null;
            if (text is null) return;
            var u = await InsertStatusUpdate(c, tx, row, "public", text, null, actor, now);
            detail.After = new { status_update = u.Id, visibility = "public", status = row.Status, current_status = text };
        }, detail, ct);
    }

    /// <summary>Renders the manual's status update template (2.3) for an incident.</summary>
    public string RenderStatusUpdate(IncidentRow row, string currentStatus, long now, long? next)
    {
        var services = JsonSerializer.Deserialize<List<string>>(row.ServicesAffected, Json) ?? [];
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["title"] = row.Title,
            ["id"] = Id(row.Id),
            ["severity"] = row.Severity,
            ["status"] = IncidentStatus.Title(row.Status),
            ["last_updated"] = At(now).ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            ["summary"] = string.IsNullOrWhiteSpace(row.Summary) ? row.Title : row.Summary,
            ["users_affected"] = row.UsersAffected,
            ["services_affected"] = services.Count == 0 ? "None identified yet" : string.Join(", ", services),
            ["business_impact"] = row.BusinessImpact,
            ["current_status"] = currentStatus,
            ["next_update"] = next is { } n ? $"By {At(n).ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}" : "No further updates planned: the incident is resolved.",
            ["contact"] = Config.Incidents.Contact,
            ["commander"] = row.Commander ?? "unassigned",
        };
        return StatusUpdateTemplate.Render(Config.StatusUpdateTemplate, values);
    }

    public async Task<IReadOnlyList<StatusUpdateView>> StatusUpdatesAsync(long id, string? visibility, CancellationToken ct = default)
    {
        if (visibility is not null) visibility = OneOf(visibility, "visibility", ["internal", "public"]);
        await EnsureExists(id, ct);
        return await db.ReadAsync(async c => (await c.QueryAsync<StatusUpdateRow>(
                "SELECT * FROM status_updates WHERE incident_id = @id" + (visibility is null ? "" : " AND visibility = @visibility") + " ORDER BY id",
                new { id, visibility }))
            .Select(u => new StatusUpdateView(u.Id, At(u.Ts), u.Author, u.Visibility, u.Status, u.CurrentStatus, At(u.NextUpdateAt), u.Body)).ToList(), ct);
    }
}
