namespace Watchkeeper.Server.Incidents;

public static class IncidentStatus
{
    public const string Investigating = "investigating";
    public const string Identified = "identified";
    public const string Monitoring = "monitoring";
    public const string Resolved = "resolved";
    public static readonly string[] All = [Investigating, Identified, Monitoring, Resolved];

    /// <summary>
    /// The lifecycle: forward to any later state, back one or more steps while open (a fix that did
    /// not hold), and from Resolved only a reopen to Investigating. Staying put is not a transition.
    /// </summary>
    public static IReadOnlyList<string> AllowedFrom(string status) => status switch
    {
        Investigating => [Identified, Monitoring, Resolved],
        Identified => [Investigating, Monitoring, Resolved],
        Monitoring => [Investigating, Identified, Resolved],
        Resolved => [Investigating],
        _ => [],
    };

    public static string Title(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}

public static class IncidentKind
{
    public const string Operational = "operational";
    public const string Security = "security";
    public static readonly string[] All = [Operational, Security];
}

public static class DetectionSource
{
    public static readonly string[] All = ["automated", "manual", "external"];
}

public static class ActionItemStatus
{
    public static readonly string[] All = ["open", "in_progress", "done", "cancelled"];
}

/// <summary>The incidents table row.</summary>
public sealed class IncidentRow
{
    public long Id { get; set; }
    public string Title { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Severity { get; set; } = "";
    public string Status { get; set; } = "";
    public string Summary { get; set; } = "";
    public string UsersAffected { get; set; } = "";
    public string ServicesAffected { get; set; } = "[]";
    public string BusinessImpact { get; set; } = "";
    public string DetectionSource { get; set; } = "";
    public string? Commander { get; set; }
    public string? CommunicationsLead { get; set; }
    public string? Scribe { get; set; }
    public long DetectedAt { get; set; }
    public long? AcknowledgedAt { get; set; }
    public long? MitigatedAt { get; set; }
    public long? ResolvedAt { get; set; }
    public long ResponseDueAt { get; set; }
    public long ResolutionDueAt { get; set; }
    public long? NextUpdateDueAt { get; set; }
    public long CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";
    public long UpdatedAt { get; set; }
    public long Version { get; set; }

    public IncidentRow Clone() => (IncidentRow)MemberwiseClone();
}

public sealed record Impact(string UsersAffected, IReadOnlyList<string> ServicesAffected, string BusinessImpact);
public sealed record IncidentRoles(string? Commander, string? CommunicationsLead, string? Scribe);

public sealed record SlaClock(
    string Kind, DateTimeOffset DueAt, DateTimeOffset? MetAt, bool Breached, double? ElapsedSeconds, double TargetSeconds, double RemainingSeconds);

public sealed record IncidentView(
    long Id, string Title, string Kind, string Severity, string Status, string Summary, Impact Impact,
    string DetectionSource, IncidentRoles Roles,
    DateTimeOffset DetectedAt, DateTimeOffset? AcknowledgedAt, DateTimeOffset? MitigatedAt, DateTimeOffset? ResolvedAt,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt,
    SlaClock ResponseSla, SlaClock ResolutionSla,
    DateTimeOffset? NextUpdateDueAt, bool StatusUpdateOverdue,
    IReadOnlyList<string> AllowedTransitions, long Version);

public sealed class TimelineRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public long Ts { get; set; }
    public string Author { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Message { get; set; } = "";
    public string? DataJson { get; set; }
}

public sealed record TimelineEntry(long Id, DateTimeOffset At, string Author, string Kind, string Message);

public sealed class StatusUpdateRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public long Ts { get; set; }
    public string Author { get; set; } = "";
    public string Visibility { get; set; } = "";
    public string Status { get; set; } = "";
    public string CurrentStatus { get; set; } = "";
    public long? NextUpdateAt { get; set; }
    public string Body { get; set; } = "";
}

public sealed record StatusUpdateView(long Id, DateTimeOffset At, string Author, string Visibility, string Status, string CurrentStatus, DateTimeOffset? NextUpdateAt, string Body);

public sealed class ChecklistRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Checklist { get; set; } = "";
    public string PhaseKey { get; set; } = "";
    public string PhaseTitle { get; set; } = "";
    public long PhaseStartS { get; set; }
    public long PhaseDueS { get; set; }
    public long Position { get; set; }
    public string Text { get; set; } = "";
    public long? DoneAt { get; set; }
    public string? DoneBy { get; set; }
}

