using System.Data.Common;
using System.Globalization;
using Dapper;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;
using Watchkeeper.Server.Platform;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Maintenance;

/// <summary>Takes the backup of the "preparing" step. Registered when the server has a backup service; without one the step needs a person's confirmation.</summary>
public interface IMaintenanceBackup
{
    /// <summary>Takes a backup now and returns what identifies it; throws when it fails (the run then does not start).</summary>
    Task<string> TakeAsync(string actor, string reason, CancellationToken ct);
}

public sealed record StartRunRequest(string? Window, string? Occurrence, string? RollbackPlan, string? BackupConfirmation, string? Team);

public sealed record FinishRunRequest(string? Summary, string? Reason);

/// <summary>
/// Maintenance runs (operations manual 3.2): scheduled → preparing (users told, backup, rollback plan) → in progress
/// (components under maintenance on the status page, their alerts silenced until the window ends) → validating (checks
/// recorded) → completed, rolled back or cancelled. Each transition is one transaction with its events, its audit
/// record and the subscriber notifications it queues; a transition that fails leaves the run as it was.
/// </summary>
public sealed partial class MaintenanceRuns(Db db, ConfigHolder config, MaintenanceWindows windows, MaintenanceChecker checker, AlertingEngine alerts,
    IServiceCatalog catalog, AuditLog audit, TimeProvider time, StatusDeliverySignal deliveries, IServiceProvider services)
{
    public const int MaxText = 10_000;

    private IMaintenanceBackup? Backup => services.GetService<IMaintenanceBackup>();

    /// <summary>Whether the backup step is done by the server (true) or confirmed by a person (false).</summary>
    public bool BackupAutomatic => Backup is not null;

    /// <summary>Raised after a commit that changed what the status page shows.</summary>
    public event Action? Changed;

    // ------------------------------------------------------------------ reads

    public async Task<RunView> GetAsync(long id, CancellationToken ct) =>
        await FindAsync(id, ct) ?? throw new NotFoundException($"maintenance run {id} not found");

    public async Task<RunView?> FindAsync(long id, CancellationToken ct) => await db.ReadAsync(async c =>
    {
        var row = await c.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition("SELECT * FROM maintenance_runs WHERE id = @id", new { id }, cancellationToken: ct));
        if (row is null) return null;
        var events = await c.QueryAsync<(long Id, long Ts, string Actor, string Step, string Detail)>(new CommandDefinition(
            "SELECT id, ts, actor, step, detail FROM maintenance_run_events WHERE run_id = @id ORDER BY id", new { id }, cancellationToken: ct));
        return row.View([.. events.Select(e => new RunEvent(e.Id, DateTimeOffset.FromUnixTimeMilliseconds(e.Ts), e.Actor, e.Step, e.Detail))]);
    }, ct);

    public async Task<IReadOnlyList<RunView>> ListAsync(string? state, string? window, int limit, CancellationToken ct)
    {
        if (state is not null && !RunState.All.Contains(state)) throw new ValidationException("state", $"'{state}' is not one of {string.Join(", ", RunState.All)}");
        if (limit is < 1 or > 1000) throw new ValidationException("limit", "must be between 1 and 1000");
        var rows = await db.ReadAsync(c => c.QueryAsync<RunRow>(new CommandDefinition($"""
            SELECT * FROM maintenance_runs WHERE 1 = 1 {(state is null ? "" : "AND state = @state")} {(window is null ? "" : "AND window_id = @window")}
            ORDER BY occurrence_start DESC, id DESC LIMIT @limit
            """, new { state, window, limit }, cancellationToken: ct)), ct);
        return [.. rows.Select(r => r.View([]))];
    }

    /// <summary>Runs that are upcoming or running (what the status page and the calendar show).</summary>
    internal Task<List<RunRow>> OpenRowsAsync(CancellationToken ct) => db.ReadAsync(async c => (await c.QueryAsync<RunRow>(new CommandDefinition(
        "SELECT * FROM maintenance_runs WHERE state IN ('scheduled', 'preparing', 'in_progress', 'validating') ORDER BY occurrence_start, id LIMIT 500",
        cancellationToken: ct))).AsList(), ct);

    // ------------------------------------------------------------------ preparing

    /// <summary>
    /// Creates the run of an occurrence in <c>preparing</c> and tells users (the status page lists it; subscribers get
    /// a "scheduled" message), or returns the existing run of that occurrence.
    /// </summary>
    public async Task<long> PrepareAsync(WindowEntry w, Occurrence o, string actor, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var at = now.ToUnixTimeMilliseconds();
        var id = await db.WriteAsync(async (c, tx) =>
        {
            var existing = await c.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                "SELECT id FROM maintenance_runs WHERE window_id = @w AND occurrence_start = @s", new { w = w.Id, s = o.Start.ToUnixTimeMilliseconds() }, tx, cancellationToken: ct));
            if (existing is { } e) return e;
            var newId = await c.ExecuteScalarAsync<long>(new CommandDefinition("""
                INSERT INTO maintenance_runs (window_id, title, description, occurrence_start, occurrence_end, time_zone, components, state, rollback_plan,
                  checks, notified_at, created_by, created_at, updated_at)
                VALUES (@window, @title, @description, @start, @end, @zone, @components, 'preparing', @plan, @checks, @at, @actor, @at, @at) RETURNING id
                """, new
            {
                window = w.Id, title = w.Def.Title, description = w.Def.Description, start = o.Start.ToUnixTimeMilliseconds(), end = o.End.ToUnixTimeMilliseconds(),
                zone = w.Def.TimeZone, components = RunRow.J(w.Def.Components), plan = string.IsNullOrWhiteSpace(w.Def.RollbackPlan) ? null : w.Def.RollbackPlan,
                checks = RunRow.J(w.Def.Checks), at, actor,
            }, tx, cancellationToken: ct));
            var lead = o.Start - now;
            var notice = lead > TimeSpan.Zero ? $"{Duration.Format(RoundMinutes(lead))} before the window" : "at the start of the window (no advance notice)";
            await Event(c, tx, newId, at, actor, "prepared", "run created for the occurrence " + Window(o, w.Def.TimeZone));
            var n = await MaintenanceNotifier.QueueAsync(c, tx, config.Current, newId, "scheduled", w.Def.Title, w.Def.Description, o.Start, o.End, w.Def.Components, at, ct);
            await Event(c, tx, newId, at, actor, "notified", $"status page and {n} subscriber(s) told {notice}");
            await audit.AppendAsync(c, tx, actor, "maintenance_run.prepare", "maintenance_run", Id(newId), null,
                new { window = w.Id, start = o.Start, end = o.End, state = RunState.Preparing });
            return newId;
        }, ct);
        Committed();
        return id;
    }

    private static TimeSpan RoundMinutes(TimeSpan t) => TimeSpan.FromMinutes(Math.Max(1, Math.Round(t.TotalMinutes)));

    // ------------------------------------------------------------------ start

    /// <summary>
    /// Starts a run: of <paramref name="runId"/>, or of the window's occurrence that is running now or starts within
    /// <c>maintenance.early_start</c> (creating the run, and telling users, when the worker has not). Refused without a
    /// rollback plan, without a backup (taken by the backup service, or confirmed by a person when there is none), and
    /// outside the window. Silences the components' alerts from now until the window ends.
    /// </summary>
    public async Task<RunView> StartAsync(long? runId, StartRunRequest req, string actor, CancellationToken ct)
    {
        var c = config.Current;
        var now = time.GetUtcNow();
        var plan = Text(req.RollbackPlan, "rollback_plan");
        var confirmation = Text(req.BackupConfirmation, "backup_confirmation");
        var team = Text(req.Team, "team");
        RunRow? row = null;
        WindowEntry? w = null;
        Occurrence? occ = null;
        if (runId is { } rid)
        {
            row = await RowAsync(rid, ct);
            occ = new Occurrence(row.WindowId, DateTimeOffset.FromUnixTimeMilliseconds(row.OccurrenceStart), DateTimeOffset.FromUnixTimeMilliseconds(row.OccurrenceEnd));
        }
        else
        {
            if (string.IsNullOrWhiteSpace(req.Window)) throw new ValidationException("window", "is required: the id of the maintenance window to start");
            w = await windows.FindAsync(req.Window.Trim(), ct) ?? throw new ValidationException("window", $"unknown maintenance window '{req.Window}'");
            if (req.Occurrence is { Length: > 0 } os)
            {
                var t = Incidents.IncidentsModule.ParseTime(os, "occurrence")!.Value;
                occ = w.Recurrence.Between(w.Id, t, t.AddTicks(1), 1).FirstOrDefault(x => x.Start == t)
                    ?? throw new ValidationException("occurrence", $"window '{w.Id}' has no occurrence starting at {t:O}");
            }
            else
            {
                occ = w.Recurrence.Between(w.Id, now, now + c.Maintenance.EarlyStart.Value + TimeSpan.FromTicks(1), 1).FirstOrDefault()
                    ?? throw new ConflictException($"window '{w.Id}' has no occurrence running now or starting within {Duration.Format(c.Maintenance.EarlyStart.Value)} (maintenance.early_start); its next one: "
                        + (w.Recurrence.CurrentOrNext(w.Id, now, TimeSpan.FromDays(3660)) is { } next ? Window(next, w.Def.TimeZone) : "none"));
            }
            row = await db.ReadAsync(conn => conn.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition(
                "SELECT * FROM maintenance_runs WHERE window_id = @w AND occurrence_start = @s", new { w = w.Id, s = occ.Start.ToUnixTimeMilliseconds() }, cancellationToken: ct)), ct);
        }
        var state = row?.State ?? RunState.Scheduled;
        if (!RunState.Upcoming(state)) throw new ConflictException($"maintenance run {row!.Id} is {RunState.Title(state).ToLowerInvariant()}; only a scheduled or preparing run can start", "maintenance-state");
        if (now < occ.Start - c.Maintenance.EarlyStart.Value)
            throw new ConflictException($"the window starts {Window(occ, row?.TimeZone ?? w!.Def.TimeZone)}; a run may start at most {Duration.Format(c.Maintenance.EarlyStart.Value)} early (maintenance.early_start)", "maintenance-window");
        if (now >= occ.End) throw new ConflictException($"the window ended at {occ.End:O}; cancel this run and schedule a new window", "maintenance-window");
        var rollback = plan ?? row?.RollbackPlan ?? (string.IsNullOrWhiteSpace(w?.Def.RollbackPlan) ? null : w!.Def.RollbackPlan);
        if (string.IsNullOrWhiteSpace(rollback))
            throw new ValidationException("rollback_plan", "is required: a run without a rollback plan cannot start (give one, or set rollback_plan on the window)");
        var backupService = Backup;
        if (backupService is null && confirmation is null)
            throw new ValidationException("backup_confirmation", "is required: this server has no backup service, so say where the backup taken for this run is (a person's confirmation is recorded)");

        // Everything checked: the run exists (users told) before the backup and the silences.
        if (row is null)
        {
            var id = await PrepareAsync(w!, occ, actor, ct);
            row = await RowAsync(id, ct);
        }
        BackupRecord backup;
        if (backupService is not null)
        {
            string name;
            try
            {
                name = await backupService.TakeAsync(actor, $"maintenance run {row.Id}: {row.Title}", ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await Note(row.Id, actor, "backup_failed", ex.Message, ct);
                throw new ConflictException($"the backup failed, so the run did not start: {ex.Message}", "maintenance-backup");
            }
            backup = new BackupRecord("service", name, time.GetUtcNow(), actor);
        }
        else
        {
            backup = new BackupRecord("manual", confirmation!, now, actor);
        }

        var silenceIds = new List<string>();
        var comment = $"Maintenance run {row.Id}: {row.Title}";
        try
        {
            foreach (var m in MatcherLists(c, row.ComponentList))
                silenceIds.Add(await alerts.Silences.SetAsync(new Silence("", new Matchers(m), now, occ.End, now, actor, comment), actor, ct));
            var at = time.GetUtcNow().ToUnixTimeMilliseconds();
            await db.WriteAsync(async (conn, tx) =>
            {
                var n = await conn.ExecuteAsync(new CommandDefinition("""
                    UPDATE maintenance_runs SET state = 'in_progress', rollback_plan = @rollback, backup = @backup, team = @team, silence_ids = @silences,
                      started_at = @at, updated_at = @at WHERE id = @id AND state IN ('scheduled', 'preparing')
                    """, new { rollback, backup = RunRow.J(backup), team = team ?? row.Team, silences = RunRow.J(silenceIds), at, id = row.Id }, tx, cancellationToken: ct));
                if (n == 0) throw new ConflictException($"maintenance run {row.Id} changed meanwhile; reload it", "maintenance-state");
                await Event(conn, tx, row.Id, at, actor, "backup", backup.Kind == "service" ? $"backup {backup.Reference} taken" : $"backup confirmed by {actor}: {backup.Reference}");
                await Event(conn, tx, row.Id, at, actor, "rollback_plan", rollback);
                await Event(conn, tx, row.Id, at, actor, "started",
                    $"components under maintenance: {string.Join(", ", row.ComponentList)}; {silenceIds.Count} silence(s) until {occ.End.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC");
                await MaintenanceNotifier.QueueAsync(conn, tx, c, row.Id, RunState.InProgress, row.Title, row.Description, occ.Start, occ.End, row.ComponentList, at, ct);
                await audit.AppendAsync(conn, tx, actor, "maintenance_run.start", "maintenance_run", Id(row.Id), new { state = row.State },
                    new { state = RunState.InProgress, rollback_plan = rollback, backup, silences = silenceIds });
            }, ct);
        }
        catch
        {
            // Nothing half done: the silences made for a start that did not commit are expired again.
            foreach (var s in silenceIds) await ExpireQuietly(s, actor, "maintenance start failed");
            throw;
        }
        Committed();
        return await GetAsync(row.Id, ct);
    }

    // ------------------------------------------------------------------ validate, complete, roll back, cancel

    /// <summary>Runs the checks (probes green since the run started, PromQL expressions true), records every result, and moves the run to validating.</summary>
    public async Task<RunView> ValidateAsync(long id, string actor, CancellationToken ct)
    {
        var row = await RowAsync(id, ct);
        if (!RunState.Running(row.State)) throw new ConflictException($"maintenance run {id} is {RunState.Title(row.State).ToLowerInvariant()}; only a run in progress can be validated", "maintenance-state");
        var started = DateTimeOffset.FromUnixTimeMilliseconds(row.StartedAt ?? row.CreatedAt);
        var results = await checker.RunAsync(row.CheckDef, row.ComponentList, started, ct);
        var now = time.GetUtcNow();
        var list = row.ValidationList;
        var record = new ValidationRecord(list.Count + 1, now, actor, results.All(r => r.Passed), results);
        list.Add(record);
        var at = now.ToUnixTimeMilliseconds();
        await db.WriteAsync(async (c, tx) =>
        {
            var n = await c.ExecuteAsync(new CommandDefinition(
                "UPDATE maintenance_runs SET state = 'validating', validations = @v, updated_at = @at WHERE id = @id AND state = @state AND updated_at = @updated",
                new { v = RunRow.J(list), at, id, state = row.State, updated = row.UpdatedAt }, tx, cancellationToken: ct));
            if (n == 0) throw new ConflictException($"maintenance run {id} changed meanwhile; validate again", "maintenance-state");
            var failed = results.Where(r => !r.Passed).Select(r => r.Name).ToList();
            await Event(c, tx, id, at, actor, "validated", record.Passed
                ? $"validation {record.Attempt}: all {results.Count} check(s) passed"
                : $"validation {record.Attempt}: {failed.Count} of {results.Count} check(s) failed: {string.Join(", ", failed)}");
            await audit.AppendAsync(c, tx, actor, "maintenance_run.validate", "maintenance_run", Id(id), new { state = row.State },
                new { state = RunState.Validating, attempt = record.Attempt, passed = record.Passed, results });
        }, ct);
        Committed();
        return await GetAsync(id, ct);
    }

    /// <summary>Completes a run whose last validation passed: silences expired, users told, results documented, follow-up review scheduled.</summary>
    public Task<RunView> CompleteAsync(long id, FinishRunRequest req, string actor, CancellationToken ct) =>
        FinishAsync(id, RunState.Completed, Text(req.Summary, "summary"), actor, ct);

    /// <summary>Ends a running run by rolling back (the reason is required and documented); silences expired, users told, review scheduled.</summary>
    public Task<RunView> RollbackAsync(long id, FinishRunRequest req, string actor, CancellationToken ct) =>
        FinishAsync(id, RunState.RolledBack, Text(req.Reason, "reason") ?? throw new ValidationException("reason", "is required: say why the maintenance was rolled back"), actor, ct);

    /// <summary>Cancels a run that has not started; users who were told hear it is cancelled.</summary>
    public Task<RunView> CancelAsync(long id, FinishRunRequest req, string actor, CancellationToken ct) =>
        FinishAsync(id, RunState.Cancelled, Text(req.Reason, "reason") ?? throw new ValidationException("reason", "is required: say why the maintenance is cancelled"), actor, ct);

    private async Task<RunView> FinishAsync(long id, string to, string? text, string actor, CancellationToken ct)
    {
        var c = config.Current;
        var row = await RowAsync(id, ct);
        var allowed = to switch
        {
            RunState.Completed => row.State == RunState.Validating,
            RunState.RolledBack => RunState.Running(row.State),
            _ => RunState.Upcoming(row.State),
        };
        if (!allowed)
            throw new ConflictException($"maintenance run {id} is {RunState.Title(row.State).ToLowerInvariant()}; {to switch
            {
                RunState.Completed => "only a validating run can complete (validate it first)",
                RunState.RolledBack => "only a run in progress or validating can be rolled back",
                _ => "only a scheduled or preparing run can be cancelled (roll back a running one)",
            }}", "maintenance-state");
        if (to == RunState.Completed && row.ValidationList.LastOrDefault() is not { Passed: true })
            throw new ConflictException($"maintenance run {id}'s last validation did not pass; fix the failures and validate again, or roll back", "maintenance-validation");
        var now = time.GetUtcNow();
        var at = now.ToUnixTimeMilliseconds();
        long? review = to == RunState.Cancelled ? null : (now + c.Maintenance.ReviewAfter.Value).ToUnixTimeMilliseconds();
        await db.WriteAsync(async (conn, tx) =>
        {
            var n = await conn.ExecuteAsync(new CommandDefinition("""
                UPDATE maintenance_runs SET state = @to, summary = COALESCE(@summary, summary), review_due_at = @review, finished_at = @at, updated_at = @at
                WHERE id = @id AND state = @state AND updated_at = @updated
                """, new { to, summary = to == RunState.Completed ? text : null, review, at, id, state = row.State, updated = row.UpdatedAt }, tx, cancellationToken: ct));
            if (n == 0) throw new ConflictException($"maintenance run {id} changed meanwhile; reload it", "maintenance-state");
            await Event(conn, tx, id, at, actor, to, text ?? (to == RunState.Completed ? "completed" : to));
            if (to == RunState.RolledBack || to == RunState.Completed || row.NotifiedAt is not null)
            {
                var start = DateTimeOffset.FromUnixTimeMilliseconds(row.OccurrenceStart);
                var end = DateTimeOffset.FromUnixTimeMilliseconds(row.OccurrenceEnd);
                var sent = await MaintenanceNotifier.QueueAsync(conn, tx, c, id, to, row.Title, row.Description, start, end, row.ComponentList, at, ct);
                await Event(conn, tx, id, at, actor, "completed_notified", $"status page and {sent} subscriber(s) told: {RunState.Title(to).ToLowerInvariant()}");
            }
            if (review is { } r)
                await Event(conn, tx, id, at, actor, "review_scheduled", "follow-up review due " + DateTimeOffset.FromUnixTimeMilliseconds(r).UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC");
            await audit.AppendAsync(conn, tx, actor, "maintenance_run." + (to == RunState.RolledBack ? "rollback" : to == RunState.Completed ? "complete" : "cancel"),
                "maintenance_run", Id(id), new { state = row.State }, new { state = to, text, review_due_at = review });
        }, ct);
        foreach (var s in row.SilenceList) await ExpireQuietly(s, actor, $"maintenance run {id} {RunState.Title(to).ToLowerInvariant()}");
        Committed();
        return await GetAsync(id, ct);
    }

    /// <summary>Records a note (an issue met, a step done) on a run's timeline.</summary>
    public async Task<RunView> NoteAsync(long id, string? text, string actor, CancellationToken ct)
    {
        var t = Text(text, "text") ?? throw new ValidationException("text", "is required");
        await RowAsync(id, ct);
        await Note(id, actor, "note", t, ct);
        return await GetAsync(id, ct);
    }

    /// <summary>The worker's pass: prepares (announces) occurrences within their notice period, cancels runs whose window ended unstarted.</summary>
    public async Task<int> TickAsync(CancellationToken ct)
    {
        var c = config.Current;
        var now = time.GetUtcNow();
        var done = 0;
        foreach (var w in await windows.AllAsync(ct))
        {
            var notice = w.Def.NotifyBeforeValue(c.Maintenance) ?? TimeSpan.Zero;
            if (notice <= TimeSpan.Zero) continue;
            foreach (var o in w.Recurrence.Between(w.Id, now, now + notice, 5))
            {
                if (o.Start <= now) continue; // running already: announced at start, not now
                var exists = await db.ReadAsync(conn => conn.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM maintenance_runs WHERE window_id = @w AND occurrence_start = @s", new { w = w.Id, s = o.Start.ToUnixTimeMilliseconds() }, cancellationToken: ct)), ct);
                if (exists > 0) continue;
                await PrepareAsync(w, o, "watchkeeper", ct);
                done++;
            }
        }
        foreach (var r in await OpenRowsAsync(ct))
        {
            if (!RunState.Upcoming(r.State) || r.OccurrenceEnd > now.ToUnixTimeMilliseconds()) continue;
            try
            {
                await CancelAsync(r.Id, new FinishRunRequest(null, "the window ended without the run being started"), "watchkeeper", ct);
                done++;
            }
            catch (ConflictException)
            {
                // Started meanwhile.
            }
        }
        return done;
    }

    // ------------------------------------------------------------------ helpers

    private async Task<RunRow> RowAsync(long id, CancellationToken ct) =>
        await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<RunRow>(new CommandDefinition("SELECT * FROM maintenance_runs WHERE id = @id", new { id }, cancellationToken: ct)), ct)
        ?? throw new NotFoundException($"maintenance run {id} not found");

    private Task Note(long id, string actor, string step, string text, CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        var at = time.GetUtcNow().ToUnixTimeMilliseconds();
        await Event(c, tx, id, at, actor, step, text);
        await c.ExecuteAsync(new CommandDefinition("UPDATE maintenance_runs SET updated_at = @at WHERE id = @id", new { at, id }, tx, cancellationToken: ct));
        await audit.AppendAsync(c, tx, actor, "maintenance_run." + step, "maintenance_run", Id(id), null, new { text });
    }, ct);

    private static Task Event(DbConnection c, DbTransaction tx, long id, long at, string actor, string step, string detail) =>
        c.ExecuteAsync(new CommandDefinition("INSERT INTO maintenance_run_events (run_id, ts, actor, step, detail) VALUES (@id, @at, @actor, @step, @detail)",
            new { id, at, actor, step, detail }, tx));

    private async Task ExpireQuietly(string silenceId, string actor, string reason)
    {
        try
        {
            await alerts.Silences.ExpireAsync(silenceId, new SilenceChange(actor, reason), CancellationToken.None);
        }
        catch (SilenceException)
        {
            // Expired already (by hand, or the window ended).
        }
    }

    private void Committed()
    {
        deliveries.Wake();
        Changed?.Invoke();
    }

    /// <summary>
    /// The matcher lists whose alerts a run silences: per status page component its <c>alerts</c> lists, or by default
    /// <c>job</c> (the catalog's) and <c>service</c> of its service, as the status page picks a component's alerts.
    /// </summary>
    public IReadOnlyList<List<Matcher>> MatcherLists(WatchkeeperConfig c, IEnumerable<string> names)
    {
        var texts = new List<string>();
        foreach (var name in names)
        {
            var components = c.StatusPage.Components.Where(x => x.Id == name || string.Equals(x.Service, name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (components.Count == 0) texts.AddRange(Defaults(name));
            foreach (var x in components) texts.AddRange(x.Alerts.Count > 0 ? x.Alerts : Defaults(x.Service));
        }
        return [.. texts.Distinct(StringComparer.Ordinal).Select(MatcherParser.ParseList)];

        IEnumerable<string> Defaults(string service) =>
            [$"job=\"{Escape(catalog.Find(service)?.JobLabel ?? service)}\"", $"service=\"{Escape(catalog.Find(service)?.Name ?? service)}\""];
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private static string? Text(string? s, string field)
    {
        if (string.IsNullOrWhiteSpace(s)) return null;
        var t = s.Trim();
        if (t.Length > MaxText) throw new ValidationException(field, $"must be at most {MaxText} characters");
        return t;
    }

    private static string Window(Occurrence o, string zone)
    {
        var z = NodaTime.DateTimeZoneProviders.Tzdb.GetZoneOrNull(zone) ?? NodaTime.DateTimeZone.Utc;
        return $"{Recurrence.Format(o.Start, z)} to {Recurrence.Format(o.End, z)} ({zone})";
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
