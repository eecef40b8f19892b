using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Claims;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Browser sessions, recorded in the database so the server can end them. The session cookie carries a random
/// session id (encrypted with the cookie); every request checks it against its row and the user's current state:
/// the row must exist (logout, a password change and disabling the account delete it), be younger than
/// <c>auth.session_absolute_lifetime</c>, and belong to an enabled user, whose current role applies. Checks are
/// cached for <see cref="CacheFor"/>; any change made by this process clears the cache, so it applies at once here
/// and within that time on other replicas.
/// </summary>
public sealed class Sessions(Db db, ConfigHolder config, TimeProvider time)
{
    /// <summary>The claim that carries the session id in the cookie.</summary>
    public const string Claim = "wk.sid";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private sealed class Row
    {
        public long UserId { get; set; }
        public long ExpiresAt { get; set; }
        public string Username { get; set; } = "";
        public string Role { get; set; } = "";
        public long Disabled { get; set; }
    }

    private readonly ConcurrentDictionary<string, (Row? Row, long CachedAt)> _cache = new(StringComparer.Ordinal);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Records a new session for the user and signs the browser in with it.</summary>
    public async Task SignInAsync(HttpContext http, UserRow user)
    {
        var sid = Users.NewSecret(32);
        var now = Now;
        var expires = now + (long)config.Current.Auth.SessionAbsoluteLifetime.Value.TotalMilliseconds;
        await db.WriteAsync(async (c, tx) =>
        {
            // Sessions past their absolute end are of no use to anyone: drop them as new ones start.
            await c.ExecuteAsync("DELETE FROM sessions WHERE expires_at <= @now", new { now }, tx);
            await c.ExecuteAsync("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (@id, @uid, @now, @expires)",
                new { id = Users.HashToken(sid), uid = user.Id, now, expires }, tx);
        }, http.RequestAborted);
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, Principal(user.Username, user.Role, sid));
    }

    /// <summary>Ends the browser's session on the server (a copy of the cookie stops working) and clears the cookie.</summary>
    public async Task SignOutAsync(HttpContext http)
    {
        if (http.User.FindFirstValue(Claim) is { } sid) await EndAsync(sid, http.RequestAborted);
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    public async Task EndAsync(string sid, CancellationToken ct = default)
    {
        await db.WriteAsync((c, tx) => c.ExecuteAsync("DELETE FROM sessions WHERE id = @id", new { id = Users.HashToken(sid) }, tx), ct);
        _cache.TryRemove(sid, out _);
    }

    /// <summary>
    /// Ends a user's sessions inside the caller's transaction, except <paramref name="keepSid"/> (the session making
    /// the change). Call <see cref="Invalidate"/> after the commit.
    /// </summary>
    public static Task EndAllAsync(DbConnection c, DbTransaction tx, long userId, string? keepSid) =>
        c.ExecuteAsync("DELETE FROM sessions WHERE user_id = @userId AND id <> @keep",
            new { userId, keep = keepSid is null ? "" : Users.HashToken(keepSid) }, tx);

    /// <summary>Forgets every cached check; the next request of each session reads its row again.</summary>
    public void Invalidate() => _cache.Clear();

    /// <summary>The principal for a valid session, with the user's current name and role; null when the session has ended.</summary>
    public async Task<ClaimsPrincipal?> ValidateAsync(ClaimsPrincipal cookie, CancellationToken ct)
    {
        if (cookie.FindFirstValue(Claim) is not { Length: > 0 } sid) return null;
        var now = Now;
        Row? row;
        if (_cache.TryGetValue(sid, out var cached) && now - cached.CachedAt < CacheFor.TotalMilliseconds && now >= cached.CachedAt)
        {
            row = cached.Row;
        }
        else
        {
            row = await db.ReadAsync(c => c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition("""
                SELECT s.user_id, s.expires_at, u.username, u.role, u.disabled
                FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = @id
                """, new { id = Users.HashToken(sid) }, cancellationToken: ct)), ct);
            if (_cache.Count > 10_000) _cache.Clear();
            _cache[sid] = (row, now);
        }
        if (row is null || row.Disabled != 0 || row.ExpiresAt <= now) return null;
        if (cookie.Identity?.Name == row.Username && cookie.FindFirstValue(ClaimTypes.Role) == row.Role) return cookie;
        return Principal(row.Username, row.Role, sid);
    }

    public static ClaimsPrincipal Principal(string username, string role, string sid) =>
        new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, username), new Claim(ClaimTypes.Role, role), new Claim(Claim, sid)],
            CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>The cookie handler's per-request check.</summary>
    public static async Task ValidatePrincipal(CookieValidatePrincipalContext ctx)
    {
        var sessions = ctx.HttpContext.RequestServices.GetRequiredService<Sessions>();
        var current = ctx.Principal is null ? null : await sessions.ValidateAsync(ctx.Principal, ctx.HttpContext.RequestAborted);
        if (current is null)
        {
            ctx.RejectPrincipal();
            await ctx.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
        else if (!ReferenceEquals(current, ctx.Principal))
        {
            // The role (or name) changed since the cookie was issued: the new one applies now, and the cookie follows.
            ctx.ReplacePrincipal(current);
            ctx.ShouldRenew = true;
        }
    }
}
