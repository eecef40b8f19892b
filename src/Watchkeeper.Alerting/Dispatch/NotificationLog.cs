using Watchkeeper.Alerting.Notify;

namespace Watchkeeper.Alerting.Dispatch;

/// <summary>
/// What was last notified for one group to one integration of a receiver (Alertmanager's nflog entry): the
/// fingerprints of the firing and resolved alerts it carried and when.
/// </summary>
public sealed record NflogEntry(
    string Receiver,
    string Integration,
    string GroupKey,
    IReadOnlySet<ulong> FiringAlerts,
    IReadOnlySet<ulong> ResolvedAlerts,
    DateTimeOffset Timestamp,
    DateTimeOffset ExpiresAt)
{
    public string Key => Receiver + "\n" + Integration + "\n" + GroupKey;

    /// <summary>Alertmanager's DedupStage <c>needsUpdate</c>.</summary>
    public static bool NeedsUpdate(NflogEntry? entry, IReadOnlySet<ulong> firing, IReadOnlySet<ulong> resolved, bool sendResolved, TimeSpan repeat, DateTimeOffset now)
    {
        if (entry is null) return firing.Count > 0;
        if (!firing.IsSubsetOf(entry.FiringAlerts)) return true;
        if (firing.Count == 0) return entry.FiringAlerts.Count > 0;
        if (sendResolved && !resolved.IsSubsetOf(entry.ResolvedAlerts)) return true;
        return entry.Timestamp <= now - repeat;
    }
}

/// <summary>
/// The persisted notification log. <see cref="CommitAsync"/> writes the entry and enqueues the notification (when
/// there is one to send) in ONE transaction, so a crash either records and queues it or does neither.
/// </summary>
public interface INotificationLog
{
    Task<IReadOnlyList<NflogEntry>> LoadAsync(CancellationToken ct);
    Task CommitAsync(NflogEntry entry, OutboxItem? item, CancellationToken ct);
    Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken ct);
}
