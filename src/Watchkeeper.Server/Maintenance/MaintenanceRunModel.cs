using System.Text.Json;

namespace Watchkeeper.Server.Maintenance;

/// <summary>The states of a maintenance run (operations manual 3.2: preparation, execution, completion).</summary>
public static class RunState
{
    public const string Scheduled = "scheduled";
    public const string Preparing = "preparing";
    public const string InProgress = "in_progress";
    public const string Validating = "validating";
    public const string Completed = "completed";
    public const string RolledBack = "rolled_back";
    public const string Cancelled = "cancelled";

    public static readonly string[] All = [Scheduled, Preparing, InProgress, Validating, Completed, RolledBack, Cancelled];

    /// <summary>Components are under maintenance and their alerts silenced in these states.</summary>
    public static bool Running(string s) => s is InProgress or Validating;

    public static bool Upcoming(string s) => s is Scheduled or Preparing;

    public static bool Finished(string s) => s is Completed or RolledBack or Cancelled;

    public static string Title(string s) => s switch
    {
        Scheduled => "Scheduled",
        Preparing => "Preparing",
        InProgress => "In progress",
        Validating => "Validating",
        Completed => "Completed",
        RolledBack => "Rolled back",
        Cancelled => "Cancelled",
        _ => s,
    };

    /// <summary>What may be done next from a state (the API's allowed_actions).</summary>
    public static IReadOnlyList<string> Actions(string s) => s switch
    {
        Scheduled or Preparing => ["start", "cancel"],
        InProgress => ["validate", "rollback"],
        Validating => ["validate", "complete", "rollback"],
        _ => [],
    };
}

/// <summary>One check's result at a validation: a probe's last result or a PromQL expression's value.</summary>
public sealed record CheckResult(string Kind, string Name, bool Passed, string Detail);

/// <summary>One validation of a run: every configured check, evaluated at <see cref="At"/>.</summary>
public sealed record ValidationRecord(int Attempt, DateTimeOffset At, string Actor, bool Passed, IReadOnlyList<CheckResult> Results);

/// <summary>The backup step: taken by the backup service (<c>service</c>, with the backup's name) or confirmed by a person (<c>manual</c>).</summary>
public sealed record BackupRecord(string Kind, string Reference, DateTimeOffset At, string Actor);

/// <summary>A line of the operations manual's maintenance checklist (3.2) with whether the run did it.</summary>
public sealed record ChecklistItem(string Phase, string Item, bool Done, string? Detail);

public sealed record RunEvent(long Id, DateTimeOffset At, string Actor, string Step, string Detail);

public sealed record RunView(
    long Id, string WindowId, string Title, string Description, DateTimeOffset Start, DateTimeOffset End, string TimeZone, IReadOnlyList<string> Components,
    string State, string? RollbackPlan, BackupRecord? Backup, string? Team, IReadOnlyList<string> SilenceIds, MaintenanceChecksDef Checks,
    IReadOnlyList<ValidationRecord> Validations, DateTimeOffset? NotifiedAt, DateTimeOffset? ReviewDueAt, string? Summary, string CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, IReadOnlyList<string> AllowedActions,
    IReadOnlyList<ChecklistItem> Checklist, IReadOnlyList<RunEvent> Events)
{
    public ValidationRecord? LastValidation => Validations.Count == 0 ? null : Validations[^1];
}

/// <summary>The row of <c>maintenance_runs</c> (times in Unix milliseconds, lists as JSON).</summary>
internal sealed class RunRow
{
    public long Id { get; set; }
    public string WindowId { get; set; } = "";
    public string Title { get; set; } = "";
    public string Description { get; set; } = "";
    public long OccurrenceStart { get; set; }
    public long OccurrenceEnd { get; set; }
    public string TimeZone { get; set; } = "UTC";
    public string Components { get; set; } = "[]";
    public string State { get; set; } = "";
    public string? RollbackPlan { get; set; }
    public string? Backup { get; set; }
    public string? Team { get; set; }
    public string SilenceIds { get; set; } = "[]";
    public string Checks { get; set; } = "{}";
    public string Validations { get; set; } = "[]";
    public long? NotifiedAt { get; set; }
    public long? ReviewDueAt { get; set; }
    public string? Summary { get; set; }
    public string CreatedBy { get; set; } = "";
    public long CreatedAt { get; set; }
    public long UpdatedAt { get; set; }
    public long? StartedAt { get; set; }
    public long? FinishedAt { get; set; }

