using Cronos;
using Dapper;
using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Server.OnCall;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tasks;

/// <summary>A task of the configuration, compiled: its cron schedule and time zone.</summary>
public sealed record TaskDef(string Id, string Title, string Description, string Group, string Schedule, CronExpression Cron, TimeZoneInfo Zone,
    string? OwnerUser, string? OwnerSchedule)
{
    public string OwnerDescription => OwnerUser ?? $"on call ({OwnerSchedule})";
}

public sealed record TaskCompletion(long Id, string TaskId, DateTimeOffset DueAt, DateTimeOffset CompletedAt, string CompletedBy, string Note)
{
    public bool Late => CompletedAt > DueAt;
}

/// <summary>
/// A task now. <see cref="Status"/> is <c>overdue</c> (the latest occurrence due is not done), <c>open</c> (the next
/// one is not done yet) or <c>done</c> (the next one was done early). <see cref="DueAt"/> is the occurrence that
/// marking it done completes: the overdue one, else the next.
/// </summary>
public sealed record TaskState(TaskDef Task, string Status, DateTimeOffset DueAt, DateTimeOffset NextDueAt, string? Owner, TaskCompletion? Last)
{
    public bool Overdue => Status == "overdue";
}

/// <summary>A task as the API shows it.</summary>
public sealed record TaskView(string Id, string Title, string Description, string Group, string Schedule, string TimeZone, string OwnerRule, string? Owner,
    string Status, DateTimeOffset DueAt, DateTimeOffset NextDueAt, TaskCompletion? LastCompletion)
{
    public static TaskView From(TaskState s) => new(s.Task.Id, s.Task.Title, s.Task.Description, s.Task.Group, s.Task.Schedule, s.Task.Zone.Id,
        s.Task.OwnerDescription, s.Owner, s.Status, s.DueAt, s.NextDueAt, s.Last);
}

public sealed record TaskDoneRequest(string? Note);

public sealed record TaskDoneResult(TaskCompletion Completion, TaskView Task);

