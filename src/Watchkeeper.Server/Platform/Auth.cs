using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Watchkeeper.Server.Platform;

/// <summary>Roles, from least to most privileged. Each role includes the ones before it.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Responder = "responder";
    public const string Admin = "admin";
    public static readonly string[] All = [Viewer, Responder, Admin];

    public static int Rank(string? role) => role switch { Viewer => 1, Responder => 2, Admin => 3, _ => 0 };
    public static bool IsValid(string? role) => Rank(role) > 0;
}

public sealed class UserRow
{
    public long Id { get; set; }
    public string Username { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public string Role { get; set; } = "";
    public long CreatedAt { get; set; }
    public long Disabled { get; set; }
}

public sealed class TokenRow
{
    public long Id { get; set; }
    public long UserId { get; set; }
    public string Name { get; set; } = "";
    public string Prefix { get; set; } = "";
    public long CreatedAt { get; set; }
    public long? LastUsedAt { get; set; }
    public long? RevokedAt { get; set; }
    public long? ExpiresAt { get; set; }
    public string Username { get; set; } = "";
    public string Role { get; set; } = "";
    public long Disabled { get; set; }
}

public sealed record UserView(long Id, string Username, string Role, DateTimeOffset CreatedAt, bool Disabled);
public sealed record TokenView(long Id, string Name, string Prefix, string Username, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt);
public sealed record NewToken(long Id, string Name, string Token, string Username, string Role, DateTimeOffset? ExpiresAt);

/// <summary>Users, passwords and API tokens. Tokens are stored as SHA-256 hashes and shown once.</summary>
public sealed class Users(Db db, AuditLog audit, TimeProvider time, Sessions sessions, ILogger<Users> log)
{
    /// <summary>The longest lifetime a token may be given.</summary>
    public static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(3650);

    /// <summary>The rule that keeps an organisation from locking itself out: one enabled admin must remain.</summary>
    public const string LastAdminRule = "last-admin";

    private static readonly PasswordHasher<string> Hasher = new();
    private readonly ConcurrentDictionary<string, (TokenRow Row, long CachedAt)> _tokenCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, long> _lastUsedWritten = new();

    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string NewSecret(int bytes = 24) =>
        Base64UrlEncode(RandomNumberGenerator.GetBytes(bytes));

