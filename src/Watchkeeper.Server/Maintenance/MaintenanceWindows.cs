using System.Runtime.CompilerServices;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Maintenance;

/// <summary>A window with where it comes from (<c>config</c>: read-only; <c>api</c>: stored) and its parsed recurrence.</summary>
public sealed record WindowEntry(MaintenanceWindowDef Def, string Source, Recurrence Recurrence, string? CreatedBy, DateTimeOffset? CreatedAt)
{
    public string Id => Def.Id;
}

/// <summary>A window as the API shows it, with its next occurrences.</summary>
public sealed record WindowView(
    string Id, string Source, string Title, string Description, string TimeZone, string Kind, string? Start, string? End, string? Cron, string? Rule,
    string? At, string? Duration, string? NotifyBefore, IReadOnlyList<string> Components, string RollbackPlan, MaintenanceChecksDef Checks,
    string? CreatedBy, DateTimeOffset? CreatedAt, IReadOnlyList<OccurrenceView> Next);

public sealed record OccurrenceView(string WindowId, string Title, DateTimeOffset Start, DateTimeOffset End, string StartLocal, string EndLocal, string TimeZone,
    IReadOnlyList<string> Components, long? RunId, string? RunState);

/// <summary>
/// Maintenance windows: those of the <c>maintenance.windows</c> configuration and those made through the API (stored as
/// their definition's JSON, migration 16). Occurrences are computed from the definitions whenever asked.
/// </summary>
public sealed class MaintenanceWindows(Db db, ConfigHolder config, AuditLog audit, TimeProvider time)
{
    public const int MaxStoredWindows = 1000;
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly ConditionalWeakTable<MaintenanceWindowDef, Recurrence> _parsed = [];

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Definition { get; set; } = "";
        public string CreatedBy { get; set; } = "";
        public long CreatedAt { get; set; }
    }

    /// <summary>Every window: configuration first (in file order), then stored ones by id.</summary>
    public async Task<IReadOnlyList<WindowEntry>> AllAsync(CancellationToken ct)
    {
        var list = new List<WindowEntry>();
        foreach (var w in config.Current.Maintenance.Windows)
            list.Add(new WindowEntry(w, "config", _parsed.GetValue(w, Recurrence.Parse), null, null));
        var rows = await db.ReadAsync(c => c.QueryAsync<Row>(new CommandDefinition(
            "SELECT id, definition, created_by, created_at FROM maintenance_windows ORDER BY id", cancellationToken: ct)), ct);
        foreach (var r in rows)
        {
            var def = JsonSerializer.Deserialize<MaintenanceWindowDef>(r.Definition, Json)!;
            Recurrence rec;
            try
            {
                rec = Recurrence.Parse(def);
            }
            catch (RecurrenceException)
            {
                // Stored before a time zone left the database: shown nowhere rather than failing every page.
                continue;
            }
            if (list.Any(x => x.Id == def.Id)) continue;
            list.Add(new WindowEntry(def, "api", rec, r.CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt)));
        }
        return list;
    }

    public async Task<WindowEntry?> FindAsync(string id, CancellationToken ct) => (await AllAsync(ct)).FirstOrDefault(w => w.Id == id);

    public async Task<WindowEntry> GetAsync(string id, CancellationToken ct) =>
        await FindAsync(id, ct) ?? throw new NotFoundException($"maintenance window '{id}' not found");

    /// <summary>Validates and stores a window; every problem names its field, and nothing is stored when one is found.</summary>
    public async Task<WindowEntry> CreateAsync(MaintenanceWindowDef? input, string actor, CancellationToken ct)
    {
        if (input is null) throw new ValidationException("body", "expected a maintenance window object");
        var def = Normalise(input);
        var c = config.Current;
        def.ThrowIfInvalid(c);
        if (c.Maintenance.Windows.Any(w => w.Id == def.Id))
            throw new ConflictException($"window '{def.Id}' is defined in the configuration (maintenance.windows) and cannot be replaced through the API");
        var rec = Recurrence.Parse(def);
        var now = time.GetUtcNow();
        // A one-off window wholly in the past is a mistake (nothing could ever run in it).
        if (def.Kind == "once" && !rec.Between(def.Id, now, DateTimeOffset.MaxValue.AddYears(-1), 1).Any())
            throw new ValidationException("end", "the window is over already (it ends before now)");
        var json = JsonSerializer.Serialize(def, Json);
        await db.WriteAsync(async (conn, tx) =>
        {
            var count = await conn.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM maintenance_windows", transaction: tx, cancellationToken: ct));
            if (count >= MaxStoredWindows) throw new ConflictException($"at most {MaxStoredWindows} stored maintenance windows; delete old ones first");
            var exists = await conn.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM maintenance_windows WHERE id = @id", new { id = def.Id }, tx, cancellationToken: ct));
            if (exists > 0) throw new ConflictException($"maintenance window '{def.Id}' exists already");
            var at = now.ToUnixTimeMilliseconds();
            await conn.ExecuteAsync(new CommandDefinition(
                "INSERT INTO maintenance_windows (id, definition, created_by, created_at, updated_at) VALUES (@id, @json, @actor, @at, @at)",
                new { id = def.Id, json, actor, at }, tx, cancellationToken: ct));
            await audit.AppendAsync(conn, tx, actor, "maintenance_window.create", "maintenance_window", def.Id, null, def);
        }, ct);
        return new WindowEntry(def, "api", rec, actor, now);
    }

    /// <summary>Deletes a stored window (its runs stay, with their title and times); refused while one of its runs is active.</summary>
    public async Task DeleteAsync(string id, string actor, CancellationToken ct)
    {
        if (config.Current.Maintenance.Windows.Any(w => w.Id == id))
            throw new ConflictException($"window '{id}' is defined in the configuration (maintenance.windows); remove it there");
        await db.WriteAsync(async (conn, tx) =>
        {
            var json = await conn.QuerySingleOrDefaultAsync<string?>(new CommandDefinition("SELECT definition FROM maintenance_windows WHERE id = @id", new { id }, tx, cancellationToken: ct))
                ?? throw new NotFoundException($"maintenance window '{id}' not found");
            var active = await conn.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM maintenance_runs WHERE window_id = @id AND state IN ('preparing', 'in_progress', 'validating')", new { id }, tx, cancellationToken: ct));
            if (active > 0) throw new ConflictException($"window '{id}' has a run in progress; complete, roll back or cancel it first");
            await conn.ExecuteAsync(new CommandDefinition("DELETE FROM maintenance_windows WHERE id = @id", new { id }, tx, cancellationToken: ct));
            await audit.AppendAsync(conn, tx, actor, "maintenance_window.delete", "maintenance_window", id, JsonSerializer.Deserialize<JsonElement>(json), null);
        }, ct);
    }

    /// <summary>Occurrences of every window overlapping [from, to), in start order (at most <paramref name="limit"/>).</summary>
    public static IReadOnlyList<Occurrence> Occurrences(IEnumerable<WindowEntry> windows, DateTimeOffset from, DateTimeOffset to, int limit) =>
        [.. windows.SelectMany(w => w.Recurrence.Between(w.Id, from, to, limit)).OrderBy(o => o.Start).ThenBy(o => o.WindowId, StringComparer.Ordinal).Take(limit)];

    public WindowView View(WindowEntry w, DateTimeOffset now, int next = 3)
    {
        var d = w.Def;
        var occ = w.Recurrence.Between(w.Id, now, now.AddYears(2), next).Select(o => OccurrenceOf(w, o, null)).ToList();
        return new WindowView(d.Id, w.Source, d.Title, d.Description, d.TimeZone, d.Kind, d.Start, d.End, d.Cron, d.Rule, d.At, d.Duration, d.NotifyBefore,
            d.Components, d.RollbackPlan, d.Checks, w.CreatedBy, w.CreatedAt, occ);
    }

    public static OccurrenceView OccurrenceOf(WindowEntry w, Occurrence o, (long Id, string State)? run) =>
        new(w.Id, w.Def.Title, o.Start, o.End, Local(o.Start, w), Local(o.End, w), w.Def.TimeZone, w.Def.Components, run?.Id, run?.State);

    private static string Local(DateTimeOffset t, WindowEntry w) => Recurrence.Format(t, w.Recurrence.Zone);

    /// <summary>Trims text fields and drops empty optional ones, so "" and null mean the same.</summary>
    private static MaintenanceWindowDef Normalise(MaintenanceWindowDef d)
    {
        static string? Opt(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
        return new MaintenanceWindowDef
        {
            Id = (d.Id ?? "").Trim(), Title = (d.Title ?? "").Trim(), Description = (d.Description ?? "").Trim(),
            TimeZone = string.IsNullOrWhiteSpace(d.TimeZone) ? "UTC" : d.TimeZone.Trim(),
            Start = Opt(d.Start), End = Opt(d.End), Cron = Opt(d.Cron), Rule = Opt(d.Rule), At = Opt(d.At), Duration = Opt(d.Duration),
            NotifyBefore = Opt(d.NotifyBefore),
            Components = [.. (d.Components ?? []).Select(x => (x ?? "").Trim()).Where(x => x.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)],
            RollbackPlan = (d.RollbackPlan ?? "").Trim(),
            Checks = new MaintenanceChecksDef
            {
                Probes = [.. (d.Checks?.Probes ?? []).Select(x => (x ?? "").Trim()).Where(x => x.Length > 0)],
                Promql = [.. (d.Checks?.Promql ?? []).Select(x => (x ?? "").Trim()).Where(x => x.Length > 0)],
            },
        };
    }
}
