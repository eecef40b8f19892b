using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>Response checklists: phases with time targets relative to detection.</summary>
public sealed partial class IncidentService
{
    // ---------------------------------------------------------------- checklist

    public async Task<ChecklistView> ChecklistAsync(long id, CancellationToken ct = default)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id", new { id }), ct)
            ?? throw new NotFoundException($"incident {id} not found");
        var items = await db.ReadAsync(async c => (await c.QueryAsync<ChecklistRow>("SELECT * FROM checklist_items WHERE incident_id = @id ORDER BY position", new { id })).AsList(), ct);
        return BuildChecklist(row, items, Now);
    }

    public static ChecklistView BuildChecklist(IncidentRow row, IReadOnlyList<ChecklistRow> items, long now)
    {
        var phases = new List<ChecklistPhaseView>();
        foreach (var g in items.GroupBy(i => i.PhaseKey))
        {
            var first = g.First();
            var due = row.DetectedAt + first.PhaseDueS * 1000;
            // Items stop counting as overdue once the incident is resolved: nothing is late any more.
            var views = g.Select(i => new ChecklistItemView(i.Id, i.Text, i.DoneAt is not null, At(i.DoneAt), i.DoneBy,
                i.DoneAt is null && row.ResolvedAt is null && now > due)).ToList();
            phases.Add(new ChecklistPhaseView(first.PhaseKey, first.PhaseTitle, At(row.DetectedAt + first.PhaseStartS * 1000), At(due),
                views.Any(v => v.Overdue), views.Count(v => v.Done), views.Count, views));
        }
        return new ChecklistView(items.Count > 0 ? items[0].Checklist : "", phases, phases.Sum(p => p.Done), phases.Sum(p => p.Total),
            phases.Sum(p => p.Items.Count(i => i.Overdue)));
    }

    public async Task<ChecklistView> CheckItemAsync(long id, long itemId, bool done, string actor, CancellationToken ct = default)
    {
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.checklist", async (c, tx, row, now) =>
        {
            var item = await c.QuerySingleOrDefaultAsync<ChecklistRow>("SELECT * FROM checklist_items WHERE id = @itemId AND incident_id = @id", new { itemId, id }, tx)
                ?? throw new NotFoundException($"checklist item {itemId} not found on incident {id}");
            detail.Before = new { item = item.Id, phase = item.PhaseKey, item.Text, done = item.DoneAt is not null, done_at = item.DoneAt, done_by = item.DoneBy };
            detail.After = new { item = item.Id, phase = item.PhaseKey, item.Text, done, done_at = done ? item.DoneAt ?? now : (long?)null, done_by = done ? item.DoneBy ?? actor : null };
            if ((item.DoneAt is not null) == done) return;
            await c.ExecuteAsync("UPDATE checklist_items SET done_at = @at, done_by = @by WHERE id = @itemId",
                new { at = done ? now : (long?)null, by = done ? actor : null, itemId }, tx);
            await Timeline(c, tx, id, actor, "checklist_item", $"{(done ? "Checked" : "Unchecked")} [{item.PhaseTitle}] {item.Text}", now);
        }, detail, ct: ct);
        return await ChecklistAsync(id, ct);
    }
}
