using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>Postmortems and their action items.</summary>
public sealed partial class IncidentService
{
    // ---------------------------------------------------------------- postmortem and action items

    public async Task<PostmortemView> PostmortemAsync(long id, CancellationToken ct = default)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id", new { id }), ct)
            ?? throw new NotFoundException($"incident {id} not found");
        var pm = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<PostmortemRow>("SELECT * FROM postmortems WHERE incident_id = @id", new { id }), ct);
        var timeline = await TimelineAsync(id, ct);
        var actions = await ActionItemsAsync(id, ct);
        return BuildPostmortem(row, pm, timeline, actions);
    }

    private static PostmortemView BuildPostmortem(IncidentRow row, PostmortemRow? pm, IReadOnlyList<TimelineEntry> timeline, IReadOnlyList<ActionItemView> actions)
    {
        var summary = pm?.Summary ?? "";
        var impact = pm?.Impact ?? "";
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Postmortem: {row.Title}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"**Incident**: #{row.Id} · **Severity**: {row.Severity} · **Kind**: {row.Kind} · **Status**: {IncidentStatus.Title(row.Status)}\n");
        md.Append(CultureInfo.InvariantCulture, $"**Detected**: {At(row.DetectedAt):u} · **Resolved**: {(row.ResolvedAt is { } r ? At(r).ToString("u", CultureInfo.InvariantCulture) : "not yet")}\n\n");
        md.Append("## Summary\n").Append(summary.Length > 0 ? summary : row.Summary).Append("\n\n");
        md.Append("## Impact\n").Append(impact.Length > 0 ? impact : $"Users affected: {row.UsersAffected}. Business impact: {row.BusinessImpact}.").Append("\n\n");
        md.Append("## Timeline\n");
        foreach (var t in timeline) md.Append(CultureInfo.InvariantCulture, $"- {t.At:yyyy-MM-dd HH:mm:ss} UTC ({t.Author}) {t.Message}\n");
        md.Append("\n## Root cause\n").Append(pm?.RootCause ?? "").Append("\n\n");
        md.Append("## Lessons learned\n").Append(pm?.LessonsLearned ?? "").Append("\n\n");
        md.Append("## Action items\n");
        foreach (var a in actions) md.Append(CultureInfo.InvariantCulture, $"- [{(a.Status == "done" ? "x" : " ")}] {a.Title} (owner: {a.Owner}{(a.DueAt is { } d ? $", due {d:yyyy-MM-dd}" : "")}, {a.Status})\n");
        return new PostmortemView(row.Id, row.Title, row.Severity, summary, impact, pm?.RootCause ?? "", pm?.LessonsLearned ?? "",
            pm is null ? null : At(pm.UpdatedAt), pm?.UpdatedBy, timeline, actions, md.ToString());
    }

    public async Task<PostmortemView> SavePostmortemAsync(long id, PostmortemRequest r, string actor, CancellationToken ct = default)
    {
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.postmortem", async (c, tx, row, now) =>
        {
            var existing = await c.QuerySingleOrDefaultAsync<PostmortemRow>("SELECT * FROM postmortems WHERE incident_id = @id", new { id }, tx);
            detail.Before = existing is null ? null : Snapshot(existing);
            var pm = existing ?? new PostmortemRow { IncidentId = id };
            if (r.Summary is not null) pm.Summary = Optional(r.Summary, "summary", 50_000, multiline: true);
            if (r.Impact is not null) pm.Impact = Optional(r.Impact, "impact", 50_000, multiline: true);
            if (r.RootCause is not null) pm.RootCause = Optional(r.RootCause, "root_cause", 50_000, multiline: true);
            if (r.LessonsLearned is not null) pm.LessonsLearned = Optional(r.LessonsLearned, "lessons_learned", 50_000, multiline: true);
            pm.UpdatedAt = now;
            pm.UpdatedBy = actor;
            if (existing is null)
                await c.ExecuteAsync("INSERT INTO postmortems (incident_id, summary, impact, root_cause, lessons_learned, updated_at, updated_by) VALUES (@IncidentId, @Summary, @Impact, @RootCause, @LessonsLearned, @UpdatedAt, @UpdatedBy)", pm, tx);
            else
                await c.ExecuteAsync("UPDATE postmortems SET summary = @Summary, impact = @Impact, root_cause = @RootCause, lessons_learned = @LessonsLearned, updated_at = @UpdatedAt, updated_by = @UpdatedBy WHERE incident_id = @IncidentId", pm, tx);
            await Timeline(c, tx, id, actor, "postmortem", existing is null ? "Postmortem started" : "Postmortem updated", now);
            detail.After = Snapshot(pm);
        }, detail, ct: ct);
        return await PostmortemAsync(id, ct);
    }

    public async Task<IReadOnlyList<ActionItemView>> ActionItemsAsync(long id, CancellationToken ct = default)
    {
        var now = Now;
        return await db.ReadAsync(async c => (await c.QueryAsync<ActionItemRow>("SELECT * FROM action_items WHERE incident_id = @id ORDER BY id", new { id }))
            .Select(a => ToView(a, now)).ToList(), ct);
    }

    public async Task<IReadOnlyList<ActionItemView>> AllActionItemsAsync(string? status, CancellationToken ct = default)
    {
        if (status is not null) status = OneOf(status, "status", ActionItemStatus.All);
        var now = Now;
        return await db.ReadAsync(async c => (await c.QueryAsync<ActionItemRow>(
                "SELECT * FROM action_items" + (status is null ? "" : " WHERE status = @status") + " ORDER BY id", new { status }))
            .Select(a => ToView(a, now)).ToList(), ct);
    }

    private static ActionItemView ToView(ActionItemRow a, long now) =>
        new(a.Id, a.IncidentId, a.Title, a.Owner, At(a.DueAt), a.Status, a.DueAt is { } d && now > d && a.Status is "open" or "in_progress", At(a.CreatedAt), At(a.CompletedAt));

    public async Task<ActionItemView> AddActionItemAsync(long id, ActionItemRequest r, string actor, CancellationToken ct = default)
    {
        var title = Required(r.Title, "title", 500);
        var owner = Required(r.Owner, "owner", 100);
        var status = OneOf(r.Status ?? "open", "status", ActionItemStatus.All);
        ActionItemView? view = null;
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.action_item", async (c, tx, row, now) =>
        {
            var a = new ActionItemRow { IncidentId = id, Title = title, Owner = owner, DueAt = IncidentInput.DueAt(r.DueAt, "due_at"), Status = status, CreatedAt = now, UpdatedAt = now, CompletedAt = status == "done" ? now : null };
            a.Id = await c.ExecuteScalarAsync<long>("INSERT INTO action_items (incident_id, title, owner, due_at, status, created_at, updated_at, completed_at) VALUES (@IncidentId, @Title, @Owner, @DueAt, @Status, @CreatedAt, @UpdatedAt, @CompletedAt) RETURNING id", a, tx);
            await Timeline(c, tx, id, actor, "action_item", $"Action item added: {title} (owner {owner})", now);
            view = ToView(a, now);
            detail.After = Snapshot(a);
        }, detail, ct: ct);
        return view!;
    }

    public async Task<ActionItemView> UpdateActionItemAsync(long id, long itemId, ActionItemRequest r, string actor, CancellationToken ct = default)
    {
        ActionItemView? view = null;
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.action_item", async (c, tx, row, now) =>
        {
            var a = await c.QuerySingleOrDefaultAsync<ActionItemRow>("SELECT * FROM action_items WHERE id = @itemId AND incident_id = @id", new { itemId, id }, tx)
                ?? throw new NotFoundException($"action item {itemId} not found on incident {id}");
            detail.Before = Snapshot(a);
            if (r.Title is not null) a.Title = Required(r.Title, "title", 500);
            if (r.Owner is not null) a.Owner = Required(r.Owner, "owner", 100);
            if (r.DueAt is not null) a.DueAt = IncidentInput.DueAt(r.DueAt, "due_at");
            if (r.Status is not null)
            {
                a.Status = OneOf(r.Status, "status", ActionItemStatus.All);
                a.CompletedAt = a.Status == "done" ? a.CompletedAt ?? now : null;
            }
            a.UpdatedAt = now;
            await c.ExecuteAsync("UPDATE action_items SET title = @Title, owner = @Owner, due_at = @DueAt, status = @Status, updated_at = @UpdatedAt, completed_at = @CompletedAt WHERE id = @Id", a, tx);
            await Timeline(c, tx, id, actor, "action_item", $"Action item updated: {a.Title} ({a.Status})", now);
            view = ToView(a, now);
            detail.After = Snapshot(a);
        }, detail, ct: ct);
        return view!;
    }
}