    private static string Base64UrlEncode(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<bool> AnyAsync(CancellationToken ct = default) => await db.ReadAsync(async c => await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users") > 0, ct);

    public async Task<UserView> CreateAsync(string username, string password, string role, string actor, CancellationToken ct = default)
    {
        var now = Now;
        return await db.WriteAsync(async (c, tx) =>
        {
            var exists = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE username = @username", new { username }, tx);
            if (exists > 0) throw new ConflictException($"user '{username}' already exists");
            var id = await c.ExecuteScalarAsync<long>(
                "INSERT INTO users (username, password_hash, role, created_at, disabled) VALUES (@username, @hash, @role, @now, 0) RETURNING id",
                new { username, hash = Hasher.HashPassword(username, password), role, now }, tx);
            var view = new UserView(id, username, role, DateTimeOffset.FromUnixTimeMilliseconds(now), false);
            await audit.AppendAsync(c, tx, actor, "user.create", "user", username, null, view);
            return view;
        }, ct);
    }

    /// <summary>
    /// Changes a user's role, state or password. Disabling ends all of the user's browser sessions, a new password
    /// all but <paramref name="actorSession"/> (the session making the change); a role change applies to the next
    /// request of every session and token. The last enabled admin cannot be demoted or disabled (<see cref="LastAdminRule"/>).
    /// </summary>
    public async Task<UserView?> UpdateAsync(string username, string? role, bool? disabled, string? password, string actor, string? actorSession = null, CancellationToken ct = default)
    {
        var result = await db.WriteAsync(async (c, tx) =>
        {
            var u = await c.QuerySingleOrDefaultAsync<UserRow>("SELECT * FROM users WHERE username = @username", new { username }, tx);
            if (u is null) return null;
            var losesAdmin = u.Role == Roles.Admin && u.Disabled == 0 && ((role is not null && role != Roles.Admin) || disabled == true);
            if (losesAdmin)
            {
                // Lock every enabled admin row in one order (PostgreSQL), so two admins demoting each other at once
                // cannot both pass: the second re-reads after the first commits. SQLite has one writer at a time.
                var admins = await c.QueryAsync<long>(
                    "SELECT id FROM users WHERE role = @admin AND disabled = 0 ORDER BY id" + (db.Provider == DbProvider.Postgres ? " FOR UPDATE" : ""),
                    new { admin = Roles.Admin }, tx);
                if (!admins.Any(id => id != u.Id))
                    throw new ConflictException(
                        $"'{username}' is the last admin and cannot be demoted or disabled: at least one active admin must remain (rule {LastAdminRule}); make another user admin first",
                        LastAdminRule);
            }
            var before = ToView(u);
            if (role is not null) u.Role = role;
            if (disabled is not null) u.Disabled = disabled.Value ? 1 : 0;
            if (password is not null) u.PasswordHash = Hasher.HashPassword(username, password);
            await c.ExecuteAsync("UPDATE users SET role = @Role, disabled = @Disabled, password_hash = @PasswordHash WHERE id = @Id", u, tx);
            var after = ToView(u);
            await audit.AppendAsync(c, tx, actor, password is not null ? "user.password" : "user.update", "user", username, before, after);
            if (disabled == true) await Sessions.EndAllAsync(c, tx, u.Id, null);
            else if (password is not null) await Sessions.EndAllAsync(c, tx, u.Id, actorSession);
            return after;
        }, ct);
        _tokenCache.Clear();
        sessions.Invalidate();
        return result;
    }

    public async Task<IReadOnlyList<UserView>> ListAsync(CancellationToken ct = default) =>
        await db.ReadAsync(async c => (await c.QueryAsync<UserRow>("SELECT * FROM users ORDER BY username")).Select(ToView).ToList(), ct);

    public async Task<UserRow?> CheckPasswordAsync(string username, string password, CancellationToken ct = default)
    {
        var u = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<UserRow>("SELECT * FROM users WHERE username = @username", new { username }), ct);
        if (u is null)
        {
            // Same work as a real check, so timing does not reveal which usernames exist.
            Hasher.VerifyHashedPassword(username, Hasher.HashPassword(username, "x"), password);
            return null;
        }
        if (u.Disabled != 0) return null;
        var r = Hasher.VerifyHashedPassword(username, u.PasswordHash, password);
        return r == PasswordVerificationResult.Failed ? null : u;
    }

    /// <summary>Creates an API token; with <paramref name="expiresIn"/> it is refused from that time on.</summary>
    public async Task<NewToken> CreateTokenAsync(string username, string name, string actor, TimeSpan? expiresIn = null, CancellationToken ct = default)
    {
        if (expiresIn is { } e && (e <= TimeSpan.Zero || e > MaxTokenLifetime))
            throw new ValidationException("expires_in", $"must be a positive duration of at most {MaxTokenLifetime.TotalDays:0}d");
        var secret = "wk_" + NewSecret(24);
        var hash = HashToken(secret);
        var now = Now;
        long? expiresAt = expiresIn is { } ttl ? now + (long)ttl.TotalMilliseconds : null;
        return await db.WriteAsync(async (c, tx) =>
        {
            var u = await c.QuerySingleOrDefaultAsync<UserRow>("SELECT * FROM users WHERE username = @username", new { username }, tx)
                ?? throw new NotFoundException($"user '{username}' not found");
            var id = await c.ExecuteScalarAsync<long>(
                "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at) VALUES (@uid, @name, @hash, @prefix, @now, @expiresAt) RETURNING id",
                new { uid = u.Id, name, hash, prefix = secret[..7], now, expiresAt }, tx);
            var expires = expiresAt is { } x ? DateTimeOffset.FromUnixTimeMilliseconds(x) : (DateTimeOffset?)null;
            await audit.AppendAsync(c, tx, actor, "token.create", "token", id.ToString(System.Globalization.CultureInfo.InvariantCulture), null,
                expires is null ? new { id, name, user = username, prefix = secret[..7] } : new { id, name, user = username, prefix = secret[..7], expires_at = expires });
            return new NewToken(id, name, secret, username, u.Role, expires);
        }, ct);
    }

    public async Task<IReadOnlyList<TokenView>> ListTokensAsync(string? username, CancellationToken ct = default) =>
        await db.ReadAsync(async c => (await c.QueryAsync<TokenRow>("""
            SELECT t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at, t.expires_at, u.username, u.role, u.disabled
            FROM api_tokens t JOIN users u ON u.id = t.user_id
            WHERE (@username IS NULL OR u.username = @username) ORDER BY t.id
            """, new { username })).Select(ToView).ToList(), ct);

    /// <summary>Revokes a token; only its owner or an admin may. Returns false when not found.</summary>
    public async Task<bool> RevokeTokenAsync(long id, string actor, bool actorIsAdmin, CancellationToken ct = default)
    {
        var ok = await db.WriteAsync(async (c, tx) =>
        {
            var t = await c.QuerySingleOrDefaultAsync<TokenRow>("""
                SELECT t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at, t.expires_at, u.username, u.role, u.disabled
                FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = @id
                """, new { id }, tx);
            if (t is null) return false;
            if (!actorIsAdmin && t.Username != actor) throw new ForbiddenException("only the token's owner or an admin can revoke it");
            if (t.RevokedAt is not null) return true;
            await c.ExecuteAsync("UPDATE api_tokens SET revoked_at = @now WHERE id = @id", new { now = Now, id }, tx);
            await audit.AppendAsync(c, tx, actor, "token.revoke", "token", id.ToString(System.Globalization.CultureInfo.InvariantCulture), ToView(t), null);
            return true;
        }, ct);
        _tokenCache.Clear();
        return ok;
    }

    /// <summary>Resolves a bearer token. Results are cached for a few seconds; revocation clears the cache.</summary>
    public async Task<TokenRow?> FindTokenAsync(string token, CancellationToken ct = default)
    {
        var hash = HashToken(token);
        var now = Now;
        if (_tokenCache.TryGetValue(hash, out var cached) && now - cached.CachedAt < 5_000 && now >= cached.CachedAt)
            return cached.Row.ExpiresAt is { } ce && ce <= now ? null : cached.Row;
        var row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<TokenRow>("""
            SELECT t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at, t.expires_at, u.username, u.role, u.disabled
            FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = @hash
            """, new { hash }), ct);
        if (row is null || row.RevokedAt is not null || row.Disabled != 0 || (row.ExpiresAt is { } e && e <= now)) row = null;
        if (row is not null)
        {
            _tokenCache[hash] = (row, now);
            // Record last use at most once a minute per token, off the request's critical path.
            if (!_lastUsedWritten.TryGetValue(row.Id, out var last) || now - last > 60_000)
            {
                _lastUsedWritten[row.Id] = now;
                var id = row.Id;
                _ = Task.Run(async () =>
                {
                    try { await db.WriteAsync((c, tx) => c.ExecuteAsync("UPDATE api_tokens SET last_used_at = @now WHERE id = @id", new { now, id }, tx)); }
                    // The server is stopping and the database is closed: the last use of this minute is not kept (the
                    // earlier one stays), which is not worth a warning with a stack trace at every shutdown.
                    catch (ObjectDisposedException) { log.LogDebug("Last use of API token {Id} not recorded: the database is closed", id); }
                    // Best effort (the request does not wait for it), but a failure is logged, not dropped.
                    catch (Exception ex) { log.LogWarning(ex, "Could not record the last use of API token {Id}", id); }
                }, CancellationToken.None); // Not the request's token: this write outlives the request.
            }
        }
        else
        {
            _tokenCache.TryRemove(hash, out _);
        }
        return row;
    }

