using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.OnCall;

/// <summary>The escalations table row.</summary>
public sealed class EscalationRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Policy { get; set; } = "";
    public string Severity { get; set; } = "";
    public string State { get; set; } = "";
    public int Round { get; set; }
    public int Step { get; set; }
    public long NextAt { get; set; }
    public long StartedAt { get; set; }
    public long? EndedAt { get; set; }
    public string? EndedBy { get; set; }
    public long Version { get; set; }
}

public static class EscalationState
{
    public const string Active = "active";
    public const string Acknowledged = "acknowledged";
    public const string Resolved = "resolved";
    public const string Exhausted = "exhausted";
    public const string Superseded = "superseded";
    public const string Cancelled = "cancelled";
}

/// <summary>
/// Escalation: incidents start the policy of their severity (<see cref="IIncidentHooks"/>, in the incident's own
/// transaction); <see cref="RunDueAsync"/> runs each due step in one transaction that records every page, enqueues
/// its notification in the outbox and moves the escalation to its next step, so a restart continues where it was and
/// never pages a step twice. Acknowledgement or resolution of the incident stops it.
/// </summary>
public sealed class EscalationEngine(Db db, ConfigHolder config, TimeProvider time, AckLinks links, IServiceProvider services, ILogger<EscalationEngine> logger)
    : IIncidentHooks
{
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next start of an escalation; take it before a run so a start during the run is not missed.</summary>
    public Task Signal => Volatile.Read(ref _signal).Task;

    private void Wake() => Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    // ------------------------------------------------------------------ incident hooks

    public async Task DeclaredAsync(DbConnection c, DbTransaction tx, IncidentRow incident, long now, CancellationToken ct) =>
        await StartAsync(c, tx, incident, incident.Severity, now, ct);

    public async Task SeverityChangedAsync(DbConnection c, DbTransaction tx, IncidentRow incident, string previous, long now, CancellationToken ct)
    {
        if (incident.AcknowledgedAt is not null || incident.ResolvedAt is not null) return;
        var order = config.Current.Severities.Select(s => s.Id).ToList();
        var before = order.FindIndex(s => string.Equals(s, previous, StringComparison.OrdinalIgnoreCase));
        var after = order.FindIndex(s => string.Equals(s, incident.Severity, StringComparison.OrdinalIgnoreCase));
        if (after < 0 || (before >= 0 && after >= before)) return; // lowered: the running escalation carries on
        await EndAsync(c, tx, incident.Id, EscalationState.Superseded, "severity raised to " + incident.Severity, now, ct);
        await StartAsync(c, tx, incident, incident.Severity, now, ct);
    }

    public Task AcknowledgedAsync(DbConnection c, DbTransaction tx, IncidentRow incident, string actor, long now, CancellationToken ct) =>
        EndAsync(c, tx, incident.Id, EscalationState.Acknowledged, actor, now, ct);

    public Task ResolvedAsync(DbConnection c, DbTransaction tx, IncidentRow incident, long now, CancellationToken ct) =>
        EndAsync(c, tx, incident.Id, EscalationState.Resolved, "resolved", now, ct);

    private async Task StartAsync(DbConnection c, DbTransaction tx, IncidentRow incident, string severity, long now, CancellationToken ct)
    {
        var model = OnCallModel.For(config.Current);
        var policy = model.PolicyFor(severity);
        if (policy is null) return;
        if (policy.Steps.Count == 0)
        {
            await Timeline(c, tx, incident.Id, $"{severity}: no page (escalation policy '{policy.Name}': {Or(policy.Description, "regular team review")})", now, ct);
            return;
        }
        await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO escalations (incident_id, policy, severity, state, round, step, next_at, started_at, version)
            VALUES (@id, @policy, @severity, 'active', 0, 0, @now, @now, 1)
            """, new { id = incident.Id, policy = policy.Name, severity, now }, tx, cancellationToken: ct));
        await Timeline(c, tx, incident.Id, $"Escalation policy '{policy.Name}' started ({policy.Steps.Count} step(s), repeated {policy.Repeat} more time(s) until acknowledged)", now, ct);
        db.OnCommit(tx, Wake);
    }

    private static async Task EndAsync(DbConnection c, DbTransaction tx, long incidentId, string state, string by, long now, CancellationToken ct)
    {
        var n = await c.ExecuteAsync(new CommandDefinition(
            "UPDATE escalations SET state = @state, ended_at = @now, ended_by = @by, version = version + 1 WHERE incident_id = @incidentId AND state = 'active'",
            new { state, now, by, incidentId }, tx, cancellationToken: ct));
        if (n > 0 && state != EscalationState.Superseded)
            await Timeline(c, tx, incidentId, state == EscalationState.Acknowledged ? $"Escalation stopped: acknowledged by {by}" : "Escalation stopped: incident " + by, now, ct);
    }

    // ------------------------------------------------------------------ the worker's step

    /// <summary>Runs every escalation step that is due now; returns how many steps ran.</summary>
    public async Task<int> RunDueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = await db.ReadAsync(async c => (await c.QueryAsync<long>(new CommandDefinition(
            "SELECT id FROM escalations WHERE state = 'active' AND next_at <= @now ORDER BY next_at, id LIMIT 200", new { now }, cancellationToken: ct))).AsList(), ct);
        if (due.Count == 0) return 0;
        await links.WarmAsync(ct);
        var ran = 0;
        foreach (var id in due)
        {
            try
            {
                if (await RunOneAsync(id, ct)) ran++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Escalation {Id}: step failed; it is retried on the next run", id);
            }
        }
        return ran;
    }

    /// <summary>The earliest time an active escalation is due, or null when none is active.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken ct)
    {
        var next = await db.ReadAsync(c => c.ExecuteScalarAsync<long?>(new CommandDefinition("SELECT MIN(next_at) FROM escalations WHERE state = 'active'", cancellationToken: ct)), ct);
        return next is { } n ? DateTimeOffset.FromUnixTimeMilliseconds(n) : null;
    }

    private async Task<bool> RunOneAsync(long id, CancellationToken ct)
    {
        var cfg = config.Current;
        var model = OnCallModel.For(cfg);
        var outbox = services.GetService<INotificationOutbox>();
        var lockSql = db.Provider == DbProvider.Postgres ? " FOR UPDATE" : "";
        return await db.WriteAsync(async (c, tx) =>
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var e = await c.QuerySingleOrDefaultAsync<EscalationRow>(new CommandDefinition("SELECT * FROM escalations WHERE id = @id" + lockSql, new { id }, tx, cancellationToken: ct));
            if (e is null || e.State != EscalationState.Active || e.NextAt > now) return false;
            var incident = await c.QuerySingleAsync<IncidentRow>(new CommandDefinition("SELECT * FROM incidents WHERE id = @id", new { id = e.IncidentId }, tx, cancellationToken: ct));
            var policy = model.Policy(e.Policy);
            if (incident.AcknowledgedAt is not null || incident.ResolvedAt is not null)
                return await Finish(c, tx, e, incident.ResolvedAt is not null ? EscalationState.Resolved : EscalationState.Acknowledged, "incident", null, now, ct);
            if (policy is null || policy.Steps.Count == 0)
                return await Finish(c, tx, e, EscalationState.Cancelled, "configuration", $"Escalation stopped: policy '{e.Policy}' is no longer configured", now, ct);
            if (e.Step >= policy.Steps.Count)
            {
                if (e.Round >= policy.Repeat)
                    return await Finish(c, tx, e, EscalationState.Exhausted, "policy", $"Escalation policy '{e.Policy}' ended: nobody acknowledged after {e.Round + 1} round(s)", now, ct);
                e.Round++;
                e.Step = 0;
            }
            var step = policy.Steps[e.Step];
            var pages = Resolve(model, step, DateTimeOffset.FromUnixTimeMilliseconds(now), await OverridesAsync(c, tx, now, ct));
            var said = new List<string>();
            foreach (var p in pages)
            {
                if (p.Person is null)
                {
                    await Page(c, tx, e, p with { Person = "-" }, "none", null, p.Problem, now, ct);
                    said.Add($"{p.Why}: {p.Problem}");
                    continue;
                }
                var person = model.People[p.Person];
                var methods = (step.Via.Count == 0 ? person.Contact.Available() : step.Via.Where(v => person.Contact.Available().Contains(v))).ToList();
                if (methods.Count == 0)
                {
                    await Page(c, tx, e, p, "none", null, "no contact method configured" + (step.Via.Count > 0 ? " among " + string.Join(", ", step.Via) : ""), now, ct);
                    said.Add($"{p.Person} ({p.Why}): no contact method");
                    continue;
                }
                var token = await links.CreateAsync(c, tx, incident.Id, p.Person, model.Settings.AckLinkTtl, ct);
                foreach (var m in methods)
                {
                    long? outboxId = null;
                    string? error = null;
                    if (outbox is null) error = "no notification outbox is installed: not sent";
                    else outboxId = await outbox.EnqueueAsync(c, tx, Notification(cfg, incident, e, policy, p, m, token, now), ct);
                    await Page(c, tx, e, p, m, outboxId, error, now, ct);
                }
                said.Add($"{p.Person} ({string.Join(", ", methods)}) as {p.Why}");
            }
            await Timeline(c, tx, incident.Id,
                $"Escalation '{e.Policy}' step {e.Step + 1}/{policy.Steps.Count}{(e.Round > 0 ? $" (repeat {e.Round})" : "")}: paged {(said.Count == 0 ? "nobody" : string.Join("; ", said))}", now, ct);
            e.Step++;
            e.NextAt = now + (long)step.Wait.Value.TotalMilliseconds;
            await Save(c, tx, e, ct);
            return true;
        }, ct);
    }

    private async Task<bool> Finish(DbConnection c, DbTransaction tx, EscalationRow e, string state, string by, string? message, long now, CancellationToken ct)
    {
        e.State = state;
        e.EndedAt = now;
        e.EndedBy = by;
        await Save(c, tx, e, ct);
        if (message is not null) await Timeline(c, tx, e.IncidentId, message, now, ct);
        return false;
    }

    private static async Task Save(DbConnection c, DbTransaction tx, EscalationRow e, CancellationToken ct)
    {
        var n = await c.ExecuteAsync(new CommandDefinition("""
            UPDATE escalations SET state = @State, round = @Round, step = @Step, next_at = @NextAt, ended_at = @EndedAt, ended_by = @EndedBy,
              version = version + 1 WHERE id = @Id AND version = @Version
            """, e, tx, cancellationToken: ct));
        if (n != 1) throw new InvalidOperationException($"escalation {e.Id} changed while its step ran");
    }

    private static Task Page(DbConnection c, DbTransaction tx, EscalationRow e, PageTarget p, string method, long? outboxId, string? error, long now, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO escalation_pages (escalation_id, round, step, person, method, target, outbox_id, error, created_at)
            VALUES (@id, @round, @step, @person, @method, @target, @outboxId, @error, @now)
            """, new { id = e.Id, round = e.Round, step = e.Step, person = p.Person, method, target = p.Why, outboxId, error, now }, tx, cancellationToken: ct));

    /// <summary>One person a step pages (or, with no person, why a target has nobody), and why they are paged.</summary>
    public sealed record PageTarget(string? Person, string Why, string? Problem = null);

    /// <summary>Whom a step pages at <paramref name="at"/>: schedules' on-call, users, everyone with a role; each person once.</summary>
    public static IReadOnlyList<PageTarget> Resolve(OnCallModel model, EscalationStepConfig step, DateTimeOffset at, IReadOnlyList<Override> overrides)
    {
        var list = new List<PageTarget>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string person, string why)
        {
            if (seen.Add(person)) list.Add(new PageTarget(person, why));
        }
        foreach (var t in step.Notify)
        {
            if (t.Schedule is { } s)
            {
                var who = model.Schedules.TryGetValue(s, out var sched) ? sched.At(at, overrides) : null;
                if (who is null) list.Add(new PageTarget(null, "on call for " + s, "nobody is on call"));
                else Add(who.Value.Person, "on call for " + s);
            }
            else if (t.User is { } u) Add(u, "named in the policy");
            else if (t.Role is { } r) foreach (var p in model.WithRole(r)) Add(p, r.Replace('_', ' '));
        }
        return list;
    }

    private static async Task<IReadOnlyList<Override>> OverridesAsync(DbConnection c, DbTransaction tx, long now, CancellationToken ct) =>
        (await c.QueryAsync<OverrideRow>(new CommandDefinition(
            "SELECT * FROM oncall_overrides WHERE deleted_at IS NULL AND starts_at <= @now AND ends_at > @now", new { now }, tx, cancellationToken: ct)))
        .Select(o => o.ToOverride()).ToList();

    private static OutboxItem Notification(WatchkeeperConfig cfg, IncidentRow incident, EscalationRow e, EscalationPolicyConfig policy, PageTarget p, string method,
        string token, long now)
    {
        var sev = cfg.Severity(incident.Severity);
        var incidentUrl = cfg.Server.Absolute($"/incidents/{incident.Id}");
        var ackUrl = cfg.Server.Absolute($"/ack/{token}");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = "IncidentEscalation",
            ["incident"] = incident.Id.ToString(CultureInfo.InvariantCulture),
            ["incident_severity"] = incident.Severity,
            ["severity"] = sev?.Name is { Length: > 0 } n ? n : incident.Severity,
            ["escalation_policy"] = policy.Name,
            ["escalation_step"] = (e.Step + 1).ToString(CultureInfo.InvariantCulture),
        };
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = $"[{incident.Severity}] {incident.Title}",
            ["description"] = $"Incident #{incident.Id} ({incident.Severity}, {incident.Status}) needs acknowledgement. You are paged as {p.Why} " +
                $"(escalation '{policy.Name}', step {e.Step + 1} of {policy.Steps.Count}). Acknowledge: {ackUrl}",
            ["incident_url"] = incidentUrl,
            ["acknowledge_url"] = ackUrl,
        };
        var fp = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("incident\u001f" + incident.Id.ToString(CultureInfo.InvariantCulture))))[..16];
        var alert = new TemplateAlert("firing", labels, annotations, DateTimeOffset.FromUnixTimeMilliseconds(incident.DetectedAt), null, incidentUrl, fp);
        var groupKey = $"escalation/{e.Id}/{e.Round}/{e.Step}";
        var data = new TemplateData("user:" + p.Person, "firing", [alert],
            new Dictionary<string, string> { ["incident"] = labels["incident"] }, labels, annotations, cfg.Server.ExternalOrigin ?? "", groupKey);
        return new OutboxItem("user:" + p.Person, method, groupKey, data, DateTimeOffset.FromUnixTimeMilliseconds(now), "incident-" + labels["incident"]);
    }

    private static Task Timeline(DbConnection c, DbTransaction tx, long incidentId, string message, long now, CancellationToken ct) =>
        c.ExecuteAsync(new CommandDefinition("INSERT INTO incident_timeline (incident_id, ts, author, kind, message) VALUES (@incidentId, @now, 'watchkeeper', 'escalation', @message)",
            new { incidentId, now, message }, tx, cancellationToken: ct));

    private static string Or(string s, string fallback) => string.IsNullOrWhiteSpace(s) ? fallback : s;
}

/// <summary>Runs due escalation steps: woken when an escalation starts, else at the next due time or every check_interval.</summary>
public sealed class EscalationWorker(EscalationEngine engine, ConfigHolder config, EscalationLeadership leadership, TimeProvider time, ILogger<EscalationWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var signal = engine.Signal;
            var wait = config.Current.Oncall.CheckInterval.Value;
            try
            {
                if (leadership.IsLeader())
                {
                    await engine.RunDueAsync(stoppingToken);
                    if (await engine.NextDueAsync(stoppingToken) is { } next)
                        wait = TimeSpan.FromTicks(Math.Clamp((next - time.GetUtcNow()).Ticks, TimeSpan.TicksPerMillisecond * 10, wait.Ticks));
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Escalation run failed");
            }
            try
            {
                await Task.WhenAny(signal, Task.Delay(wait, time, stoppingToken));
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (stoppingToken.IsCancellationRequested) return;
        }
    }
}

/// <summary>
/// Whether this replica runs escalation steps: by default whether it holds the leader lease (<see cref="ILeadership"/>).
/// Several replicas running steps at once would still be safe (each step locks its escalation row and checks its
/// version), only wasteful.
/// </summary>
public sealed record EscalationLeadership(Func<bool> IsLeader);
