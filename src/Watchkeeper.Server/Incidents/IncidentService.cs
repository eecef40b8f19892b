using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Incidents;

/// <summary>Raised when a status transition is not allowed; the API answers 409 with the allowed ones.</summary>
public sealed class InvalidTransitionException(string from, string to, IReadOnlyList<string> allowed)
    : ProblemException(409, "Conflict", $"cannot move an incident from '{from}' to '{to}'; allowed: {(allowed.Count == 0 ? "none" : string.Join(", ", allowed))}")
{
    public string From { get; } = from;
    public string To { get; } = to;
    public IReadOnlyList<string> Allowed { get; } = allowed;

    public override Microsoft.AspNetCore.Mvc.ProblemDetails ToProblem()
    {
        var p = base.ToProblem();
        p.Extensions["current_status"] = From;
        p.Extensions["requested_status"] = To;
        p.Extensions["allowed"] = Allowed;
        return p;
    }
}

/// <summary>Raised when If-Match does not match the incident's current version: 412 with the current ETag.</summary>
public sealed class VersionMismatchException(long current)
    : ProblemException(412, "Precondition failed", $"the incident changed since you read it (current version {current}); reload and retry")
{
    public long Current { get; } = current;

    public override void AddHeaders(IHeaderDictionary headers) => headers.ETag = IncidentsModule.ETag(Current);
}

