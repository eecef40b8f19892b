using System.Data.Common;

namespace Watchkeeper.Alerting.Notify;

// The contract between the dispatcher (Alertmanager core: routing, grouping, inhibition, silences, the notification
// log) and the notification pipeline (the outbox, its sender, the receivers' integrations). The dispatcher decides
// that a group must be notified and commits that decision, with its notification-log entry, in one transaction; the
// sender delivers what was committed, with retries, and records every attempt.

/// <summary>One alert as notification templates see it (Alertmanager's <c>template.Alert</c>).</summary>
public sealed record TemplateAlert(
    string Status,                                  // "firing" or "resolved"
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,                         // null while firing with no end known
    string GeneratorUrl,
    string Fingerprint);                            // 16 lower-case hex digits, as Alertmanager prints it

/// <summary>What a notification is about (Alertmanager's <c>template.Data</c>): the root of every notification template.</summary>
public sealed record TemplateData(
    string Receiver,
    string Status,                                  // "firing" if any alert fires, else "resolved"
    IReadOnlyList<TemplateAlert> Alerts,
    IReadOnlyDictionary<string, string> GroupLabels,
    IReadOnlyDictionary<string, string> CommonLabels,
    IReadOnlyDictionary<string, string> CommonAnnotations,
    string ExternalUrl,
    string GroupKey,
    int TruncatedAlerts = 0);

/// <summary>
/// A notification committed for delivery. <see cref="Receiver"/> names a receiver of the routing configuration
/// (<c>receivers[].name</c>) or, for escalations, a person (<c>user:NAME</c>); <see cref="Integration"/> names one
/// integration of it as the configuration does (<c>slack_configs[0]</c>, <c>email_configs[1]</c>,
/// <c>pagerduty_configs[0]</c>, <c>webhook_configs[0]</c>, <c>msteamsv2_configs[0]</c>, or for a person the contact
/// method: <c>email</c>, <c>slack</c>, ...). The sender resolves the integration's settings from the running
/// configuration when it sends, so no secret is stored in the outbox.
/// </summary>
public sealed record OutboxItem(
    string Receiver,
    string Integration,
    string GroupKey,
    TemplateData Data,
    DateTimeOffset CreatedAt,
    string? DedupKey = null,                        // stable per group and receiver (PagerDuty's dedup_key); null = derive from GroupKey
    string? Action = null);                         // added by notify: "acknowledge" asks PagerDuty to acknowledge; null = trigger/resolve by status

/// <summary>
/// The notification outbox. <see cref="EnqueueAsync"/> runs inside the caller's transaction, so a notification and
/// the notification-log entry that records it commit together or not at all; nothing is sent before the commit.
/// Implemented by the server (Server/Notifications), which owns the tables and the sender.
/// </summary>
public interface INotificationOutbox
{
    Task<long> EnqueueAsync(DbConnection connection, DbTransaction transaction, OutboxItem item, CancellationToken ct);
}
