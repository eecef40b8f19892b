using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.OnCall;

/// <summary>What an acknowledgement link points at, once its signature and expiry are checked.</summary>
public sealed record AckLink(string Token, long IncidentId, string Person, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt);

/// <summary>
/// Signed, expiring, single-use acknowledgement links put in escalation notifications. The token is
/// <c>incident.nonce.expiry.signature</c>: an HMAC-SHA256 with a server key kept in the database (so every replica
/// checks it), over the incident, a random nonce and the expiry. The nonce is stored with the person it was sent to;
/// using the link marks it used in the same transaction as the acknowledgement, so it works once. Opening the link
/// (GET) only shows a confirmation form: mail scanners that follow links acknowledge nothing.
/// </summary>
public sealed class AckLinks(Db db, TimeProvider time) : IDisposable
{
    public void Dispose() => _keyLock.Dispose();

    private byte[]? _key;
    private readonly SemaphoreSlim _keyLock = new(1, 1);

    /// <summary>Loads (or creates) the signing key; call before <see cref="CreateAsync"/>, outside any write transaction.</summary>
    public Task WarmAsync(CancellationToken ct) => KeyAsync(ct);

    /// <summary>Creates a link for <paramref name="person"/> inside the caller's transaction and returns its token.</summary>
    public async Task<string> CreateAsync(DbConnection c, DbTransaction tx, long incidentId, string person, TimeSpan ttl, CancellationToken ct)
    {
        var key = _key ?? throw new InvalidOperationException("AckLinks.WarmAsync must run before links are created");
        var now = time.GetUtcNow();
        var nonce = Base64Url(RandomNumberGenerator.GetBytes(16));
        var expires = now.Add(ttl).ToUnixTimeSeconds();
        await c.ExecuteAsync(new CommandDefinition("INSERT INTO oncall_ack_links (nonce, incident_id, person, expires_at, created_at) VALUES (@nonce, @incidentId, @person, @exp, @now)",
            new { nonce, incidentId, person, exp = expires * 1000, now = now.ToUnixTimeMilliseconds() }, tx, cancellationToken: ct));
        var body = $"{incidentId.ToString(CultureInfo.InvariantCulture)}.{nonce}.{expires.ToString(CultureInfo.InvariantCulture)}";
        return body + "." + Sign(key, body);
    }

    /// <summary>The link a token names, or a reason it is not valid (bad signature, expired, unknown).</summary>
    public async Task<(AckLink? Link, string? Problem)> CheckAsync(string token, CancellationToken ct)
    {
        var parts = token.Split('.');
        if (token.Length > 200 || parts.Length != 4 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var exp))
            return (null, "This acknowledgement link is malformed.");
        var key = await KeyAsync(ct);
        var body = string.Join('.', parts[..3]);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(key, body)), Encoding.ASCII.GetBytes(parts[3])))
            return (null, "This acknowledgement link is not valid (its signature does not match).");
        var expires = DateTimeOffset.FromUnixTimeSeconds(Math.Min(exp, 253402300799));
        if (time.GetUtcNow() >= expires) return (null, $"This acknowledgement link expired at {expires:u}. Acknowledge from the incident page or with 'wk alert ack {id}'.");
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<(long IncidentId, string Person, long? UsedAt)>(
            "SELECT incident_id, person, used_at FROM oncall_ack_links WHERE nonce = @n", new { n = parts[1] }), ct);
        if (row.Person is null || row.IncidentId != id) return (null, "This acknowledgement link is not known to this server.");
        return (new AckLink(token, id, row.Person, expires, row.UsedAt is { } u ? DateTimeOffset.FromUnixTimeMilliseconds(u) : null), null);
    }

    /// <summary>Uses a checked link: marks it used and acknowledges the incident in one transaction. False when it was used already.</summary>
    public async Task<bool> UseAsync(AckLink link, IncidentService incidents, CancellationToken ct)
    {
        var nonce = link.Token.Split('.')[1];
        var used = await db.WriteAsync(async (c, tx) =>
            await c.ExecuteAsync("UPDATE oncall_ack_links SET used_at = @now WHERE nonce = @nonce AND used_at IS NULL",
                new { now = time.GetUtcNow().ToUnixTimeMilliseconds(), nonce }, tx) == 1, ct);
        if (!used) return false;
        try
        {
            await incidents.AcknowledgeAsync(link.IncidentId, null, link.Person + " (link)", ct);
        }
        catch (ConflictException)
        {
            // Someone acknowledged it first; the link is used up all the same.
        }
        return true;
    }

    private async Task<byte[]> KeyAsync(CancellationToken ct)
    {
        if (_key is { } k) return k;
        await _keyLock.WaitAsync(ct);
        try
        {
            if (_key is { } k2) return k2;
            var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            var value = await db.WriteAsync(async (c, tx) =>
            {
                await c.ExecuteAsync("INSERT INTO oncall_keys (name, value, created_at) VALUES ('ack_links', @fresh, @now) ON CONFLICT (name) DO NOTHING",
                    new { fresh, now = time.GetUtcNow().ToUnixTimeMilliseconds() }, tx);
                return await c.ExecuteScalarAsync<string>("SELECT value FROM oncall_keys WHERE name = 'ack_links'", transaction: tx);
            }, ct);
            return _key = Convert.FromBase64String(value!);
        }
        finally
        {
            _keyLock.Release();
        }
    }

    private static string Sign(byte[] key, string body) => Base64Url(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("ack\u001f" + body)));

    private static string Base64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