/// <summary>
/// Incident response (operations manual 2.1-2.3): lifecycle, roles, timeline, status updates,
/// checklists, SLA clocks, postmortems and action items. Every change is one transaction with its
/// timeline entry and its audit record.
/// </summary>
public sealed class IncidentService(Db db, AuditLog audit, ConfigHolder config, TimeProvider time)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
    private WatchkeeperConfig Config => config.Current;

    public static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    public static DateTimeOffset? At(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    // ---------------------------------------------------------------- create / read

    public async Task<IncidentView> CreateAsync(CreateIncidentRequest r, string actor)
    {
        var title = Required(r.Title, "title", 200);
        var kind = OneOf(r.Kind ?? IncidentKind.Operational, "kind", IncidentKind.All);
        var sev = SeverityOf(r.Severity, "severity");
        var source = OneOf(r.DetectionSource ?? "manual", "detection_source", DetectionSource.All);
        var services = Services(r.ServicesAffected);
        var now = Now;
        var detected = r.DetectedAt?.ToUnixTimeMilliseconds() ?? now;
        if (detected > now + 60_000) throw new ValidationException("detected_at", "must not be in the future");
        var checklist = ChecklistFor(kind);

        var row = new IncidentRow
        {
            Title = title,
            Kind = kind,
            Severity = sev.Id,
            Status = IncidentStatus.Investigating,
            Summary = Optional(r.Summary, "summary", 10_000),
            UsersAffected = Optional(r.UsersAffected ?? sev.UsersAffected, "users_affected", 500),
            ServicesAffected = JsonSerializer.Serialize(services, Json),
            BusinessImpact = Optional(r.BusinessImpact ?? sev.BusinessImpact, "business_impact", 2000),
            DetectionSource = source,
            Commander = Person(r.Commander, "commander"),
            CommunicationsLead = Person(r.CommunicationsLead, "communications_lead"),
            Scribe = Person(r.Scribe, "scribe"),
            DetectedAt = detected,
            ResponseDueAt = detected + (long)sev.ResponseTime.Value.TotalMilliseconds,
            ResolutionDueAt = detected + (long)sev.ResolutionTime.Value.TotalMilliseconds,
            NextUpdateDueAt = now + (long)sev.UpdateInterval.Value.TotalMilliseconds,
            CreatedAt = now,
            CreatedBy = actor,
            UpdatedAt = now,
            Version = 1,
        };

        return await db.WriteAsync(async (c, tx) =>
        {
            row.Id = await c.ExecuteScalarAsync<long>("""
                INSERT INTO incidents (title, kind, severity, status, summary, users_affected, services_affected, business_impact,
                  detection_source, commander, communications_lead, scribe, detected_at, response_due_at, resolution_due_at,
                  next_update_due_at, created_at, created_by, updated_at, version)
                VALUES (@Title, @Kind, @Severity, @Status, @Summary, @UsersAffected, @ServicesAffected, @BusinessImpact,
                  @DetectionSource, @Commander, @CommunicationsLead, @Scribe, @DetectedAt, @ResponseDueAt, @ResolutionDueAt,
                  @NextUpdateDueAt, @CreatedAt, @CreatedBy, @UpdatedAt, @Version)
                RETURNING id
                """, row, tx);
            var position = 0;
            foreach (var phase in checklist.Phases)
            {
                foreach (var item in phase.Items)
                {
                    await c.ExecuteAsync("""
                        INSERT INTO checklist_items (incident_id, checklist, phase_key, phase_title, phase_start_s, phase_due_s, position, text)
                        VALUES (@id, @cl, @key, @title, @start, @due, @pos, @text)
                        """, new { id = row.Id, cl = checklist.Name, key = phase.Key, title = phase.Title, start = (long)phase.Start.TotalSeconds,
                            due = (long)phase.Due.TotalSeconds, pos = position++, text = item }, tx);
                }
            }
            await Timeline(c, tx, row.Id, actor, "created",
                $"{sev.Id} {kind} incident declared: {title} (detected via {source})", now);
            if (row.Commander is not null) await Timeline(c, tx, row.Id, actor, "role_assigned", $"Incident commander: {row.Commander}", now);
            await audit.AppendAsync(c, tx, actor, "incident.create", "incident", Id(row.Id), null, ToAudit(row));
            return ToView(row, now);
        });
    }

    public async Task<IncidentView?> GetAsync(long id)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id", new { id }));
        return row is null ? null : ToView(row, Now);
    }

    public async Task<IncidentPage> ListAsync(string? status, string? severity, string? kind, DateTimeOffset? from, DateTimeOffset? to,
        string? q, int limit, long? cursor)
    {
        var where = new List<string>();
        var p = new DynamicParameters();
        if (!string.IsNullOrWhiteSpace(status))
        {
            var list = Split(status);
            if (list.Contains("open"))
            {
                where.Add("status <> 'resolved'");
                list.Remove("open");
            }
            foreach (var s in list) if (!IncidentStatus.All.Contains(s)) throw new ValidationException("status", $"unknown status '{s}'; use {string.Join(", ", IncidentStatus.All)} or open");
            if (list.Count > 0) where.Add("status IN " + InList(p, "status", list));
        }
        if (!string.IsNullOrWhiteSpace(severity))
        {
            var list = Split(severity).Select(s => SeverityOf(s, "severity").Id).ToList();
            where.Add("severity IN " + InList(p, "severity", list));
        }
        if (!string.IsNullOrWhiteSpace(kind))
        {
            where.Add("kind = @kind");
            p.Add("kind", OneOf(kind, "kind", IncidentKind.All));
        }
        if (from is not null) { where.Add("detected_at >= @from"); p.Add("from", from.Value.ToUnixTimeMilliseconds()); }
        if (to is not null) { where.Add("detected_at < @to"); p.Add("to", to.Value.ToUnixTimeMilliseconds()); }
        if (from is not null && to is not null && to <= from) throw new ValidationException("to", "must be after from");
        if (!string.IsNullOrWhiteSpace(q)) { where.Add($"title {db.ILike} @q"); p.Add("q", "%" + q.Replace("%", "", StringComparison.Ordinal) + "%"); }
        var filter = where.Count == 0 ? "" : " WHERE " + string.Join(" AND ", where);
        var pageWhere = cursor is null ? filter : (filter.Length == 0 ? " WHERE id < @cursor" : filter + " AND id < @cursor");
        if (cursor is not null) p.Add("cursor", cursor.Value);
        p.Add("limit", limit + 1);
        var now = Now;
        // The page's rows are cached until the next database write (SQLite only, where this process is the only
        // writer); views are still computed per request, since SLA clocks depend on the time.
        var key = string.Join('\u001f', status, severity, kind, from?.ToUnixTimeMilliseconds(), to?.ToUnixTimeMilliseconds(), q, limit, cursor);
        var generation = db.WriteGeneration;
        if (!db.SingleWriter || !_listCache.TryGetValue(key, out var page) || page.Generation != generation)
        {
            page = await db.ReadAsync(async c =>
            {
                var total = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents" + filter, p);
                var rows = (await c.QueryAsync<IncidentRow>("SELECT * FROM incidents" + pageWhere + " ORDER BY id DESC LIMIT @limit", p)).AsList();
                long? next = rows.Count > limit ? rows[limit - 1].Id : null;
                if (rows.Count > limit) rows.RemoveAt(limit);
                return new CachedPage(generation, rows, total, next);
            });
            if (db.SingleWriter)
            {
                if (_listCache.Count >= 256) _listCache.Clear();
                _listCache[key] = page;
            }
        }
        var views = new List<IncidentView>(page.Rows.Count);
        foreach (var r in page.Rows) views.Add(ToView(r, now));
        return new IncidentPage(views, page.Total, page.NextCursor);
    }

    /// <summary>
    /// Expands a list into "(@name0, @name1, ...)": Dapper's "IN @list" is passed to Npgsql as one array
    /// parameter, which PostgreSQL rejects in an IN clause.
    /// </summary>
    private static string InList(DynamicParameters p, string name, IReadOnlyList<string> values)
    {
        var names = new string[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            names[i] = "@" + name + i.ToString(CultureInfo.InvariantCulture);
            p.Add(names[i][1..], values[i]);
        }
        return "(" + string.Join(", ", names) + ")";
    }

    /// <summary>One list page's rows as read at a write generation; never mutated after it is cached.</summary>
    private sealed record CachedPage(long Generation, IReadOnlyList<IncidentRow> Rows, long Total, long? NextCursor);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CachedPage> _listCache = new(StringComparer.Ordinal);

    private static List<string> Split(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant()).ToList();

    // ---------------------------------------------------------------- changes

    public Task<IncidentView> UpdateAsync(long id, UpdateIncidentRequest r, long? ifMatch, string actor) =>
        MutateAsync(id, ifMatch, actor, "incident.update", async (c, tx, row, now) =>
        {
            var changes = new List<string>();
            if (r.Title is not null && r.Title != row.Title) { row.Title = Required(r.Title, "title", 200); changes.Add($"title set to \"{row.Title}\""); }
            if (r.Kind is not null && r.Kind != row.Kind) { row.Kind = OneOf(r.Kind, "kind", IncidentKind.All); changes.Add($"kind set to {row.Kind}"); }
            if (r.Summary is not null && r.Summary != row.Summary) { row.Summary = Optional(r.Summary, "summary", 10_000); changes.Add("summary updated"); }
            if (r.UsersAffected is not null && r.UsersAffected != row.UsersAffected) { row.UsersAffected = Optional(r.UsersAffected, "users_affected", 500); changes.Add($"users affected: {row.UsersAffected}"); }
            if (r.BusinessImpact is not null && r.BusinessImpact != row.BusinessImpact) { row.BusinessImpact = Optional(r.BusinessImpact, "business_impact", 2000); changes.Add($"business impact: {row.BusinessImpact}"); }
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
                }
            }
            if (changes.Count > 0) await Timeline(c, tx, row.Id, actor, "updated", string.Join("; ", changes), now);
        });

    public Task<IncidentView> TransitionAsync(long id, string? status, string? message, long? ifMatch, string actor)
    {
        var target = OneOf(status, "status", IncidentStatus.All);
        return MutateAsync(id, ifMatch, actor, "incident.status", (c, tx, row, now) => ApplyTransition(c, tx, row, target, message, actor, now));
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
        }
        if (from == IncidentStatus.Resolved)
        {
            row.ResolvedAt = null;
            row.NextUpdateDueAt = now + (long)SeverityOf(row.Severity, "severity").UpdateInterval.Value.TotalMilliseconds;
        }
        var kind = target == IncidentStatus.Resolved ? "resolved" : from == IncidentStatus.Resolved ? "reopened" : "status_changed";
        var text = $"Status changed from {IncidentStatus.Title(from)} to {IncidentStatus.Title(target)}";
        if (!string.IsNullOrWhiteSpace(message)) text += ": " + message.Trim();
        await Timeline(c, tx, row.Id, actor, kind, text, now);
    }

    public Task<IncidentView> AcknowledgeAsync(long id, long? ifMatch, string actor) =>
        MutateAsync(id, ifMatch, actor, "incident.acknowledge", async (c, tx, row, now) =>
        {
            if (row.AcknowledgedAt is not null) throw new ConflictException($"incident {id} was already acknowledged at {At(row.AcknowledgedAt.Value):u}");
            row.AcknowledgedAt = now;
            await OnAcknowledged(c, tx, row, actor, now);
        });

    private async Task OnAcknowledged(DbConnection c, DbTransaction tx, IncidentRow row, string actor, long now)
    {
        await Timeline(c, tx, row.Id, actor, "acknowledged", $"Acknowledged by {actor} after {Duration.Format(TimeSpan.FromMilliseconds(Math.Max(0, now - row.DetectedAt)))}", now);
        if (now > row.ResponseDueAt) await RecordBreach(c, tx, row, "response", now);
    }

    public Task<IncidentView> AssignAsync(long id, AssignRequest r, long? ifMatch, string actor) =>
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
        });

    public async Task<TimelineEntry> AddNoteAsync(long id, string? text, string actor)
    {
        var note = Required(text, "text", 10_000);
        TimelineEntry? entry = null;
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.note", async (c, tx, row, now) =>
        {
            var tid = await Timeline(c, tx, row.Id, actor, "note", note, now);
            entry = new TimelineEntry(tid, At(now), actor, "note", note);
            detail.After = new { note = tid, text = note };
        }, detail);
        return entry!;
    }

    public async Task<StatusUpdateView> PostStatusUpdateAsync(long id, StatusUpdateRequest r, long? ifMatch, string actor)
    {
        var current = Required(r.CurrentStatus, "current_status", 10_000);
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
            var sev = SeverityOf(row.Severity, "severity");
            long? next = row.Status == IncidentStatus.Resolved ? null : now + (long)(nextIn ?? sev.UpdateInterval).Value.TotalMilliseconds;
            row.NextUpdateDueAt = next;
            var body = RenderStatusUpdate(row, current, now, next);
            var uid = await c.ExecuteScalarAsync<long>("""
                INSERT INTO status_updates (incident_id, ts, author, visibility, status, current_status, next_update_at, body)
                VALUES (@id, @now, @actor, @visibility, @status, @current, @next, @body) RETURNING id
                """, new { id = row.Id, now, actor, visibility, status = row.Status, current, next, body }, tx);
            await Timeline(c, tx, row.Id, actor, "status_update", $"{IncidentStatus.Title(visibility)} status update ({IncidentStatus.Title(row.Status)}): {current}", now);
            result = new StatusUpdateView(uid, At(now), actor, visibility, row.Status, current, At(next), body);
            detail.After = new { status_update = uid, visibility, status = row.Status, current_status = current, next_update_at = next };
        }, detail);
        return result!;
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
        var tpl = Config.StatusUpdateTemplate;
        var sb = new StringBuilder(tpl.Length + 256);
        var i = 0;
        while (i < tpl.Length)
        {
            var open = tpl.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(tpl, i, tpl.Length - i); break; }
            var close = tpl.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0) { sb.Append(tpl, i, tpl.Length - i); break; }
            sb.Append(tpl, i, open - i);
            var key = tpl[(open + 2)..close].Trim();
            sb.Append(values.TryGetValue(key, out var v) ? v : tpl[open..(close + 2)]);
            i = close + 2;
        }
        return sb.ToString();
    }

    public async Task<IReadOnlyList<StatusUpdateView>> StatusUpdatesAsync(long id, string? visibility)
    {
        if (visibility is not null) visibility = OneOf(visibility, "visibility", ["internal", "public"]);
        await EnsureExists(id);
        return await db.ReadAsync(async c => (await c.QueryAsync<StatusUpdateRow>(
                "SELECT * FROM status_updates WHERE incident_id = @id" + (visibility is null ? "" : " AND visibility = @visibility") + " ORDER BY id",
                new { id, visibility }))
            .Select(u => new StatusUpdateView(u.Id, At(u.Ts), u.Author, u.Visibility, u.Status, u.CurrentStatus, At(u.NextUpdateAt), u.Body)).ToList());
    }

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(long id)
    {
        await EnsureExists(id);
        return await db.ReadAsync(async c => (await c.QueryAsync<TimelineRow>("SELECT * FROM incident_timeline WHERE incident_id = @id ORDER BY id", new { id }))
            .Select(t => new TimelineEntry(t.Id, At(t.Ts), t.Author, t.Kind, t.Message)).ToList());
    }

    // ---------------------------------------------------------------- checklist

    public async Task<ChecklistView> ChecklistAsync(long id)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id", new { id }))
            ?? throw new NotFoundException($"incident {id} not found");
        var items = await db.ReadAsync(async c => (await c.QueryAsync<ChecklistRow>("SELECT * FROM checklist_items WHERE incident_id = @id ORDER BY position", new { id })).AsList());
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

    public async Task<ChecklistView> CheckItemAsync(long id, long itemId, bool done, string actor)
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
        }, detail);
        return await ChecklistAsync(id);
    }

    // ---------------------------------------------------------------- postmortem and action items

    public async Task<PostmortemView> PostmortemAsync(long id)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id", new { id }))
            ?? throw new NotFoundException($"incident {id} not found");
        var pm = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<PostmortemRow>("SELECT * FROM postmortems WHERE incident_id = @id", new { id }));
        var timeline = await TimelineAsync(id);
        var actions = await ActionItemsAsync(id);
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

    public async Task<PostmortemView> SavePostmortemAsync(long id, PostmortemRequest r, string actor)
    {
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.postmortem", async (c, tx, row, now) =>
        {
            var existing = await c.QuerySingleOrDefaultAsync<PostmortemRow>("SELECT * FROM postmortems WHERE incident_id = @id", new { id }, tx);
            detail.Before = existing is null ? null : Snapshot(existing);
            var pm = existing ?? new PostmortemRow { IncidentId = id };
            if (r.Summary is not null) pm.Summary = Optional(r.Summary, "summary", 50_000);
            if (r.Impact is not null) pm.Impact = Optional(r.Impact, "impact", 50_000);
            if (r.RootCause is not null) pm.RootCause = Optional(r.RootCause, "root_cause", 50_000);
            if (r.LessonsLearned is not null) pm.LessonsLearned = Optional(r.LessonsLearned, "lessons_learned", 50_000);
            pm.UpdatedAt = now;
            pm.UpdatedBy = actor;
            if (existing is null)
                await c.ExecuteAsync("INSERT INTO postmortems (incident_id, summary, impact, root_cause, lessons_learned, updated_at, updated_by) VALUES (@IncidentId, @Summary, @Impact, @RootCause, @LessonsLearned, @UpdatedAt, @UpdatedBy)", pm, tx);
            else
                await c.ExecuteAsync("UPDATE postmortems SET summary = @Summary, impact = @Impact, root_cause = @RootCause, lessons_learned = @LessonsLearned, updated_at = @UpdatedAt, updated_by = @UpdatedBy WHERE incident_id = @IncidentId", pm, tx);
            await Timeline(c, tx, id, actor, "postmortem", existing is null ? "Postmortem started" : "Postmortem updated", now);
            detail.After = Snapshot(pm);
        }, detail);
        return await PostmortemAsync(id);
    }

    public async Task<IReadOnlyList<ActionItemView>> ActionItemsAsync(long id)
    {
        var now = Now;
        return await db.ReadAsync(async c => (await c.QueryAsync<ActionItemRow>("SELECT * FROM action_items WHERE incident_id = @id ORDER BY id", new { id }))
            .Select(a => ToView(a, now)).ToList());
    }

    public async Task<IReadOnlyList<ActionItemView>> AllActionItemsAsync(string? status)
    {
        if (status is not null) status = OneOf(status, "status", ActionItemStatus.All);
        var now = Now;
        return await db.ReadAsync(async c => (await c.QueryAsync<ActionItemRow>(
                "SELECT * FROM action_items" + (status is null ? "" : " WHERE status = @status") + " ORDER BY id", new { status }))
            .Select(a => ToView(a, now)).ToList());
    }

    private static ActionItemView ToView(ActionItemRow a, long now) =>
        new(a.Id, a.IncidentId, a.Title, a.Owner, At(a.DueAt), a.Status, a.DueAt is { } d && now > d && a.Status is "open" or "in_progress", At(a.CreatedAt), At(a.CompletedAt));

    public async Task<ActionItemView> AddActionItemAsync(long id, ActionItemRequest r, string actor)
    {
        var title = Required(r.Title, "title", 500);
        var owner = Required(r.Owner, "owner", 100);
        var status = OneOf(r.Status ?? "open", "status", ActionItemStatus.All);
        ActionItemView? view = null;
        var detail = new AuditDetail();
        await MutateAsync(id, null, actor, "incident.action_item", async (c, tx, row, now) =>
        {
            var a = new ActionItemRow { IncidentId = id, Title = title, Owner = owner, DueAt = r.DueAt?.ToUnixTimeMilliseconds(), Status = status, CreatedAt = now, UpdatedAt = now, CompletedAt = status == "done" ? now : null };
            a.Id = await c.ExecuteScalarAsync<long>("INSERT INTO action_items (incident_id, title, owner, due_at, status, created_at, updated_at, completed_at) VALUES (@IncidentId, @Title, @Owner, @DueAt, @Status, @CreatedAt, @UpdatedAt, @CompletedAt) RETURNING id", a, tx);
            await Timeline(c, tx, id, actor, "action_item", $"Action item added: {title} (owner {owner})", now);
            view = ToView(a, now);
            detail.After = Snapshot(a);
        }, detail);
        return view!;
    }

    public async Task<ActionItemView> UpdateActionItemAsync(long id, long itemId, ActionItemRequest r, string actor)
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
            if (r.DueAt is not null) a.DueAt = r.DueAt.Value.ToUnixTimeMilliseconds();
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
        }, detail);
        return view!;
    }

    // ---------------------------------------------------------------- SLA

    /// <summary>Records response and resolution breaches that are due by now. Returns how many were recorded.</summary>
    public async Task<int> CheckSlaAsync()
    {
        var now = Now;
        var candidates = await db.ReadAsync(async c => (await c.QueryAsync<IncidentRow>("""
            SELECT * FROM incidents i WHERE
              (i.acknowledged_at IS NULL AND i.response_due_at < @now AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.incident_id = i.id AND b.kind = 'response'))
              OR (i.resolved_at IS NULL AND i.resolution_due_at < @now AND NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.incident_id = i.id AND b.kind = 'resolution'))
            """, new { now })).AsList());
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
            });
        }
        return recorded;
    }

    private async Task<bool> RecordBreach(DbConnection c, DbTransaction tx, IncidentRow row, string kind, long now)
    {
        var exists = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sla_breaches WHERE incident_id = @id AND kind = @kind", new { id = row.Id, kind }, tx);
        if (exists > 0) return false;
        var due = kind == "response" ? row.ResponseDueAt : row.ResolutionDueAt;
        await c.ExecuteAsync("INSERT INTO sla_breaches (incident_id, kind, severity, due_at, breached_at) VALUES (@id, @kind, @sev, @due, @now)",
            new { id = row.Id, kind, sev = row.Severity, due, now }, tx);
        await Timeline(c, tx, row.Id, "watchkeeper", "sla_breach",
            $"{row.Severity} {kind} SLA breached: due {At(due):yyyy-MM-dd HH:mm:ss} UTC ({Duration.Format(TimeSpan.FromMilliseconds(due - row.DetectedAt))} after detection)", now);
        await audit.AppendAsync(c, tx, "watchkeeper", "incident.sla_breach", "incident", Id(row.Id), null, new { kind, severity = row.Severity, due_at = At(due) });
        return true;
    }

    public async Task<IReadOnlyList<SlaBreachView>> BreachesAsync(long? id)
    {
        return await db.ReadAsync(async c => (await c.QueryAsync<SlaBreachRow>(
            "SELECT * FROM sla_breaches" + (id is null ? "" : " WHERE incident_id = @id") + " ORDER BY id", new { id }))
            .Select(b => new SlaBreachView(b.IncidentId, b.Kind, b.Severity, At(b.DueAt), At(b.BreachedAt))).ToList());
    }

    // ---------------------------------------------------------------- plumbing

    private delegate Task Mutation(DbConnection c, DbTransaction tx, IncidentRow row, long now);

    /// <summary>
    /// Appended to the SELECT of an incident that a transaction is about to change. On PostgreSQL concurrent writers
    /// to one incident (API changes, the SLA checker) queue on its row lock; SQLite writers are already serialised.
    /// Without it a change without If-Match fails the version check with a 412, and the SLA checker acts on a stale row.
    /// </summary>
    private string RowLock => db.Provider == DbProvider.Postgres ? " FOR NO KEY UPDATE" : "";

    /// <summary>What a change did besides the incident row (a note, checklist item, postmortem, action item), for its audit record.</summary>
    private sealed class AuditDetail
    {
        public object? Before { get; set; }
        public object? After { get; set; }
    }

    private static object Snapshot(ActionItemRow a) => new { action_item = a.Id, a.Title, a.Owner, due_at = a.DueAt, a.Status, completed_at = a.CompletedAt };
    private static object Snapshot(PostmortemRow p) => new { p.Summary, p.Impact, root_cause = p.RootCause, lessons_learned = p.LessonsLearned };

    private async Task<IncidentView> MutateAsync(long id, long? ifMatch, string actor, string action, Mutation mutate, AuditDetail? detail = null)
    {
        var now = Now;
        return await db.WriteAsync(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id" + RowLock, new { id }, tx)
                ?? throw new NotFoundException($"incident {id} not found");
            if (ifMatch is not null && ifMatch.Value != row.Version) throw new VersionMismatchException(row.Version);
            var before = row.Clone();
            await mutate(c, tx, row, now);
            row.UpdatedAt = now;
            var expected = row.Version;
            row.Version++;
            var n = await c.ExecuteAsync("""
                UPDATE incidents SET title = @Title, kind = @Kind, severity = @Severity, status = @Status, summary = @Summary,
                  users_affected = @UsersAffected, services_affected = @ServicesAffected, business_impact = @BusinessImpact,
                  commander = @Commander, communications_lead = @CommunicationsLead, scribe = @Scribe,
                  acknowledged_at = @AcknowledgedAt, mitigated_at = @MitigatedAt, resolved_at = @ResolvedAt,
                  response_due_at = @ResponseDueAt, resolution_due_at = @ResolutionDueAt, next_update_due_at = @NextUpdateDueAt,
                  updated_at = @UpdatedAt, version = @Version
                WHERE id = @Id AND version = @expected
                """, new DynamicParameters(row).AddAndReturn("expected", expected), tx);
            if (n != 1) throw new VersionMismatchException(expected + 1);
            await audit.AppendAsync(c, tx, actor, action, "incident", Id(id), ToAudit(before, detail?.Before), ToAudit(row, detail?.After));
            return ToView(row, now);
        });
    }

    private async Task EnsureExists(long id)
    {
        var n = await db.ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents WHERE id = @id", new { id }));
        if (n == 0) throw new NotFoundException($"incident {id} not found");
    }

    private static async Task<long> Timeline(DbConnection c, DbTransaction tx, long incidentId, string author, string kind, string message, long now) =>
        await c.ExecuteScalarAsync<long>("INSERT INTO incident_timeline (incident_id, ts, author, kind, message) VALUES (@incidentId, @now, @author, @kind, @message) RETURNING id",
            new { incidentId, now, author, kind, message }, tx);

    private static object ToAudit(IncidentRow r, object? detail = null) => new
    {
        r.Title, r.Kind, r.Severity, r.Status, r.Summary, r.UsersAffected, r.ServicesAffected, r.BusinessImpact, r.DetectionSource,
        r.Commander, r.CommunicationsLead, r.Scribe, r.AcknowledgedAt, r.MitigatedAt, r.ResolvedAt, r.Version, Detail = detail,
    };

    public IncidentView ToView(IncidentRow r, long now)
    {
        var services = JsonSerializer.Deserialize<List<string>>(r.ServicesAffected, Json) ?? [];
        var responseTarget = (r.ResponseDueAt - r.DetectedAt) / 1000.0;
        var resolutionTarget = (r.ResolutionDueAt - r.DetectedAt) / 1000.0;
        var response = new SlaClock("response", At(r.ResponseDueAt), At(r.AcknowledgedAt), (r.AcknowledgedAt ?? now) > r.ResponseDueAt,
            r.AcknowledgedAt is { } a ? (a - r.DetectedAt) / 1000.0 : null, responseTarget, (r.ResponseDueAt - (r.AcknowledgedAt ?? now)) / 1000.0);
        var resolution = new SlaClock("resolution", At(r.ResolutionDueAt), At(r.ResolvedAt), (r.ResolvedAt ?? now) > r.ResolutionDueAt,
            r.ResolvedAt is { } z ? (z - r.DetectedAt) / 1000.0 : null, resolutionTarget, (r.ResolutionDueAt - (r.ResolvedAt ?? now)) / 1000.0);
        return new IncidentView(r.Id, r.Title, r.Kind, r.Severity, r.Status, r.Summary,
            new Impact(r.UsersAffected, services, r.BusinessImpact), r.DetectionSource,
            new IncidentRoles(r.Commander, r.CommunicationsLead, r.Scribe),
            At(r.DetectedAt), At(r.AcknowledgedAt), At(r.MitigatedAt), At(r.ResolvedAt), At(r.CreatedAt), r.CreatedBy, At(r.UpdatedAt),
            response, resolution, At(r.NextUpdateDueAt), r.ResolvedAt is null && r.NextUpdateDueAt is { } n && now > n,
            IncidentStatus.AllowedFrom(r.Status), r.Version);
    }

    private Checklist ChecklistFor(string kind) =>
        Config.Checklists.TryGetValue(kind, out var c) ? c : Config.Checklists["operational"];

    private SeverityConfig SeverityOf(string? s, string field)
    {
        if (string.IsNullOrWhiteSpace(s)) throw new ValidationException(field, $"is required: one of {string.Join(", ", Config.Severities.Select(x => x.Id))}");
        var sev = Config.Severity(s.Trim());
        if (sev is null && int.TryParse(s, out var n)) sev = Config.Severity("SEV" + n);
        return sev ?? throw new ValidationException(field, $"unknown severity '{s}'; use one of {string.Join(", ", Config.Severities.Select(x => x.Id))}");
    }

    private static string Required(string? v, string field, int max)
    {
        if (string.IsNullOrWhiteSpace(v)) throw new ValidationException(field, "is required");
        v = v.Trim();
        if (v.Length > max) throw new ValidationException(field, $"must be at most {max} characters");
        return v;
    }

    private static string Optional(string? v, string field, int max)
    {
        v = v?.Trim() ?? "";
        if (v.Length > max) throw new ValidationException(field, $"must be at most {max} characters");
        return v;
    }

    private static string? Person(string? v, string field)
    {
        if (string.IsNullOrWhiteSpace(v)) return null;
        v = v.Trim();
        if (v.Length > 100) throw new ValidationException(field, "must be at most 100 characters");
        return v;
    }

    private static string OneOf(string? v, string field, IReadOnlyList<string> allowed)
    {
        var x = v?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(x)) throw new ValidationException(field, $"is required: one of {string.Join(", ", allowed)}");
        return allowed.Contains(x) ? x : throw new ValidationException(field, $"'{v}' is not one of {string.Join(", ", allowed)}");
    }

    private static List<string> Services(List<string>? s)
    {
        var list = (s ?? []).Select(x => x?.Trim() ?? "").ToList();
        for (var i = 0; i < list.Count; i++)
            if (list[i].Length is 0 or > 100) throw new ValidationException($"services_affected[{i}]", "must be a non-empty name of at most 100 characters");
        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
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

internal static class DynamicParametersExtensions
{
    public static DynamicParameters AddAndReturn(this DynamicParameters p, string name, object? value)
    {
        p.Add(name, value);
        return p;
    }
}
