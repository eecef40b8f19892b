using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>A postmortem (or a resolved incident still waiting for one) in the list across incidents.</summary>
public sealed record PostmortemListItem(long IncidentId, string Title, string Severity, string Status, DateTimeOffset DetectedAt, DateTimeOffset? ResolvedAt,
    DateTimeOffset? UpdatedAt, string? UpdatedBy, string Summary, int OpenActionItems);

/// <summary>An action item with its incident, in the list across incidents.</summary>
public sealed record ActionItemListItem(ActionItemView Item, string IncidentTitle, string IncidentSeverity);

/// <summary>Lists across incidents: postmortems and action items.</summary>
public sealed partial class IncidentService
{
    /// <summary>Postmortems written, and resolved incidents without one (<paramref name="state"/>: written, missing or null for both), newest incident first.</summary>
    public async Task<IReadOnlyList<PostmortemListItem>> PostmortemsAsync(string? state, int limit = 500, CancellationToken ct = default)
    {
        var filter = state switch
        {
            null or "" => "p.incident_id IS NOT NULL OR i.status = 'resolved'",
            "written" => "p.incident_id IS NOT NULL",
            "missing" => "p.incident_id IS NULL AND i.status = 'resolved'",
            _ => throw new ValidationException("state", $"'{state}' is not one of written, missing"),
        };
        var rows = await db.ReadAsync(async c => (await c.QueryAsync<PostmortemListRow>($"""
            SELECT i.id AS IncidentId, i.title AS Title, i.severity AS Severity, i.status AS Status, i.detected_at AS DetectedAt, i.resolved_at AS ResolvedAt,
                   p.updated_at AS UpdatedAt, p.updated_by AS UpdatedBy, p.summary AS Summary,
                   (SELECT COUNT(*) FROM action_items a WHERE a.incident_id = i.id AND a.status IN ('open', 'in_progress')) AS OpenActionItems
            FROM incidents i LEFT JOIN postmortems p ON p.incident_id = i.id
            WHERE {filter} ORDER BY i.id DESC LIMIT @limit
            """, new { limit })).AsList(), ct);
        return rows.Select(r => new PostmortemListItem(r.IncidentId, r.Title, r.Severity, r.Status, At(r.DetectedAt), At(r.ResolvedAt), At(r.UpdatedAt), r.UpdatedBy,
            r.Summary ?? "", (int)r.OpenActionItems)).ToList();
    }

    /// <summary>
    /// Action items of every incident: <paramref name="status"/> one of <see cref="ActionItemStatus.All"/>, "open" also
    /// counting in-progress ones, or null for all; <paramref name="owner"/> exact; <paramref name="overdueOnly"/> past due
    /// and not done. Overdue first, then by due date.
    /// </summary>
    public async Task<IReadOnlyList<ActionItemListItem>> ActionItemsAcrossAsync(string? status, string? owner, bool overdueOnly, CancellationToken ct = default)
    {
        var where = new List<string>();
        if (!string.IsNullOrWhiteSpace(status))
        {
            var s = OneOf(status, "status", ActionItemStatus.All);
            where.Add(s == "open" ? "a.status IN ('open', 'in_progress')" : "a.status = @s");
            status = s;
        }
        if (!string.IsNullOrWhiteSpace(owner)) where.Add("a.owner = @owner");
        var now = Now;
        if (overdueOnly) where.Add("a.due_at IS NOT NULL AND a.due_at < @now AND a.status IN ('open', 'in_progress')");
        var sql = "SELECT a.*, i.title AS IncidentTitle, i.severity AS IncidentSeverity FROM action_items a JOIN incidents i ON i.id = a.incident_id"
            + (where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where)) + " ORDER BY a.id DESC LIMIT 1000";
        var rows = await db.ReadAsync(async c => (await c.QueryAsync<ActionItemListRow>(sql, new { s = status, owner = owner?.Trim(), now })).AsList(), ct);
        return rows.Select(r => new ActionItemListItem(ToView(r, now), r.IncidentTitle, r.IncidentSeverity))
            .OrderByDescending(x => x.Item.Overdue).ThenBy(x => x.Item.DueAt ?? DateTimeOffset.MaxValue).ThenByDescending(x => x.Item.Id).ToList();
    }

    /// <summary>The owners action items have, for the filter.</summary>
    public async Task<IReadOnlyList<string>> ActionItemOwnersAsync(CancellationToken ct = default) =>
        await db.ReadAsync(async c => (await c.QueryAsync<string>("SELECT DISTINCT owner FROM action_items ORDER BY owner")).AsList(), ct);

    private sealed class PostmortemListRow
    {
        public long IncidentId { get; set; }
        public string Title { get; set; } = "";
        public string Severity { get; set; } = "";
        public string Status { get; set; } = "";
        public long DetectedAt { get; set; }
        public long? ResolvedAt { get; set; }
        public long? UpdatedAt { get; set; }
        public string? UpdatedBy { get; set; }
        public string? Summary { get; set; }
        public long OpenActionItems { get; set; }
    }

    /// <summary>An action item row with its incident's title and severity (the JOIN's extra columns).</summary>
    private sealed class ActionItemListRow : ActionItemRow
    {
        public string IncidentTitle { get; set; } = "";
        public string IncidentSeverity { get; set; } = "";
    }
}
