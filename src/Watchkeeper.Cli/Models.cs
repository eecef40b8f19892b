namespace Watchkeeper.Cli;

// The server's JSON shapes (snake_case on the wire), as far as the tables need them.
// JSON output never goes through these: it prints what the server sent.

public sealed record ImpactDto(string UsersAffected, List<string> ServicesAffected, string BusinessImpact);
public sealed record RolesDto(string? Commander, string? CommunicationsLead, string? Scribe);
public sealed record SlaDto(string Kind, DateTimeOffset DueAt, DateTimeOffset? MetAt, bool Breached, double? ElapsedSeconds, double TargetSeconds, double RemainingSeconds);

public sealed record IncidentDto(
    long Id, string Title, string Kind, string Severity, string Status, string Summary, ImpactDto Impact,
    string DetectionSource, RolesDto Roles,
    DateTimeOffset DetectedAt, DateTimeOffset? AcknowledgedAt, DateTimeOffset? MitigatedAt, DateTimeOffset? ResolvedAt,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset UpdatedAt,
    SlaDto ResponseSla, SlaDto ResolutionSla,
    DateTimeOffset? NextUpdateDueAt, bool StatusUpdateOverdue, List<string> AllowedTransitions, long Version);

public sealed record IncidentPageDto(List<IncidentDto> Items, long Total, long? NextCursor);
public sealed record TimelineDto(long Id, DateTimeOffset At, string Author, string Kind, string Message);
public sealed record StatusUpdateDto(long Id, DateTimeOffset At, string Author, string Visibility, string Status, string CurrentStatus, DateTimeOffset? NextUpdateAt, string Body);
public sealed record ChecklistItemDto(long Id, string Text, bool Done, DateTimeOffset? DoneAt, string? DoneBy, bool Overdue);
public sealed record ChecklistPhaseDto(string Key, string Title, DateTimeOffset StartsAt, DateTimeOffset DueAt, bool Overdue, int Done, int Total, List<ChecklistItemDto> Items);
public sealed record ChecklistDto(string Checklist, List<ChecklistPhaseDto> Phases, int Done, int Total, int Overdue);
public sealed record ActionItemDto(long Id, long IncidentId, string Title, string Owner, DateTimeOffset? DueAt, string Status, bool Overdue, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);
public sealed record PostmortemDto(long IncidentId, string Title, string Severity, string Summary, string Impact, string RootCause, string LessonsLearned,
    DateTimeOffset? UpdatedAt, string? UpdatedBy, List<TimelineDto> Timeline, List<ActionItemDto> ActionItems, string Markdown);

public sealed record SeverityReportDto(
    string Severity, long Incidents, long Resolved, long Open, double? MttaSeconds, double? MttrSeconds,
    double ResponseTargetSeconds, double ResolutionTargetSeconds, long ResponseBreaches, long ResolutionBreaches,
    double? ResponseMetPercent, double? ResolutionMetPercent);
public sealed record TrendPointDto(DateTimeOffset Start, long Incidents, Dictionary<string, long> BySeverity);
public sealed record IncidentReportDto(DateTimeOffset From, DateTimeOffset To, string Bucket, long Total, List<SeverityReportDto> BySeverity,
    List<TrendPointDto> Trend, double? PreviousPeriodTotal);

public sealed record AuditVerificationDto(bool Ok, long Records, long LastSeq, int Checkpoints, long LastCheckpointSeq, string? HeadHash, List<string> Problems);
public sealed record AuditRecordDto(long Seq, long Ts, string Actor, string Action, string EntityType, string EntityId);

public sealed record UserDto(long Id, string Username, string Role, DateTimeOffset CreatedAt, bool Disabled);
public sealed record TokenDto(long Id, string Name, string Prefix, string Username, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt = null);
public sealed record NewTokenDto(long Id, string Name, string Token, string Username, string Role, DateTimeOffset? ExpiresAt = null);
public sealed record WhoAmIDto(string Username, string? Role);
