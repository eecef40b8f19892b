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
/// timeline entry and its audit record. This file holds creation, reads, the list and the shared plumbing;
/// each responsibility is in its own part: Lifecycle, StatusUpdates, Checklists, Postmortems, Sla
/// (IncidentService.*.cs). Input rules are in <see cref="IncidentInput"/>, metrics in <see cref="IncidentMetrics"/>.
/// </summary>
public sealed partial class IncidentService(Db db, AuditLog audit, ConfigHolder config, TimeProvider time, IncidentMetrics metrics, IEnumerable<IIncidentHooks> hooks,
    IServiceCatalog catalog, IncidentEvents events)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();
    private WatchkeeperConfig Config => config.Current;

    public static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
    public static DateTimeOffset? At(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    // ---------------------------------------------------------------- create / read

    public Task<IncidentView> CreateAsync(CreateIncidentRequest r, string actor, CancellationToken ct = default) => CreateAsync(r, actor, null, ct);

    /// <summary>
    /// Creates an incident; <paramref name="within"/> runs in the same transaction with the new incident's id. Services
    /// named by a person must be in the catalog; an incident declared from an alert (<paramref name="within"/> set) keeps
    /// the service its alert names, mapped to the catalog by job where it can be.
    /// </summary>
    private async Task<IncidentView> CreateAsync(CreateIncidentRequest r, string actor, Func<DbConnection, DbTransaction, long, long, Task>? within, CancellationToken ct)
    {
        var title = Required(r.Title, "title", 200);
        var kind = OneOf(r.Kind ?? IncidentKind.Operational, "kind", IncidentKind.All);
        var sev = SeverityOf(r.Severity, "severity");
        var source = OneOf(r.DetectionSource ?? "manual", "detection_source", DetectionSource.All);
        var services = Services(r.ServicesAffected, fromCatalog: within is null);
        var now = Now;
        var detected = IncidentInput.DetectedAt(r.DetectedAt, now, "detected_at");
        var checklist = ChecklistFor(kind);

        var row = new IncidentRow
        {
            Title = title,
            Kind = kind,
            Severity = sev.Id,
            Status = IncidentStatus.Investigating,
            Summary = Optional(r.Summary, "summary", 10_000, multiline: true),
            UsersAffected = Optional(r.UsersAffected ?? sev.UsersAffected, "users_affected", 500),
            ServicesAffected = JsonSerializer.Serialize(services, Json),
            BusinessImpact = Optional(r.BusinessImpact ?? sev.BusinessImpact, "business_impact", 2000, multiline: true),
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
            foreach (var h in hooks) await h.DeclaredAsync(c, tx, row, now, ct);
            await audit.AppendAsync(c, tx, actor, "incident.create", "incident", Id(row.Id), null, ToAudit(row));
            if (within is not null) await within(c, tx, row.Id, now);
            var state = IncidentMetrics.IncidentState.Of(row);
            var change = new IncidentChange(row.Id, row.Version, actor, "incident.create");
            db.OnCommit(tx, () =>
            {
                metrics.Apply(row.Id, state);
                events.Publish(change);
            });
            return ToView(row, now);
        }, ct);
    }

    /// <summary>
    /// Every problem of a declaration at once (the declare form shows them together; <see cref="CreateAsync(CreateIncidentRequest, string, CancellationToken)"/>
    /// stops at the first). Empty when the request is valid.
    /// </summary>
    public IReadOnlyList<ValidationException> CheckCreate(CreateIncidentRequest r)
    {
        var errors = new List<ValidationException>();
        void Try(Action check)
        {
            try { check(); }
            catch (ValidationException ex) { errors.Add(ex); }
        }
        Try(() => Required(r.Title, "title", 200));
        Try(() => OneOf(r.Kind ?? IncidentKind.Operational, "kind", IncidentKind.All));
        Try(() => SeverityOf(r.Severity, "severity"));
        Try(() => Optional(r.Summary, "summary", 10_000, multiline: true));
        Try(() => Optional(r.UsersAffected, "users_affected", 500));
        Try(() => Optional(r.BusinessImpact, "business_impact", 2000, multiline: true));
        Try(() => Services(r.ServicesAffected));
        Try(() => OneOf(r.DetectionSource ?? "manual", "detection_source", DetectionSource.All));
        Try(() => Person(r.Commander, "commander"));
        Try(() => Person(r.CommunicationsLead, "communications_lead"));
        Try(() => Person(r.Scribe, "scribe"));
        return errors;
    }

    public async Task<IncidentView?> GetAsync(long id, CancellationToken ct = default)
    {
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<IncidentRow>("SELECT * FROM incidents WHERE id = @id", new { id }), ct);
        return row is null ? null : ToView(row, Now);
    }

    public async Task<IncidentPage> ListAsync(string? status, string? severity, string? kind, DateTimeOffset? from, DateTimeOffset? to,
        string? q, int limit, long? cursor, CancellationToken ct = default)
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
        if (!string.IsNullOrWhiteSpace(q)) { where.Add($"title {db.ILike} @q ESCAPE '\\'"); p.Add("q", "%" + IncidentInput.EscapeLike(q) + "%"); }
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
            }, ct);
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

    private async Task<IncidentView> MutateAsync(long id, long? ifMatch, string actor, string action, Mutation mutate, AuditDetail? detail = null, CancellationToken ct = default)
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
            var state = IncidentMetrics.IncidentState.Of(row);
            var change = new IncidentChange(id, row.Version, actor, action);
            db.OnCommit(tx, () =>
            {
                metrics.Apply(id, state);
                events.Publish(change);
            });
            return ToView(row, now);
        }, ct);
    }

    private async Task EnsureExists(long id, CancellationToken ct)
    {
        var n = await db.ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM incidents WHERE id = @id", new { id }), ct);
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

    private static string Required(string? v, string field, int max, bool multiline = false) => IncidentInput.Required(v, field, max, multiline);
    private static string Optional(string? v, string field, int max, bool multiline = false) => IncidentInput.Optional(v, field, max, multiline);
    private static string? Person(string? v, string field) => IncidentInput.Person(v, field);

    private static string OneOf(string? v, string field, IReadOnlyList<string> allowed)
    {
        var x = v?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(x)) throw new ValidationException(field, $"is required: one of {string.Join(", ", allowed)}");
        return allowed.Contains(x) ? x : throw new ValidationException(field, $"'{v}' is not one of {string.Join(", ", allowed)}");
    }

    /// <summary>
    /// The affected services of a request. With a service catalog configured, each must be one of its services (by id,
    /// stored as the catalog spells it); without one (no <c>services:</c>) any single-line name is taken.
    /// </summary>
    private List<string> Services(List<string>? s, bool fromCatalog = true)
    {
        var list = (s ?? []).Select(x => x?.Trim() ?? "").ToList();
        var known = catalog.All;
        for (var i = 0; i < list.Count; i++)
        {
            var field = $"services_affected[{i}]";
            if (list[i].Length is 0 or > 100) throw new ValidationException(field, "must be a non-empty name of at most 100 characters");
            IncidentInput.Check(list[i], field, multiline: false);
            if (!fromCatalog || known.Count == 0) continue;
            list[i] = catalog.Find(list[i])?.Name
                ?? throw new ValidationException(field, $"unknown service '{list[i]}'; the catalog (services:) has {string.Join(", ", known.Select(x => x.Name))}");
        }
        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}

internal static class DynamicParametersExtensions
{
    public static DynamicParameters AddAndReturn(this DynamicParameters p, string name, object? value)
    {
        p.Add(name, value);
        return p;
    }
}