/// <summary>
/// The recurring operations tasks: states computed from the configured schedules and the completion records
/// (occurrences are computed on the fly, never stored; only completions are), completion, and the info alerts of
/// overdue tasks. Occurrences due before a task was first seen by this database do not count as missed.
/// </summary>
public sealed class TaskService(Db db, ConfigHolder config, OnCallService oncall, AlertingEngine alerts, AuditLog audit, TimeProvider time,
    ILogger<TaskService> log)
{
    public const string AlertName = "OperationsTaskOverdue";
    public const int MaxNoteLength = 2000;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly Lock _knownGate = new();
    private (TasksConfig Source, IReadOnlyList<TaskDef> Defs)? _compiled;

    public IReadOnlyList<TaskDef> Definitions
    {
        get
        {
            var current = config.Current.Tasks;
            var c = _compiled;
            if (c is { } hit && ReferenceEquals(hit.Source, current)) return hit.Defs;
            var defaultZone = TasksConfig.Zone(current.TimeZone) ?? TimeZoneInfo.Utc;
            var defs = current.Items.Select(t => new TaskDef(t.Id, t.Title, t.Description, t.Group, t.Schedule, CronExpression.Parse(t.Schedule, CronFormat.Standard),
                TasksConfig.Zone(t.TimeZone) ?? defaultZone, t.Owner?.User is { Length: > 0 } u ? u : null,
                t.Owner?.Schedule is { Length: > 0 } s ? s : null)).ToList();
            _compiled = (current, defs);
            return defs;
        }
    }

    public TaskDef Find(string id) => Definitions.FirstOrDefault(d => d.Id == id) ?? throw new NotFoundException($"no task '{id}' is configured (tasks.items)");

    public async Task<IReadOnlyList<TaskState>> ListAsync(CancellationToken ct = default)
    {
        var defs = Definitions;
        var firstSeen = await FirstSeenAsync(defs, ct);
        var last = await db.ReadAsync(async c => (await c.QueryAsync<CompletionRow>("""
            SELECT c.id, c.task_id, c.due_at, c.completed_at, c.completed_by, c.note FROM ops_task_completions c
            WHERE c.id IN (SELECT MAX(id) FROM ops_task_completions GROUP BY task_id)
            """)).ToDictionary(r => r.TaskId, r => r.ToCompletion(), StringComparer.Ordinal), ct);
        var now = time.GetUtcNow();
        var list = new List<TaskState>(defs.Count);
        foreach (var d in defs)
        {
            last.TryGetValue(d.Id, out var l);
            list.Add(await StateAsync(d, firstSeen[d.Id], l, now, ct));
        }
        return list;
    }

    public async Task<TaskState> GetAsync(string id, CancellationToken ct = default) => (await ListAsync(ct)).First(s => s.Task.Id == Find(id).Id);

    public async Task<IReadOnlyList<TaskCompletion>> CompletionsAsync(string id, int limit, CancellationToken ct = default)
    {
        var d = Find(id);
        if (limit is < 1 or > 1000) throw new ValidationException("limit", "must be between 1 and 1000");
        return await db.ReadAsync(async c => (await c.QueryAsync<CompletionRow>(
            "SELECT id, task_id, due_at, completed_at, completed_by, note FROM ops_task_completions WHERE task_id = @id ORDER BY due_at DESC, id DESC LIMIT @limit",
            new { id = d.Id, limit })).Select(r => r.ToCompletion()).ToList(), ct);
    }

    /// <summary>Marks the task done for the occurrence it is on (the overdue one, else the next); resolves its overdue alert.</summary>
    public async Task<TaskDoneResult> DoneAsync(string id, string actor, string? note, CancellationToken ct = default)
    {
        var d = Find(id);
        note = (note ?? "").Trim();
        if (note.Length > MaxNoteLength) throw new ValidationException("note", $"must be at most {MaxNoteLength} characters");
        var before = await GetAsync(d.Id, ct);
        if (before.Status == "done")
            throw new ConflictException($"'{d.Title}' is already done for the occurrence due {Format(before.DueAt, d.Zone)}; the next one is due {Format(before.NextDueAt, d.Zone)}");
        var now = time.GetUtcNow();
        var completion = await db.WriteAsync(async (c, tx) =>
        {
            var exists = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ops_task_completions WHERE task_id = @id AND due_at = @due",
                new { id = d.Id, due = before.DueAt.ToUnixTimeMilliseconds() }, tx);
            if (exists > 0) throw new ConflictException($"'{d.Title}' was just marked done for the occurrence due {Format(before.DueAt, d.Zone)}");
            var row = new
            {
                task = d.Id, due = before.DueAt.ToUnixTimeMilliseconds(), at = now.ToUnixTimeMilliseconds(), by = actor, note,
            };
            var newId = await c.ExecuteScalarAsync<long>("""
                INSERT INTO ops_task_completions (task_id, due_at, completed_at, completed_by, note) VALUES (@task, @due, @at, @by, @note) RETURNING id
                """, row, tx);
            var done = new TaskCompletion(newId, d.Id, before.DueAt, now, actor, note);
            await audit.AppendAsync(c, tx, actor, "task.done", "task", d.Id, null, done);
            return done;
        }, ct);
        if (before.Overdue) Send([Alert(before, now)]);
        return new TaskDoneResult(completion, TaskView.From(await GetAsync(d.Id, ct)));
    }

    /// <summary>
    /// One round of alerts: an info alert per overdue task (re-sent each round, so it stays firing), and the alerts of
    /// tasks completed late since <paramref name="resolvedSince"/> sent resolved.
    /// </summary>
    public async Task<int> SendAlertsAsync(DateTimeOffset resolvedSince, CancellationToken ct = default)
    {
        var states = await ListAsync(ct);
        var batch = new List<PostableAlert>();
        foreach (var s in states)
        {
            if (s.Overdue) batch.Add(Alert(s, null));
            else if (s.Last is { Late: true } l && l.CompletedAt >= resolvedSince) batch.Add(Alert(s with { DueAt = l.DueAt }, l.CompletedAt));
        }
        Send(batch);
        return states.Count(s => s.Overdue);
    }

    private void Send(List<PostableAlert> batch)
    {
        if (batch.Count == 0) return;
        foreach (var e in alerts.Receive(batch)) log.LogWarning("Task alert {Index} was refused by the alert store: {Reason}", e.Index, e.Reason);
    }

    private PostableAlert Alert(TaskState s, DateTimeOffset? endsAt)
    {
        var d = s.Task;
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = AlertName,
            ["severity"] = "info",
            ["task"] = d.Id,
        };
        if (d.Group.Length > 0) labels["task_group"] = d.Group;
        if (s.Owner is { Length: > 0 } o) labels["owner"] = o;
        var url = config.Current.Server.Absolute("/tasks#task-" + d.Id);
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["summary"] = $"Operations task overdue: {d.Title}",
            ["description"] = $"\"{d.Title}\" ({(d.Group.Length > 0 ? d.Group + ", " : "")}owner {s.Owner ?? d.OwnerDescription}) was due {Format(s.DueAt, d.Zone)}"
                + (endsAt is { } e ? $"; it was done {Format(e, d.Zone)}." : " and is not done yet."),
            ["task_url"] = url,
        };
        return new PostableAlert(labels, annotations, s.DueAt, endsAt, url);
    }

    public static string Format(DateTimeOffset t, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(t, zone).ToString("ddd d MMM yyyy HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " " + zone.Id;

    private async Task<TaskState> StateAsync(TaskDef d, DateTimeOffset firstSeen, TaskCompletion? last, DateTimeOffset now, CancellationToken ct)
    {
        var next = d.Cron.GetNextOccurrence(now, d.Zone) ?? DateTimeOffset.MaxValue;
        var floor = firstSeen;
        if (last is not null && last.DueAt > floor) floor = last.DueAt;
        var previous = Previous(d, now, floor);
        string status;
        DateTimeOffset due;
        if (previous is { } p && (last is null || last.DueAt < p))
        {
            status = "overdue";
            due = p;
        }
        else
        {
            due = next;
            status = last is not null && last.DueAt >= next ? "done" : "open";
        }
        string? owner = d.OwnerUser;
        if (d.OwnerSchedule is { } schedule)
            owner = await oncall.WhoAsync(now, schedule, ct) is [var first, ..] ? first.Person : null;
        return new TaskState(d, status, due, next, owner, last);
    }

    /// <summary>The latest occurrence at or before <paramref name="now"/> and after <paramref name="floor"/> (exclusive), or null.</summary>
    private static DateTimeOffset? Previous(TaskDef d, DateTimeOffset now, DateTimeOffset floor)
    {
        if (floor >= now) return null;
        // Cronos only looks forward: search windows of growing size back from now, so a frequent schedule costs few steps.
        for (var window = TimeSpan.FromHours(1); ; window *= 4)
        {
            var from = now - window;
            var bounded = from <= floor;
            if (bounded) from = floor;
            DateTimeOffset? last = null;
            foreach (var o in d.Cron.GetOccurrences(from, now, d.Zone, fromInclusive: false, toInclusive: true)) last = o;
            if (last is not null || bounded) return last;
        }
    }

    /// <summary>Records the configured tasks this database has not seen yet as first seen now (called at start).</summary>
    public async Task RecordKnownAsync(CancellationToken ct = default) => await FirstSeenAsync(Definitions, ct);

    /// <summary>When each task was first seen by this database (recorded now for tasks new to it).</summary>
    private async Task<Dictionary<string, DateTimeOffset>> FirstSeenAsync(IReadOnlyList<TaskDef> defs, CancellationToken ct)
    {
        bool allKnown;
        lock (_knownGate) allKnown = defs.All(d => _known.Contains(d.Id));
        if (!allKnown)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            await db.WriteAsync(async (c, tx) =>
            {
                foreach (var d in defs)
                    await c.ExecuteAsync("INSERT INTO ops_tasks (id, first_seen_at) VALUES (@id, @now) ON CONFLICT (id) DO NOTHING", new { id = d.Id, now }, tx);
            }, ct);
        }
        var rows = await db.ReadAsync(async c => (await c.QueryAsync<(string Id, long FirstSeenAt)>("SELECT id, first_seen_at FROM ops_tasks")).ToList(), ct);
        lock (_knownGate)
            foreach (var (id, _) in rows) _known.Add(id);
        return rows.ToDictionary(r => r.Id, r => DateTimeOffset.FromUnixTimeMilliseconds(r.FirstSeenAt), StringComparer.Ordinal);
    }

    private sealed class CompletionRow
    {
        public long Id { get; set; }
        public string TaskId { get; set; } = "";
        public long DueAt { get; set; }
        public long CompletedAt { get; set; }
        public string CompletedBy { get; set; } = "";
        public string Note { get; set; } = "";

        public TaskCompletion ToCompletion() => new(Id, TaskId, DateTimeOffset.FromUnixTimeMilliseconds(DueAt), DateTimeOffset.FromUnixTimeMilliseconds(CompletedAt),
            CompletedBy, Note);
    }
}