    private static readonly JsonSerializerOptions Json = MaintenanceWindows.Json;

    public List<string> ComponentList => JsonSerializer.Deserialize<List<string>>(Components, Json) ?? [];
    public List<string> SilenceList => JsonSerializer.Deserialize<List<string>>(SilenceIds, Json) ?? [];
    public List<ValidationRecord> ValidationList => JsonSerializer.Deserialize<List<ValidationRecord>>(Validations, Json) ?? [];
    public MaintenanceChecksDef CheckDef => JsonSerializer.Deserialize<MaintenanceChecksDef>(Checks, Json) ?? new();
    public BackupRecord? BackupRecord => Backup is null ? null : JsonSerializer.Deserialize<BackupRecord>(Backup, Json);

    public static string J(object o) => JsonSerializer.Serialize(o, Json);

    public RunView View(IReadOnlyList<RunEvent> events)
    {
        static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
        static DateTimeOffset? AtN(long? ms) => ms is { } v ? At(v) : null;
        var validations = ValidationList;
        return new RunView(Id, WindowId, Title, Description, At(OccurrenceStart), At(OccurrenceEnd), TimeZone, ComponentList, State, RollbackPlan, BackupRecord,
            Team, SilenceList, CheckDef, validations, AtN(NotifiedAt), AtN(ReviewDueAt), Summary, CreatedBy, At(CreatedAt), At(UpdatedAt), AtN(StartedAt),
            AtN(FinishedAt), RunState.Actions(State), Checklist(events, validations), events);
    }

    /// <summary>The operations manual's checklist (3.2), each item ticked from what the run recorded (nothing is ticked by hand).</summary>
    private List<ChecklistItem> Checklist(IReadOnlyList<RunEvent> events, List<ValidationRecord> validations)
    {
        bool Has(string step) => events.Any(e => e.Step == step);
        string? Detail(string step) => events.LastOrDefault(e => e.Step == step)?.Detail;
        var passed = validations.LastOrDefault(v => v.Passed);
        var probes = passed?.Results.Where(r => r.Kind == "probe").ToList() ?? [];
        var promql = passed?.Results.Where(r => r.Kind == "promql").ToList() ?? [];
        var backup = BackupRecord;
        return
        [
            new("pre", "Schedule maintenance window", true, $"window {WindowId}"),
            new("pre", "Notify users and stakeholders", NotifiedAt is not null, Detail("notified")),
            new("pre", "Create system backups", backup is not null, backup is null ? null : backup.Kind == "service" ? $"backup {backup.Reference}" : $"confirmed by {backup.Actor}: {backup.Reference}"),
            new("pre", "Prepare rollback procedures", !string.IsNullOrWhiteSpace(RollbackPlan), RollbackPlan),
            new("pre", "Coordinate maintenance team", !string.IsNullOrWhiteSpace(Team), Team),
            new("during", "Execute maintenance steps", StartedAt is not null, Detail("started")),
            new("during", "Validate each step", validations.Count > 0, validations.Count == 0 ? null : $"{validations.Count} validation(s)"),
            new("during", "Provide status updates", Has("started"), Has("started") ? "subscribers and the status page were told it started" : null),
            new("during", "Monitor system health", validations.Count > 0, validations.Count == 0 ? null : "checks evaluated at each validation"),
            new("during", "Document any issues", Has("note") || FinishedAt is not null && State != RunState.Cancelled,
                Detail("note") ?? Detail("rolled_back") ?? (FinishedAt is not null && State != RunState.Cancelled ? "no issues recorded" : null)),
            new("post", "Validate system functionality", passed is not null, passed is null ? null : $"validation {passed.Attempt} passed"),
            new("post", "Run health checks", passed is not null, passed is null ? null : probes.Count == 0 ? "no probe checks configured" : $"{probes.Count(p => p.Passed)}/{probes.Count} probes green"),
            new("post", "Run smoke tests", passed is not null, passed is null ? null : promql.Count == 0 ? "no PromQL checks configured" : $"{promql.Count(p => p.Passed)}/{promql.Count} expressions true"),
            new("post", "Notify users of completion", Has("completed_notified"), Detail("completed_notified")),
            new("post", "Document maintenance results", !string.IsNullOrWhiteSpace(Summary), Summary),
            new("post", "Schedule follow-up review", ReviewDueAt is not null, ReviewDueAt is { } r ? "due " + DateTimeOffset.FromUnixTimeMilliseconds(r).ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) + " UTC" : null),
        ];
    }
}
