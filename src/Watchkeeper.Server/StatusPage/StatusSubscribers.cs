using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using MimeKit;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.StatusPage;

public static class SubscriberKind
{
    public const string Email = "email";
    public const string Webhook = "webhook";
}

/// <summary>A subscriber as an admin sees it (addresses are personal data: never on a public endpoint).</summary>
public sealed record SubscriberView(long Id, string Kind, string Target, string State, DateTimeOffset CreatedAt, DateTimeOffset? ConfirmedAt, long PendingDeliveries);

/// <summary>What a subscription request answered; the same for a new, a pending and an existing address (no enumeration).</summary>
public sealed record SubscribeResult(string Kind);

/// <summary>Too many subscription requests from one client or for one address.</summary>
public sealed class SubscribeRateLimitedException(TimeSpan retryAfter, string detail) : ProblemException(429, "Too many requests", detail)
{
    public TimeSpan RetryAfter { get; } = retryAfter;

    public override void AddHeaders(IHeaderDictionary headers) => headers.RetryAfter = ((int)Math.Ceiling(RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
}

/// <summary>The subscriber limit (<c>status_page.subscribers.max_subscribers</c>) is reached.</summary>
public sealed class SubscribersFullException() : ProblemException(503, "Service unavailable", "This page takes no more subscribers right now.");

/// <summary>
/// Subscribers of the public page: email with double opt-in (a signed, expiring confirmation link), webhooks verified by
/// a challenge their endpoint must echo (the request carries the secret later deliveries are signed with), and
/// unsubscription by a signed link (RFC 8058 one-click for mail). Unsubscribing or an admin's delete removes the row
/// and its queued deliveries: nothing of the address is kept. Subscription requests are rate limited per client
/// address and per subscribed address (in memory, per replica).
/// </summary>
public sealed class StatusSubscribers(Db db, ConfigHolder config, TimeProvider time, AuditLog audit, StatusDeliverySignal signal) : IDisposable
{
    private readonly SemaphoreSlim _keyLock = new(1, 1);
    private byte[]? _key;
    private readonly ConcurrentDictionary<string, Window> _perIp = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Window> _perTarget = new(StringComparer.Ordinal);

    private sealed class Window
    {
        public long Start;
        public int Count;
    }

    public void Dispose() => _keyLock.Dispose();

    private StatusSubscribersConfig Settings => config.Current.StatusPage.Subscribers;

    /// <summary>Validates and normalises an address or URL; errors name the field <c>target</c>.</summary>
    public string Normalise(string kind, string? target)
    {
        var t = (target ?? "").Trim();
        if (t.Length == 0) throw new ValidationException("target", "is required");
        if (t.Any(char.IsControl)) throw new ValidationException("target", "must not contain control characters");
        if (kind == SubscriberKind.Email)
        {
            if (t.Length > 254 || !MailboxAddress.TryParse(t, out var m) || m.Address != t || !t.Contains('@', StringComparison.Ordinal) || t.Contains(' ', StringComparison.Ordinal))
                throw new ValidationException("target", "is not an email address (name@example.org)");
            var at = t.LastIndexOf('@');
            if (at < 1 || at == t.Length - 1 || !t[(at + 1)..].Contains('.', StringComparison.Ordinal))
                throw new ValidationException("target", "is not an email address with a domain (name@example.org)");
            return t[..at] + "@" + t[(at + 1)..].ToLowerInvariant();
        }
        if (t.Length > 2000 || !Uri.TryCreate(t, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || string.IsNullOrEmpty(u.Host)
            || u.UserInfo.Length > 0 || u.Fragment.Length > 0)
            throw new ValidationException("target", "is not an absolute http or https URL without credentials or fragment");
        if (!Settings.AllowPrivateWebhooks && IsPrivate(u))
            throw new ValidationException("target", "points at a loopback, private or link-local address; webhooks must be reachable on the internet");
        return u.AbsoluteUri;
    }

    private static bool IsPrivate(Uri u)
    {
        if (u.IsLoopback || u.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) || u.Host.EndsWith(".internal", StringComparison.OrdinalIgnoreCase)) return true;
        if (!IPAddress.TryParse(u.Host.Trim('[', ']'), out var ip)) return false;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip) || ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6UniqueLocal || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) return true;
        if (ip.AddressFamily != AddressFamily.InterNetwork) return false;
        var b = ip.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] < 32) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] < 128) || b[0] == 0;
    }

    /// <summary>
    /// A subscription request: a new address gets a pending row and a confirmation (email) or verification (webhook)
    /// queued; a pending one gets a new confirmation; a confirmed one nothing. The answer does not say which.
    /// </summary>
    public async Task<SubscribeResult> SubscribeAsync(string? kind, string? target, IPAddress? client, CancellationToken ct)
    {
        var s = config.Current.StatusPage;
        var k = (kind ?? "").Trim().ToLowerInvariant();
        if (k is not (SubscriberKind.Email or SubscriberKind.Webhook)) throw new ValidationException("kind", "must be email or webhook");
        if (!s.Enabled || (k == SubscriberKind.Email ? !s.Subscribers.Email : !s.Subscribers.Webhooks))
            throw new ValidationException("kind", $"{k} subscriptions are not enabled on this page");
        var normal = Normalise(k, target);
        var now = time.GetUtcNow();
        Limit(_perIp, "ip:" + (client?.ToString() ?? "unknown"), s.Subscribers.PerIpPerHour, TimeSpan.FromHours(1), now,
            "Too many subscription requests from your network. Try again later.");
        Limit(_perTarget, k + ":" + normal.ToLowerInvariant(), s.Subscribers.PerAddressPerDay, TimeSpan.FromDays(1), now,
            "Too many confirmation requests for this address today. Try again tomorrow.");
        await KeyAsync(ct);
        var at = now.ToUnixTimeMilliseconds();
        var queued = await db.WriteAsync(async (c, tx) =>
        {
            var row = await c.QuerySingleOrDefaultAsync<(long Id, string State)>(new CommandDefinition(
                "SELECT id, state FROM status_subscribers WHERE kind = @k AND target = @normal", new { k, normal }, tx, cancellationToken: ct));
            long id;
            if (row.Id == 0)
            {
                var count = await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM status_subscribers", transaction: tx, cancellationToken: ct));
                if (count >= s.Subscribers.MaxSubscribers) throw new SubscribersFullException();
                id = await c.ExecuteScalarAsync<long>(new CommandDefinition("""
                    INSERT INTO status_subscribers (kind, target, state, nonce, secret, created_at) VALUES (@k, @normal, 'pending', @nonce, @secret, @at) RETURNING id
                    """, new { k, normal, nonce = Base64Url(RandomNumberGenerator.GetBytes(12)), secret = k == SubscriberKind.Webhook ? "whsec_" + Base64Url(RandomNumberGenerator.GetBytes(24)) : null, at },
                    tx, cancellationToken: ct));
                await audit.AppendAsync(c, tx, "anonymous", "status_subscriber.create", "status_subscriber", Id(id), null, new { kind = k, state = "pending" });
            }
            else if (row.State == "pending")
            {
                id = row.Id;
            }
            else
            {
                return false;
            }
            var n = await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM status_deliveries WHERE subscriber_id = @id AND kind = 'confirm'", new { id }, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO status_deliveries (subscriber_id, kind, event_key, payload_json, status, attempts, next_attempt_at, created_at)
                VALUES (@id, 'confirm', @key, '{}', 'pending', 0, @at, @at)
                """, new { id, key = "confirm:" + (n + 1).ToString(CultureInfo.InvariantCulture), at }, tx, cancellationToken: ct));
            return true;
        }, ct);
        if (queued) signal.Wake();
        return new SubscribeResult(k);
    }

    private static void Limit(ConcurrentDictionary<string, Window> windows, string key, int max, TimeSpan span, DateTimeOffset now, string message)
    {
        var t = now.ToUnixTimeMilliseconds();
        if (windows.Count > 100_000)
            foreach (var (k, w) in windows)
                if (t - w.Start >= span.TotalMilliseconds) windows.TryRemove(k, out _);
        var win = windows.GetOrAdd(key, _ => new Window { Start = t });
        lock (win)
        {
            if (t - win.Start >= span.TotalMilliseconds)
            {
                win.Start = t;
                win.Count = 0;
            }
            if (win.Count >= max) throw new SubscribeRateLimitedException(TimeSpan.FromMilliseconds(win.Start + span.TotalMilliseconds - t), message);
            win.Count++;
        }
    }

    // ------------------------------------------------------------------ signed links

    /// <summary>The confirmation token of a pending email subscriber: <c>c.ID.EXPIRY.SIGNATURE</c>.</summary>
    public async Task<string> ConfirmTokenAsync(long id, string nonce, CancellationToken ct)
    {
        var exp = (time.GetUtcNow() + Settings.ConfirmWithin.Value).ToUnixTimeSeconds();
        return await TokenAsync("c", id, exp, nonce, ct);
    }

    /// <summary>The unsubscribe token of a subscriber: <c>u.ID.0.SIGNATURE</c> (valid while the subscriber exists).</summary>
    public Task<string> UnsubscribeTokenAsync(long id, string nonce, CancellationToken ct) => TokenAsync("u", id, 0, nonce, ct);

    private async Task<string> TokenAsync(string purpose, long id, long exp, string nonce, CancellationToken ct)
    {
        var key = await KeyAsync(ct);
        var body = $"{purpose}.{Id(id)}.{exp.ToString(CultureInfo.InvariantCulture)}";
        return body + "." + Sign(key, body + "." + nonce);
    }

    /// <summary>The subscriber a token names, or why it does not.</summary>
    public async Task<(long Id, string? Problem)> CheckTokenAsync(string purpose, string? token, CancellationToken ct)
    {
        var parts = (token ?? "").Split('.');
        if (token is null || token.Length > 200 || parts.Length != 4 || parts[0] != purpose
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id) || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var exp))
            return (0, "This link is malformed. Copy the whole link from the message.");
        if (exp != 0 && time.GetUtcNow().ToUnixTimeSeconds() >= exp) return (0, "This confirmation link has expired. Subscribe again to get a new one.");
        var key = await KeyAsync(ct);
        var nonce = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<string?>(new CommandDefinition("SELECT nonce FROM status_subscribers WHERE id = @id", new { id }, cancellationToken: ct)), ct);
        if (nonce is null) return (0, purpose == "u" ? "This subscription no longer exists: you are not subscribed." : "This subscription no longer exists. Subscribe again.");
        var expected = Sign(key, string.Join('.', parts[..3]) + "." + nonce);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts[3])))
            return (0, "This link is not valid (its signature does not match).");
        return (id, null);
    }

    /// <summary>Confirms a pending email subscriber; false when it was confirmed already.</summary>
    public async Task<bool> ConfirmAsync(long id, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await db.WriteAsync(async (c, tx) =>
        {
            var n = await c.ExecuteAsync(new CommandDefinition("UPDATE status_subscribers SET state = 'active', confirmed_at = @now WHERE id = @id AND state = 'pending'",
                new { id, now }, tx, cancellationToken: ct));
            if (n == 1) await audit.AppendAsync(c, tx, "anonymous", "status_subscriber.confirm", "status_subscriber", Id(id), new { state = "pending" }, new { state = "active" });
            return n == 1;
        }, ct);
    }

    /// <summary>Deletes a subscriber and its queued deliveries (unsubscribe, an admin's delete, a webhook answering 410 Gone).</summary>
    public async Task<bool> DeleteAsync(long id, string actor, string action, CancellationToken ct) => await db.WriteAsync(async (c, tx) =>
    {
        var row = await c.QuerySingleOrDefaultAsync<(string Kind, string State)>(new CommandDefinition("SELECT kind, state FROM status_subscribers WHERE id = @id", new { id }, tx, cancellationToken: ct));
        if (row.Kind is null) return false;
        await c.ExecuteAsync(new CommandDefinition("DELETE FROM status_deliveries WHERE subscriber_id = @id", new { id }, tx, cancellationToken: ct));
        await c.ExecuteAsync(new CommandDefinition("DELETE FROM status_subscribers WHERE id = @id", new { id }, tx, cancellationToken: ct));
        // The audit record keeps the fact, not the address.
        await audit.AppendAsync(c, tx, actor, action, "status_subscriber", Id(id), new { kind = row.Kind, state = row.State }, null);
        return true;
    }, ct);

    public async Task<IReadOnlyList<SubscriberView>> ListAsync(string? kind, int limit, CancellationToken ct)
    {
        if (kind is not (null or SubscriberKind.Email or SubscriberKind.Webhook)) throw new ValidationException("kind", "must be email or webhook");
        if (limit is < 1 or > 10_000) throw new ValidationException("limit", "must be between 1 and 10000");
        var rows = await db.ReadAsync(c => c.QueryAsync<(long Id, string Kind, string Target, string State, long CreatedAt, long? ConfirmedAt, long Pending)>(new CommandDefinition($"""
            SELECT s.id, s.kind, s.target, s.state, s.created_at, s.confirmed_at,
                   (SELECT COUNT(*) FROM status_deliveries d WHERE d.subscriber_id = s.id AND d.status = 'pending')
            FROM status_subscribers s {(kind is null ? "" : "WHERE s.kind = @kind")} ORDER BY s.id DESC LIMIT @limit
            """, new { kind, limit }, cancellationToken: ct)), ct);
        return [.. rows.Select(r => new SubscriberView(r.Id, r.Kind, r.Target, r.State, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt),
            r.ConfirmedAt is { } x ? DateTimeOffset.FromUnixTimeMilliseconds(x) : null, r.Pending))];
    }

    /// <summary>The signing key of links (kept in the database so every replica checks the same signatures).</summary>
    public async Task<byte[]> KeyAsync(CancellationToken ct)
    {
        if (_key is { } k) return k;
        await _keyLock.WaitAsync(ct);
        try
        {
            if (_key is { } k2) return k2;
            var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            var value = await db.WriteAsync(async (c, tx) =>
            {
                await c.ExecuteAsync(new CommandDefinition("INSERT INTO status_page_state (name, value) VALUES ('link_key', @fresh) ON CONFLICT (name) DO NOTHING",
                    new { fresh }, tx, cancellationToken: ct));
                return await c.ExecuteScalarAsync<string>(new CommandDefinition("SELECT value FROM status_page_state WHERE name = 'link_key'", transaction: tx, cancellationToken: ct));
            }, ct);
            return _key = Convert.FromBase64String(value!);
        }
        finally
        {
            _keyLock.Release();
        }
    }

    private static string Sign(byte[] key, string body) => Base64Url(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("status\u001f" + body)));

    internal static string Base64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    internal static string Json(object o) => JsonSerializer.Serialize(o, JsonOptions);

    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
