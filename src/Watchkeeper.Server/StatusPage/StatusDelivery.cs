using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Options;
using MimeKit;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Notify.Email;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Notifications;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.StatusPage;

/// <summary>Wakes the delivery worker after a commit that queued something.</summary>
public sealed class StatusDeliverySignal : IDisposable
{
    public NotificationSignal Inner { get; } = new();
    public void Wake() => Inner.Wake();
    public void Dispose() => Inner.Dispose();
}

/// <summary>
/// Delivers the subscriber queue (<c>status_deliveries</c>, persisted: nothing is lost across a restart). Each pass:
/// (1) fans every new public status update out to the confirmed subscribers, in the same transaction that advances
/// the cursor (so an update is queued exactly once per subscriber); (2) claims due deliveries with a lease, as the
/// notification outbox does, and sends them (mail over the SMTP settings of alertmanager's global section, webhooks
/// as signed JSON); (3) retries failures with the notification outbox's backoff until <c>notifications.give_up_after</c>;
/// (4) removes pending subscribers whose confirmation expired and finished deliveries older than 30 days.
/// Runs on the replica holding the leader lease.
/// </summary>
public sealed class StatusDeliveryWorker(Db db, ConfigHolder config, TimeProvider time, StatusSubscribers subscribers, StatusDeliverySignal signal,
    IHttpClientFactory http, IOptionsMonitor<NotificationsConfig> notifications, ILeadership leadership, ILogger<StatusDeliveryWorker> logger) : BackgroundService
{
    public const string HttpClientName = "status-webhooks";
    public const string SignatureHeader = "Watchkeeper-Signature";
    private const int Batch = 50;

    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Gate of the background loop (default: the leader lease). Tests set it to drive passes themselves.</summary>
    public Func<bool>? MayRun { get; set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (MayRun?.Invoke() ?? leadership.IsLeader) await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Status page delivery pass failed");
            }
            try
            {
                await signal.Inner.WaitAsync(notifications.CurrentValue.PollInterval.Value, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One pass: fan-out, sending, clean-up. Returns how many deliveries were attempted.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        await FanOutAsync(ct);
        await CleanUpAsync(ct);
        var total = 0;
        for (var round = 0; round < 20; round++)
        {
            var rows = await ClaimAsync(ct);
            if (rows.Count == 0) break;
            foreach (var r in rows) await DeliverAsync(r, ct);
            total += rows.Count;
            if (rows.Count < Batch) break;
        }
        return total;
    }

    private sealed class UpdateRow
    {
        public long Id { get; set; }
        public long IncidentId { get; set; }
        public long Ts { get; set; }
        public string Status { get; set; } = "";
        public string CurrentStatus { get; set; } = "";
        public string Title { get; set; } = "";
        public string Severity { get; set; } = "";
    }

    /// <summary>Queues each public status update newer than the cursor for every confirmed subscriber, and advances the cursor, in one transaction.</summary>
    public Task FanOutAsync(CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        var cursor = await c.ExecuteScalarAsync<string?>(new CommandDefinition("SELECT value FROM status_page_state WHERE name = 'fanout_cursor'", transaction: tx, cancellationToken: ct));
        if (cursor is null)
        {
            // First start: updates published before subscriptions existed are not sent to anyone.
            var max = await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COALESCE(MAX(id), 0) FROM status_updates", transaction: tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("INSERT INTO status_page_state (name, value) VALUES ('fanout_cursor', @v)", new { v = Id(max) }, tx, cancellationToken: ct));
            return;
        }
        var after = long.Parse(cursor, CultureInfo.InvariantCulture);
        var updates = (await c.QueryAsync<UpdateRow>(new CommandDefinition("""
            SELECT u.id, u.incident_id, u.ts, u.status, u.current_status, i.title, i.severity
            FROM status_updates u JOIN incidents i ON i.id = u.incident_id
            WHERE u.id > @after AND u.visibility = 'public' ORDER BY u.id LIMIT 100
            """, new { after }, tx, cancellationToken: ct))).AsList();
        if (updates.Count == 0) return;
        var s = config.Current.StatusPage;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var u in updates)
        {
            var level = s.IncidentLevels.GetValueOrDefault(u.Severity) ?? StatusLevel.DegradedPerformance;
            var payload = StatusSubscribers.Json(new
            {
                incident = new { id = Id(u.IncidentId), name = u.Title, status = u.Status, impact = StatusLevel.Impact(level) },
                update = new { id = Id(u.Id), status = u.Status, body = u.CurrentStatus, created_at = DateTimeOffset.FromUnixTimeMilliseconds(u.Ts) },
            });
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO status_deliveries (subscriber_id, kind, event_key, payload_json, status, attempts, next_attempt_at, created_at)
                SELECT id, 'update', @key, @payload, 'pending', 0, @now, @now FROM status_subscribers WHERE state = 'active'
                ON CONFLICT (subscriber_id, event_key) DO NOTHING
                """, new { key = "update:" + Id(u.Id), payload, now }, tx, cancellationToken: ct));
        }
        await c.ExecuteAsync(new CommandDefinition("UPDATE status_page_state SET value = @v WHERE name = 'fanout_cursor'", new { v = Id(updates[^1].Id) }, tx, cancellationToken: ct));
    }, ct);

    private Task CleanUpAsync(CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        var now = time.GetUtcNow();
        var expired = (now - config.Current.StatusPage.Subscribers.ConfirmWithin.Value).ToUnixTimeMilliseconds();
        await c.ExecuteAsync(new CommandDefinition("DELETE FROM status_deliveries WHERE subscriber_id IN (SELECT id FROM status_subscribers WHERE state = 'pending' AND created_at < @expired)",
            new { expired }, tx, cancellationToken: ct));
        await c.ExecuteAsync(new CommandDefinition("DELETE FROM status_subscribers WHERE state = 'pending' AND created_at < @expired", new { expired }, tx, cancellationToken: ct));
        await c.ExecuteAsync(new CommandDefinition("DELETE FROM status_deliveries WHERE status <> 'pending' AND finished_at < @old",
            new { old = (now - TimeSpan.FromDays(30)).ToUnixTimeMilliseconds() }, tx, cancellationToken: ct));
    }, ct);

    internal sealed class Claimed
    {
        public long Id { get; set; }
        public long SubscriberId { get; set; }
        public string Kind { get; set; } = "";
        public string PayloadJson { get; set; } = "";
        public int Attempts { get; set; }
        public long CreatedAt { get; set; }
        public string SubscriberKind { get; set; } = "";
        public string Target { get; set; } = "";
        public string State { get; set; } = "";
        public string Nonce { get; set; } = "";
        public string? Secret { get; set; }
    }

    private async Task<List<Claimed>> ClaimAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var until = now + (long)notifications.CurrentValue.Lease.Value.TotalMilliseconds;
        var skipLocked = db.Provider == DbProvider.Postgres ? " FOR UPDATE SKIP LOCKED" : "";
        var ids = await db.WriteAsync(async (c, tx) => (await c.QueryAsync<long>(new CommandDefinition($"""
            UPDATE status_deliveries SET lease_owner = @owner, lease_until = @until
            WHERE id IN (SELECT d.id FROM status_deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= @now
                           AND (d.lease_until IS NULL OR d.lease_until <= @now) ORDER BY d.next_attempt_at, d.id LIMIT {Batch}{skipLocked})
              AND status = 'pending' AND (lease_until IS NULL OR lease_until <= @now)
            RETURNING id
            """, new { owner = Owner, until, now }, tx, cancellationToken: ct))).AsList(), ct);
        if (ids.Count == 0) return [];
        var rows = await db.ReadAsync(async c => (await c.QueryAsync<Claimed>(new CommandDefinition($"""
            SELECT d.id, d.subscriber_id, d.kind, d.payload_json, d.attempts, d.created_at, s.kind AS subscriber_kind, s.target, s.state, s.nonce, s.secret
            FROM status_deliveries d JOIN status_subscribers s ON s.id = d.subscriber_id WHERE d.id IN ({string.Join(',', ids)}) ORDER BY d.id
            """, cancellationToken: ct))).AsList(), ct);
        return rows;
    }

    private async Task DeliverAsync(Claimed row, CancellationToken ct)
    {
        NotifyOutcome outcome;
        var activate = false;
        var gone = false;
        try
        {
            if (row.SubscriberKind == SubscriberKind.Email)
            {
                outcome = await SendMailAsync(row, ct);
            }
            else
            {
                (outcome, activate, gone) = await SendWebhookAsync(row, ct);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or TimeoutException or IOException && !ct.IsCancellationRequested)
        {
            outcome = NotifyOutcome.Failed(null, ex.GetType().Name + ": " + ex.Message, retryable: true);
        }
        if (gone)
        {
            await subscribers.DeleteAsync(row.SubscriberId, "webhook (410 Gone)", "status_subscriber.unsubscribe", CancellationToken.None);
            return;
        }
        var now = time.GetUtcNow();
        var status = outcome.Delivered ? "delivered" : outcome.Retryable ? "pending" : "failed";
        var next = now.ToUnixTimeMilliseconds();
        var error = outcome.Error;
        if (status == "pending")
        {
            var o = notifications.CurrentValue;
            var wait = NotificationSender.Backoff(row.Attempts + 1, o, outcome.RetryAfter);
            next = (now + wait).ToUnixTimeMilliseconds();
            if (next > row.CreatedAt + (long)o.GiveUpAfter.Value.TotalMilliseconds)
            {
                status = "failed";
                error += $"; gave up after {row.Attempts + 1} tries (notifications.give_up_after {o.GiveUpAfter})";
            }
        }
        if (status == "failed") logger.LogWarning("Status page delivery {Id} ({Kind}) to subscriber {Subscriber} failed: {Error}", row.Id, row.Kind, row.SubscriberId, error);
        await db.WriteAsync(async (c, tx) =>
        {
            await c.ExecuteAsync(new CommandDefinition("""
                UPDATE status_deliveries SET status = @status, attempts = attempts + 1, next_attempt_at = @next, lease_owner = NULL, lease_until = NULL,
                       last_error = @error, finished_at = @finished WHERE id = @id AND lease_owner = @owner
                """, new
            {
                status, next, error = error is { Length: > 2000 } e ? e[..2000] : error, finished = status == "pending" ? (long?)null : now.ToUnixTimeMilliseconds(),
                id = row.Id, owner = Owner,
            }, tx, cancellationToken: CancellationToken.None));
            if (activate)
                await c.ExecuteAsync(new CommandDefinition("UPDATE status_subscribers SET state = 'active', confirmed_at = @now WHERE id = @id AND state = 'pending'",
                    new { now = now.ToUnixTimeMilliseconds(), id = row.SubscriberId }, tx, cancellationToken: CancellationToken.None));
        }, CancellationToken.None);
    }

    private string PageUrl => config.Current.StatusPage.PageUrl(config.Current);

    private async Task<NotifyOutcome> SendMailAsync(Claimed row, CancellationToken ct)
    {
        var c = config.Current;
        var s = c.StatusPage;
        var g = c.Alertmanager.Global;
        var smtp = new EmailConfig
        {
            To = row.Target, From = s.Subscribers.From ?? g.SmtpFrom, Hello = g.SmtpHello, Smarthost = g.SmtpSmarthost, AuthUsername = g.SmtpAuthUsername,
            AuthPassword = g.SmtpAuthPassword, AuthPasswordFile = g.SmtpAuthPasswordFile, AuthIdentity = g.SmtpAuthIdentity, AuthSecret = g.SmtpAuthSecret,
            RequireTls = g.SmtpRequireTls,
        };
        if (string.IsNullOrEmpty(smtp.Smarthost) || string.IsNullOrEmpty(smtp.From))
            return NotifyOutcome.Failed(null, "no SMTP server configured (alertmanager global smtp_smarthost and smtp_from)", retryable: false);
        using var m = new MimeMessage();
        try
        {
            m.From.Add(MailboxAddress.Parse(smtp.From));
            m.To.Add(MailboxAddress.Parse(row.Target));
        }
        catch (ParseException ex)
        {
            return NotifyOutcome.Failed(null, "bad address: " + ex.Message, retryable: false);
        }
        m.Headers.Add("Auto-Submitted", "auto-generated");
        var host = Uri.TryCreate(PageUrl, UriKind.Absolute, out var pu) ? pu.Host : "watchkeeper";
        m.Headers.Add("List-Id", $"{Header(s.Title)} <status.{host}>");
        var body = new BodyBuilder();
        if (row.Kind == "confirm")
        {
            if (row.State != "pending") return NotifyOutcome.Ok(null);
            var token = await subscribers.ConfirmTokenAsync(row.SubscriberId, row.Nonce, ct);
            var link = $"{PageUrl}/subscribe/confirm?token={Uri.EscapeDataString(token)}";
            m.Subject = $"Confirm your subscription to {s.Title}";
            body.TextBody = $"""
                Someone, hopefully you, asked to receive updates from {s.Title} at this address.

                To confirm, open this link and press Confirm:
                {link}

                The link is valid for {Duration.Format(s.Subscribers.ConfirmWithin.Value)}. If you did not ask for this, ignore this message:
                nothing is sent to you unless you confirm, and the request is deleted when the link expires.
                """;
        }
        else if (row.Kind == Maintenance.MaintenanceNotifier.DeliveryKind)
        {
            var unsubscribe = $"{PageUrl}/unsubscribe?token={Uri.EscapeDataString(await subscribers.UnsubscribeTokenAsync(row.SubscriberId, row.Nonce, ct))}";
            m.Headers.Add("List-Unsubscribe", $"<{unsubscribe}>");
            m.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
            (m.Subject, body.TextBody) = Maintenance.MaintenanceNotifier.Mail(row.PayloadJson, s.Title, PageUrl, unsubscribe);
        }
        else
        {
            var p = JsonDocument.Parse(row.PayloadJson).RootElement;
            var incident = p.GetProperty("incident");
            var update = p.GetProperty("update");
            var unsubscribe = $"{PageUrl}/unsubscribe?token={Uri.EscapeDataString(await subscribers.UnsubscribeTokenAsync(row.SubscriberId, row.Nonce, ct))}";
            // RFC 8058 one-click unsubscribe: a POST to this URI with List-Unsubscribe=One-Click unsubscribes at once.
            m.Headers.Add("List-Unsubscribe", $"<{unsubscribe}>");
            m.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
            var status = IncidentStatus.Title(update.GetProperty("status").GetString() ?? "");
            var name = incident.GetProperty("name").GetString() ?? "";
            m.Subject = Header($"[{s.Title}] {name}: {status}");
            var at = update.GetProperty("created_at").GetDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
            body.TextBody = $"""
                {name}
                Status: {status} ({at} UTC)

                {update.GetProperty("body").GetString()}

                Full history: {PageUrl}#incident-{incident.GetProperty("id").GetString()}

                You receive this because you subscribed to {s.Title}. Unsubscribe: {unsubscribe}
                """;
        }
        m.Body = body.ToMessageBody();
        return await EmailNotifier.DeliverAsync(m, smtp, notifications.CurrentValue.SmtpTimeout.Value, ct);
    }

    private static string Header(string s) => s.ReplaceLineEndings(" ");

    private async Task<(NotifyOutcome Outcome, bool Activate, bool Gone)> SendWebhookAsync(Claimed row, CancellationToken ct)
    {
        var s = config.Current.StatusPage;
        var page = new { id = StatusDocuments.PageId, name = s.Title, url = PageUrl };
        var unsubscribe = $"{PageUrl}/unsubscribe?token={Uri.EscapeDataString(await subscribers.UnsubscribeTokenAsync(row.SubscriberId, row.Nonce, ct))}";
        string json;
        string? challenge = null;
        if (row.Kind == "confirm")
        {
            if (row.State != "pending") return (NotifyOutcome.Ok(null), false, false);
            challenge = StatusSubscribers.Base64Url(RandomNumberGenerator.GetBytes(18));
            json = StatusSubscribers.Json(new { type = "subscription.verify", challenge, secret = row.Secret, page, unsubscribe_url = unsubscribe });
        }
        else if (row.Kind == Maintenance.MaintenanceNotifier.DeliveryKind)
        {
            json = Maintenance.MaintenanceNotifier.Webhook(row.PayloadJson, page, unsubscribe);
        }
        else
        {
            var p = JsonDocument.Parse(row.PayloadJson).RootElement;
            json = StatusSubscribers.Json(new { type = "incident.update", page, incident = p.GetProperty("incident"), update = p.GetProperty("update"), unsubscribe_url = unsubscribe });
        }
        var ts = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var sig = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(row.Secret ?? ""), Encoding.UTF8.GetBytes(ts + "." + json)));
        using var req = new HttpRequestMessage(HttpMethod.Post, row.Target) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        req.Headers.Add(SignatureHeader, $"t={ts},v1={sig}");
        req.Headers.Add("Watchkeeper-Event", row.Kind == "confirm" ? "subscription.verify" : row.Kind == Maintenance.MaintenanceNotifier.DeliveryKind ? "maintenance.update" : "incident.update");
        req.Headers.UserAgent.ParseAdd("Watchkeeper-StatusPage/1");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(notifications.CurrentValue.HttpTimeout.Value);
        using var resp = await http.CreateClient(HttpClientName).SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var code = (int)resp.StatusCode;
        if (resp.StatusCode == HttpStatusCode.Gone) return (NotifyOutcome.Ok(code), false, true);
        if (resp.IsSuccessStatusCode)
        {
            if (challenge is null) return (NotifyOutcome.Ok(code), false, false);
            var text = await ReadLimitedAsync(resp, cts.Token);
            var echoed = text.Trim() == challenge || (text.TrimStart().StartsWith('{') && TryChallenge(text) == challenge);
            return echoed
                ? (NotifyOutcome.Ok(code), true, false)
                : (NotifyOutcome.Failed(code, "the endpoint did not answer with the challenge (plain text or {\"challenge\": ...})", retryable: false), false, false);
        }
        var retryable = code is 408 or 429 || code >= 500;
        return (NotifyOutcome.Failed(code, $"HTTP {code}", retryable) with { RetryAfter = HttpOutcome.RetryAfter(resp) }, false, false);
    }

    private static async Task<string> ReadLimitedAsync(HttpResponseMessage resp, CancellationToken ct)
    {
        await using var stream = await resp.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[4096];
        var n = 0;
        int read;
        while (n < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(n), ct)) > 0) n += read;
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static string? TryChallenge(string json)
    {
        try
        {
            using var d = JsonDocument.Parse(json);
            return d.RootElement.ValueKind == JsonValueKind.Object && d.RootElement.TryGetProperty("challenge", out var c) ? c.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