    public static UserView ToView(UserRow u) => new(u.Id, u.Username, u.Role, DateTimeOffset.FromUnixTimeMilliseconds(u.CreatedAt), u.Disabled != 0);

    private static TokenView ToView(TokenRow t) => new(t.Id, t.Name, t.Prefix, t.Username, DateTimeOffset.FromUnixTimeMilliseconds(t.CreatedAt),
        t.LastUsedAt is { } l ? DateTimeOffset.FromUnixTimeMilliseconds(l) : null,
        t.RevokedAt is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null,
        t.ExpiresAt is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null);

    public static ClaimsPrincipal Principal(string username, string role, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, username), new Claim(ClaimTypes.Role, role)], scheme, ClaimTypes.Name, ClaimTypes.Role));
}

/// <summary>
/// Authenticates API tokens sent as <c>Authorization: Bearer wk_...</c>, or as the password of HTTP Basic
/// authentication (any user name), which is how clients without a bearer option authenticate, e.g. promtool 2.42
/// with <c>http://user:TOKEN@host/prometheus</c> or a Grafana data source with basic auth.
/// </summary>
public sealed class TokenAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, Users users)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Token";

    /// <summary>The token an Authorization header carries ("" when empty or a malformed Basic header); null when it is neither Bearer nor Basic.</summary>
    public static string? TokenFrom(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? "" : pair[(colon + 1)..];
        }
        catch (FormatException)
        {
            return "";
        }
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = TokenFrom(Request.Headers.Authorization.ToString());
        if (token is null) return AuthenticateResult.NoResult();
        if (token.Length == 0) return AuthenticateResult.Fail("empty API token or malformed Basic authorization header");
        var row = await users.FindTokenAsync(token, Context.RequestAborted);
        if (row is null) return AuthenticateResult.Fail("invalid, revoked or expired API token");
        return AuthenticateResult.Success(new AuthenticationTicket(Users.Principal(row.Username, row.Role, SchemeName), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 401;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"watchkeeper\"";
        await Problems.WriteAsync(Context, 401, "Authentication required", "Send 'Authorization: Bearer <token>' (create one with 'wk login') or log in.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = 403;
        await Problems.WriteAsync(Context, 403, "Forbidden", "Your role does not allow this action.");
    }
}
