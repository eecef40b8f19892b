using System.Data.Common;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Notifications;

/// <summary>A row the sender claimed.</summary>
internal sealed class ClaimedRow
{
    public long Id { get; set; }
    public string Receiver { get; set; } = "";
    public string Integration { get; set; } = "";
    public string GroupKey { get; set; } = "";
    public string DedupKey { get; set; } = "";
    public string? Action { get; set; }
    public string DataJson { get; set; } = "";
    public int Attempts { get; set; }
    public long CreatedAt { get; set; }
    /// <summary>The notification itself, when the outbox handed the row over in memory (no column: null when claimed).</summary>
    public TemplateData? Data { get; set; }
}

/// <summary>One try as recorded in notification_attempts.</summary>
public sealed record AttemptRecord(DateTimeOffset StartedAt, TimeSpan Latency, string Outcome, int? StatusCode, string? Error);

/// <summary>
/// Delivers the outbox. Each pass claims due rows (per group and integration only the oldest pending one, so they arrive in order) with a lease (an UPDATE that sets lease_owner and lease_until only
/// where no live lease exists, so two senders, in this process or on two replicas, never both claim a row), sends
/// each through its integration, and records every try and the row's new state in one transaction. A failed try is
/// retried with exponential backoff and jitter (at least the receiver's Retry-After) until
/// <c>notifications.give_up_after</c>; a refusal that retrying cannot fix fails at once.
/// <para>
/// Delivery is at least once: if the process dies after a receiver accepted a notification and before the result
/// was recorded, the lease runs out and the notification is sent again. PagerDuty folds that repeat into the same
/// incident by its dedup_key; Slack, Teams, email and webhooks show it twice (webhook receivers can dedup on
/// groupKey plus the alerts' fingerprints and status). See docs/notifications.md.
/// </para>
/// </summary>
public sealed class NotificationSender(Db db, TimeProvider time, IReceiverSource receivers, INotificationTemplatesSource templates, NotifierSet notifiers,
    IOptionsMonitor<NotificationsConfig> options, NotificationSignal signal, ILeadership leadership, ILogger<NotificationSender> logger)
    : BackgroundService, INotificationHandOff
{
    private readonly SemaphoreSlim _handOffSlots = new(options.CurrentValue.Concurrency, options.CurrentValue.Concurrency);
    private CancellationToken _stopping = CancellationToken.None;
    private volatile bool _running;

    string INotificationHandOff.Owner => Id;

    bool INotificationHandOff.MaySendNow(out long leaseUntil)
    {
        leaseUntil = time.GetUtcNow().ToUnixTimeMilliseconds() + (long)options.CurrentValue.Lease.Value.TotalMilliseconds;
        return _running && !_stopping.IsCancellationRequested && (MayRun?.Invoke() ?? leadership.IsLeader);
    }

    void INotificationHandOff.Deliver(ClaimedRow row) => _ = Task.Run(async () =>
    {
        try
        {
            await _handOffSlots.WaitAsync(_stopping);
            try
            {
                await DeliverAsync(row, options.CurrentValue, _stopping);
            }
            finally
            {
                _handOffSlots.Release();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping before it was sent: the lease runs out (or the next start releases it) and a claim sends it.
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Notification {Id}: direct delivery failed; it is claimed again when its lease runs out", row.Id);
        }
    }, CancellationToken.None);

    /// <summary>This sender's lease owner name: host, process and a random part (a restarted process is a new owner).</summary>
    public string Id { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// Gate of the background loop: by default it claims only on the replica holding the lease (<see cref="ILeadership"/>);
    /// the claim alone already keeps two senders from sending one row. Tests set it to drive each pass themselves.
    /// </summary>
    public Func<bool>? MayRun { get; set; }

    public override void Dispose()
    {
        _handOffSlots.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        try
        {
            await ReleaseStaleLocalLeasesAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not release the leases of a previous run; those notifications are sent when their leases run out");
        }
        _running = true;
        signal.HandOff = this;
        try
        {
            await LoopAsync(stoppingToken);
        }
        finally
        {
            _running = false;
            signal.HandOff = null;
        }
    }

    /// <summary>
    /// On SQLite (one server process per database), leases held by anyone else are left from a process that ended
    /// before it recorded the send: they are released so those notifications go out now instead of when the lease runs
    /// out. On PostgreSQL another replica may hold them: they run out as usual.
    /// </summary>
    internal Task<int> ReleaseStaleLocalLeasesAsync(CancellationToken ct) => db.Provider != DbProvider.Sqlite
        ? Task.FromResult(0)
        : db.WriteAsync((c, tx) => c.ExecuteAsync(new CommandDefinition("""
            UPDATE notification_outbox SET lease_owner = NULL, lease_until = NULL
            WHERE status = 'pending' AND lease_owner IS NOT NULL AND lease_owner <> @owner
            """, new { owner = Id }, tx, cancellationToken: ct)), ct);

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Keep going while a full batch was claimed: there may be more due.
                while ((MayRun?.Invoke() ?? leadership.IsLeader) && await RunOnceAsync(stoppingToken) >= options.CurrentValue.Batch)
                {
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Notification sender pass failed");
            }
            try
            {
                await signal.WaitAsync(options.CurrentValue.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass: claims the due notifications, sends them, records the results. Returns how many were claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        var o = options.CurrentValue;
        var rows = await ClaimAsync(o, ct);
        if (rows.Count == 0) return 0;
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = o.Concurrency, CancellationToken = ct },
            async (row, c) => await DeliverAsync(row, o, c));
        return rows.Count;
    }

    private async Task<List<ClaimedRow>> ClaimAsync(NotificationsConfig o, CancellationToken ct)
    {
        var rows = await db.WriteAsync((c, tx) => ClaimInAsync(c, tx, o, ct), ct);
        rows.Sort((a, b) => a.Id.CompareTo(b.Id));
        return rows;
    }

    /// <summary>The claim in the caller's transaction (<see cref="AlertPathWarmup"/> runs it in one that is rolled back).</summary>
    internal async Task<List<ClaimedRow>> ClaimInAsync(DbConnection c, DbTransaction tx, NotificationsConfig o, CancellationToken ct, long? at = null)
    {
        var now = at ?? time.GetUtcNow().ToUnixTimeMilliseconds();
        var until = now + (long)o.Lease.Value.TotalMilliseconds;
        // Notifications of one group to one integration go out in order (a PagerDuty trigger before its resolve): only
        // the oldest pending one of each is due. The outer condition repeats the inner one: on PostgreSQL a concurrent claimer's UPDATE re-checks it on the
        // row's latest version after waiting for the first claimer's lock, and SKIP LOCKED spares that wait.
        var skipLocked = db.Provider == DbProvider.Postgres ? " FOR UPDATE SKIP LOCKED" : "";
        var sql = $"""
            UPDATE notification_outbox SET lease_owner = @owner, lease_until = @until
            WHERE id IN (SELECT o.id FROM notification_outbox o
                         WHERE o.status = 'pending' AND o.next_attempt_at <= @now AND (o.lease_until IS NULL OR o.lease_until <= @now)
                           AND NOT EXISTS (SELECT 1 FROM notification_outbox p
                                           WHERE p.group_key = o.group_key AND p.receiver = o.receiver AND p.integration = o.integration
                                             AND p.status = 'pending' AND p.id < o.id)
                         ORDER BY o.next_attempt_at, o.id LIMIT @batch{skipLocked})
              AND status = 'pending' AND (lease_until IS NULL OR lease_until <= @now)
            RETURNING id, receiver, integration, group_key, dedup_key, action, data_json, attempts, created_at
            """;
        return (await c.QueryAsync<ClaimedRow>(new CommandDefinition(sql, new { owner = Id, until, now, batch = o.Batch }, tx, cancellationToken: ct))).AsList();
    }

    private async Task DeliverAsync(ClaimedRow row, NotificationsConfig o, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        var t0 = time.GetTimestamp();
        var tries = new List<AttemptRecord>();
        NotifyOutcome outcome;
        string status;
        var receiver = receivers.Receivers.FirstOrDefault(r => r.Name == row.Receiver);
        var integration = receiver?.Integration(row.Integration);
        if (receiver is null || integration is null)
        {
            outcome = NotifyOutcome.Failed(null, receiver is null
                ? $"receiver '{row.Receiver}' is not in the running configuration"
                : $"receiver '{row.Receiver}' has no {row.Integration}", retryable: false);
            status = OutboxStatus.Failed;
        }
        else if (Integrations.Unconfigured(integration) is { } why)
        {
            outcome = NotifyOutcome.Failed(null, "unconfigured: " + why, retryable: false);
            status = OutboxStatus.Skipped;
        }
        else
        {
            var data = row.Data ?? JsonSerializer.Deserialize<TemplateData>(row.DataJson, NotificationOutbox.Json)!;
            if (!integration.SendResolved && row.Action is null)
            {
                // As Alertmanager: without send_resolved the resolved alerts are left out, and a notification that
                // only resolves is not sent.
                var firing = data.Alerts.Where(a => a.Status == "firing").ToList();
                data = data with { Alerts = firing };
            }
            if (data.Alerts.Count == 0 && row.Action is null)
            {
                outcome = NotifyOutcome.Failed(null, "only resolved alerts and send_resolved is false", retryable: false);
                status = OutboxStatus.Skipped;
            }
            else
            {
                outcome = await SendAsync(row, data, integration, tries, ct);
                status = outcome.Delivered ? OutboxStatus.Delivered : OutboxStatus.Pending;
            }
        }
        var latency = time.GetElapsedTime(t0) - tries.Aggregate(TimeSpan.Zero, (s, x) => s + x.Latency);
        var finishedAt = time.GetUtcNow();
        var finalOutcome = status switch
        {
            OutboxStatus.Delivered => "delivered",
            OutboxStatus.Skipped => "skipped",
            _ => outcome.Retryable ? "retry" : "failed",
        };
        long next = finishedAt.ToUnixTimeMilliseconds();
        string? giveUp = null;
        if (status == OutboxStatus.Pending)
        {
            if (!outcome.Retryable)
            {
                status = OutboxStatus.Failed;
            }
            else
            {
                var n = row.Attempts + tries.Count + 1;
                var wait = Backoff(n, o, outcome.RetryAfter);
                next = (finishedAt + wait).ToUnixTimeMilliseconds();
                if (next > row.CreatedAt + (long)o.GiveUpAfter.Value.TotalMilliseconds)
                {
                    status = OutboxStatus.Failed;
                    finalOutcome = "failed";
                    giveUp = $"gave up after {n} tries over {Duration.Format(TimeSpan.FromMilliseconds(finishedAt.ToUnixTimeMilliseconds() - row.CreatedAt))} (notifications.give_up_after {o.GiveUpAfter})";
                }
            }
        }
        tries.Add(new AttemptRecord(started + tries.Aggregate(TimeSpan.Zero, (s, x) => s + x.Latency), latency < TimeSpan.Zero ? TimeSpan.Zero : latency,
            finalOutcome, outcome.StatusCode, giveUp is null ? outcome.Error : outcome.Error + "; " + giveUp));
        await RecordAsync(row, tries, status, next, outcome, giveUp, finishedAt, ct);
        if (status == OutboxStatus.Failed)
            logger.LogWarning("Notification {Id} to {Receiver}/{Integration} failed: {Error}", row.Id, row.Receiver, row.Integration, tries[^1].Error);
    }

    private async Task<NotifyOutcome> SendAsync(ClaimedRow row, TemplateData data, IntegrationConfig integration, List<AttemptRecord> tries, CancellationToken ct)
    {
        using var scope = HttpTries.Begin(tries, time);
        try
        {
            var notifier = notifiers.For(integration);
            var request = new NotifyRequest(data, integration, templates.Current, row.DedupKey, row.Action);
            return await notifier.SendAsync(request, ct);
        }
        catch (NotifyConfigException ex)
        {
            return NotifyOutcome.Failed(null, ex.Message, retryable: false);
        }
        catch (NotificationTemplateException ex)
        {
            return NotifyOutcome.Failed(null, "template: " + ex.Message, retryable: false);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or TimeoutException
                                       or Polly.Timeout.TimeoutRejectedException or IOException or InvalidOperationException or UriFormatException)
        {
            return HttpOutcome.FromException(ex) with { Retryable = ex is not (InvalidOperationException or UriFormatException) };
        }
    }

    /// <summary>The wait before try <paramref name="n"/>+1: initial × 2^(n-1) capped at retry_max, half of it random ("equal jitter"), at least Retry-After.</summary>
    public static TimeSpan Backoff(int n, NotificationsConfig o, TimeSpan? retryAfter, Random? random = null)
    {
        var exp = Math.Min(o.RetryMax.Value.TotalMilliseconds, o.RetryInitial.Value.TotalMilliseconds * Math.Pow(2, Math.Min(n - 1, 30)));
        var jittered = exp / 2 + (random ?? Random.Shared).NextDouble() * exp / 2;
        var wait = TimeSpan.FromMilliseconds(jittered);
        return retryAfter is { } ra && ra > wait ? ra : wait;
    }

    private async Task RecordAsync(ClaimedRow row, List<AttemptRecord> tries, string status, long next, NotifyOutcome outcome, string? giveUp,
        DateTimeOffset finishedAt, CancellationToken ct)
    {
        // Recorded even when the caller is stopping: the send happened, and recording it keeps it from being repeated.
        var lost = await db.WriteAsync((c, tx) => RecordInAsync(c, tx, row, tries, status, next, outcome, giveUp, finishedAt), CancellationToken.None);
        if (lost) logger.LogWarning("Notification {Id}: the lease ran out while sending; another sender may have sent it too", row.Id);
    }

    /// <summary>The record in the caller's transaction; true when the row's lease was lost meanwhile.</summary>
    internal async Task<bool> RecordInAsync(DbConnection c, DbTransaction tx, ClaimedRow row, List<AttemptRecord> tries, string status, long next,
        NotifyOutcome outcome, string? giveUp, DateTimeOffset finishedAt)
    {
        var n = row.Attempts;
        foreach (var a in tries)
        {
            n++;
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO notification_attempts (outbox_id, attempt, started_at, latency_ms, outcome, status_code, error, sender)
                VALUES (@id, @n, @at, @ms, @Outcome, @StatusCode, @err, @sender)
                """, new
            {
                id = row.Id, n, at = a.StartedAt.ToUnixTimeMilliseconds(), ms = (long)Math.Round(a.Latency.TotalMilliseconds), a.Outcome, a.StatusCode,
                err = a.Error is { Length: > 2000 } e ? e[..2000] : a.Error, sender = Id,
            }, tx, cancellationToken: CancellationToken.None));
        }
        var error = giveUp is null ? outcome.Error : outcome.Error + "; " + giveUp;
        return await c.ExecuteAsync(new CommandDefinition("""
            UPDATE notification_outbox SET status = @status, attempts = @n, next_attempt_at = @next, lease_owner = NULL, lease_until = NULL,
                   last_status_code = @code, last_error = @error, finished_at = @finished
            WHERE id = @id AND lease_owner = @owner
            """, new
        {
            status, n, next, code = outcome.StatusCode, error = error is { Length: > 2000 } x ? x[..2000] : error,
            finished = status == OutboxStatus.Pending ? (long?)null : finishedAt.ToUnixTimeMilliseconds(), id = row.Id, owner = Id,
        }, tx, cancellationToken: CancellationToken.None)) == 0;
    }
}

/// <summary>
/// Collects the quick HTTP retries that the resilience pipeline makes inside one try (flowing with the async
/// context), so each is recorded as an attempt with its status code and latency.
/// </summary>
public static class HttpTries
{
    private static readonly AsyncLocal<(List<AttemptRecord> Tries, TimeProvider Time)?> Current = new();

    public static IDisposable Begin(List<AttemptRecord> tries, TimeProvider time)
    {
        Current.Value = (tries, time);
        return new End();
    }

    /// <summary>Called by the pipeline's OnRetry: the try that just failed, and how long it took.</summary>
    public static void Failed(int? status, string error, TimeSpan duration, TimeSpan retryDelay)
    {
        if (Current.Value is not { } c) return;
        var at = c.Time.GetUtcNow() - duration;
        c.Tries.Add(new AttemptRecord(at, duration, "retry", status, $"{error} (retrying in {Duration.Format(retryDelay)})"));
    }

    private sealed class End : IDisposable
    {
        public void Dispose() => Current.Value = null;
    }
}
