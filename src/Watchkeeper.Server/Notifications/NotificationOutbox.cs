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
/// dispatcher's notification-log entry and the notification commit together. The sender is woken after the commit.
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
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO notification_outbox (receiver, integration, group_key, dedup_key, action, status, alerts_firing, alerts_resolved, data_json,
                                             created_at, next_attempt_at, attempts)
            VALUES (@Receiver, @Integration, @GroupKey, @dedup, @Action, 'pending', @firing, @resolved, @data, @at, @at, 0)
            RETURNING id
            """, new
        {
            item.Receiver, item.Integration, item.GroupKey, dedup = item.DedupKey ?? DedupKeyFor(item.GroupKey), item.Action,
            firing = item.Data.Alerts.Count(a => a.Status == "firing"), resolved = item.Data.Alerts.Count(a => a.Status != "firing"), data, at,
        }, transaction, cancellationToken: ct));
        db.OnCommit(transaction, signal.Wake);
        return id;
    }

    /// <summary>The dedup key derived from a group key (as Alertmanager's PagerDuty integration: hex SHA-256).</summary>
    public static string DedupKeyFor(string groupKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(groupKey)));
}

/// <summary>Wakes the sender when a notification is committed, so it does not wait for the next poll.</summary>
public sealed class NotificationSignal : IDisposable
{
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
