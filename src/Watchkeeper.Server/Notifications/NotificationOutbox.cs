using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Notifications;

/// <summary>Status of an outbox row.</summary>
public static class OutboxStatus
{
    /// <summary>Committed, not yet delivered: due at next_attempt_at (a retry is pending too).</summary>
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    /// <summary>Given up: a refusal that retrying cannot fix, or not delivered within notifications.give_up_after.</summary>
    public const string Failed = "failed";
    /// <summary>Not sent on purpose: the integration is unconfigured, or the notification only resolves and send_resolved is false.</summary>
    public const string Skipped = "skipped";

    public static readonly string[] All = [Pending, Delivered, Failed, Skipped];
}

/// <summary>
/// The outbox's enqueue side (<see cref="INotificationOutbox"/>): a row inserted in the caller's transaction, so the
/// dispatcher's notification-log entry and the notification commit together. After the commit the notification is
/// handed to this process's sender directly when it may send now (it runs and leads) and no older notification of the
/// same group to the same integration is pending: the row is inserted already leased to that sender, which sends it
/// from memory without a claim or a JSON round trip. Otherwise the sender is woken to claim it as usual.
/// </summary>
public sealed class NotificationOutbox(Db db, NotificationSignal signal) : INotificationOutbox
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Limits on what one notification may carry (the dispatcher's groups are bounded too).</summary>
    public const int MaxAlerts = 10_000, MaxDataBytes = 16 << 20;

    public async Task<long> EnqueueAsync(DbConnection connection, DbTransaction transaction, OutboxItem item, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(item.Receiver)) throw new ArgumentException("receiver is required", nameof(item));
        if (string.IsNullOrWhiteSpace(item.Integration)) throw new ArgumentException("integration is required", nameof(item));
        if (item.Data.Alerts.Count > MaxAlerts) throw new ArgumentException($"a notification carries at most {MaxAlerts} alerts", nameof(item));
        var data = JsonSerializer.Serialize(item.Data, Json);
        if (data.Length > MaxDataBytes) throw new ArgumentException($"a notification's data is limited to {MaxDataBytes} bytes", nameof(item));
        var at = item.CreatedAt.ToUnixTimeMilliseconds();
        var handOff = signal.HandOff;
        string? owner = null;
        long? until = null;
        if (handOff?.MaySendNow(out var leaseUntil) == true)
        {
            // Notifications of one group to one integration go out in order: behind an older pending one this waits its turn.
            var older = await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
                SELECT id FROM notification_outbox
                WHERE group_key = @GroupKey AND receiver = @Receiver AND integration = @Integration AND status = 'pending' LIMIT 1
                """, new { item.GroupKey, item.Receiver, item.Integration }, transaction, cancellationToken: ct));
            if (older is null)
            {
                owner = handOff.Owner;
                until = leaseUntil;
            }
        }
        var dedup = item.DedupKey ?? DedupKeyFor(item.GroupKey);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO notification_outbox (receiver, integration, group_key, dedup_key, action, status, alerts_firing, alerts_resolved, data_json,
                                             created_at, next_attempt_at, attempts, lease_owner, lease_until)
            VALUES (@Receiver, @Integration, @GroupKey, @dedup, @Action, 'pending', @firing, @resolved, @data, @at, @at, 0, @owner, @until)
            RETURNING id
            """, new
        {
            item.Receiver, item.Integration, item.GroupKey, dedup, item.Action,
            firing = item.Data.Alerts.Count(a => a.Status == "firing"), resolved = item.Data.Alerts.Count(a => a.Status != "firing"), data, at, owner, until,
        }, transaction, cancellationToken: ct));
        if (owner is not null)
        {
            var row = new ClaimedRow
            {
                Id = id, Receiver = item.Receiver, Integration = item.Integration, GroupKey = item.GroupKey, DedupKey = dedup, Action = item.Action,
                DataJson = data, CreatedAt = at, Data = item.Data,
            };
            db.OnCommit(transaction, () => handOff!.Deliver(row));
        }
        else db.OnCommit(transaction, signal.Wake);
        return id;
    }

    /// <summary>The dedup key derived from a group key (as Alertmanager's PagerDuty integration: hex SHA-256).</summary>
    public static string DedupKeyFor(string groupKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(groupKey)));
}

/// <summary>This process's sender as the outbox hands committed notifications to it (<see cref="NotificationSender"/>).</summary>
internal interface INotificationHandOff
{
    /// <summary>The lease owner a handed-off row is inserted with.</summary>
    string Owner { get; }

    /// <summary>True when the sender runs and may send now (it leads); <paramref name="leaseUntil"/> is the lease to insert.</summary>
    bool MaySendNow(out long leaseUntil);

    /// <summary>Sends a committed row leased to <see cref="Owner"/>, off the caller's thread.</summary>
    void Deliver(ClaimedRow row);
}

/// <summary>
/// Wakes the sender when a notification is committed, so it does not wait for the next poll, and carries the sender's
/// direct hand-off while it runs.
/// </summary>
public sealed class NotificationSignal : IDisposable
{
    internal INotificationHandOff? HandOff { get; set; }

    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public void Dispose() => _wake.Dispose();

    /// <summary>Waits for a wake-up or <paramref name="timeout"/> on <paramref name="time"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(timeout, time, cts.Token);
        var wake = _wake.WaitAsync(cts.Token);
        await Task.WhenAny(delay, wake);
        await cts.CancelAsync();
        ct.ThrowIfCancellationRequested();
    }
}