public sealed record ChecklistItemView(long Id, string Text, bool Done, DateTimeOffset? DoneAt, string? DoneBy, bool Overdue);
public sealed record ChecklistPhaseView(string Key, string Title, DateTimeOffset StartsAt, DateTimeOffset DueAt, bool Overdue, int Done, int Total, IReadOnlyList<ChecklistItemView> Items);
public sealed record ChecklistView(string Checklist, IReadOnlyList<ChecklistPhaseView> Phases, int Done, int Total, int Overdue);

public sealed class PostmortemRow
{
    public long IncidentId { get; set; }
    public string Summary { get; set; } = "";
    public string Impact { get; set; } = "";
    public string RootCause { get; set; } = "";
    public string LessonsLearned { get; set; } = "";
    public long UpdatedAt { get; set; }
    public string UpdatedBy { get; set; } = "";
}

public sealed record PostmortemView(long IncidentId, string Title, string Severity, string Summary, string Impact, string RootCause, string LessonsLearned,
    DateTimeOffset? UpdatedAt, string? UpdatedBy, IReadOnlyList<TimelineEntry> Timeline, IReadOnlyList<ActionItemView> ActionItems, string Markdown);

/// <summary>An action_items row as stored (times in Unix ms); the lists extend it with the incident's columns.</summary>
public class ActionItemRow
{
    public long Id { get; set; }
    public long IncidentId { get; set; }
    public string Title { get; set; } = "";
    public string Owner { get; set; } = "";
    public long? DueAt { get; set; }
    public string Status { get; set; } = "";
    public long CreatedAt { get; set; }
    public long UpdatedAt { get; set; }
    public long? CompletedAt { get; set; }
}

public sealed record ActionItemView(long Id, long IncidentId, string Title, string Owner, DateTimeOffset? DueAt, string Status, bool Overdue, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

public sealed record IncidentPage(IReadOnlyList<IncidentView> Items, long Total, long? NextCursor);

// Requests. Nullable everywhere: validation at the edge names the missing or wrong field.
public sealed record CreateIncidentRequest(
    string? Title, string? Kind, string? Severity, string? Summary, string? UsersAffected, List<string>? ServicesAffected,
    string? BusinessImpact, string? DetectionSource, string? Commander, string? CommunicationsLead, string? Scribe, DateTimeOffset? DetectedAt);

public sealed record UpdateIncidentRequest(
    string? Title, string? Severity, string? Summary, string? UsersAffected, List<string>? ServicesAffected, string? BusinessImpact, string? Kind);

public sealed record TransitionRequest(string? Status, string? Message);
public sealed record MessageRequest(string? Message);
/// <summary>Resolve: the resolution message (timeline) and an optional final public status update.</summary>
public sealed record ResolveRequest(string? Message, string? PublicUpdate);
public sealed record AssignRequest(string? Commander, string? CommunicationsLead, string? Scribe);
public sealed record NoteRequest(string? Text);
public sealed record StatusUpdateRequest(string? CurrentStatus, string? Visibility, string? NextUpdateIn, string? Status);
public sealed record ChecklistCheckRequest(bool? Done);
public sealed record PostmortemRequest(string? Summary, string? Impact, string? RootCause, string? LessonsLearned);
public sealed record ActionItemRequest(string? Title, string? Owner, DateTimeOffset? DueAt, string? Status);
