using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Limits password guessing without letting an attacker lock others out. Two independent checks, both counting
/// failed logins only:
/// <list type="bullet">
/// <item>per client address (the real client behind a trusted proxy; IPv6 by /64): at most
/// <c>auth.login_attempts_per_minute</c> failures in any minute, then 429 for that client only;</item>
/// <item>per user name, across all clients: after <c>auth.login_user_backoff_after</c> consecutive failures, each
/// further attempt must wait 1 s, doubling with every failure up to <c>auth.login_user_backoff_max</c>. A success
/// resets it; so does an hour without failures.</item>
/// </list>
/// So a client hammering one account spends only its own budget; the account itself is slowed only by a
/// distributed attack, and only for as long as the current backoff. State is in memory, per process.
/// </summary>
public sealed class LoginThrottle(ConfigHolder config, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan UserMemory = TimeSpan.FromHours(1);
    private const int SweepAbove = 10_000;

    private sealed class ClientState
    {
        public readonly Queue<DateTimeOffset> Failures = new();
    }

    private sealed class UserState
    {
        public int Failures;
        public DateTimeOffset LastFailure;
        public DateTimeOffset BlockedUntil;
    }

    private readonly ConcurrentDictionary<string, ClientState> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UserState> _users = new(StringComparer.Ordinal);

    /// <summary>The client key: the address, IPv6 addresses by their /64 network (one host usually owns a whole /64).</summary>
    public static string ClientKey(IPAddress? ip)
    {
        if (ip is null) return "unknown";
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (ip.AddressFamily != AddressFamily.InterNetworkV6) return ip.ToString();
        var b = ip.GetAddressBytes();
        Array.Clear(b, 8, 8);
        return new IPAddress(b) + "/64";
    }

    /// <summary>How long the caller must wait before this attempt is allowed; null when it may go ahead.</summary>
    public TimeSpan? RetryAfter(string client, string username)
    {
        var now = time.GetUtcNow();
        TimeSpan? wait = null;
        var limit = config.Current.Auth.LoginAttemptsPerMinute;
        if (_clients.TryGetValue(client, out var c))
        {
            lock (c)
            {
                Expire(c, now);
                if (c.Failures.Count >= limit) wait = c.Failures.Peek() + Window - now;
            }
        }
        if (_users.TryGetValue(username, out var u))
        {
            lock (u)
            {
                if (u.BlockedUntil > now && (wait is null || u.BlockedUntil - now > wait)) wait = u.BlockedUntil - now;
            }
        }
        return wait;
    }

    public void Failed(string client, string username)
    {
        var now = time.GetUtcNow();
        var auth = config.Current.Auth;
        var c = _clients.GetOrAdd(client, _ => new ClientState());
        lock (c)
        {
            Expire(c, now);
            c.Failures.Enqueue(now);
            while (c.Failures.Count > auth.LoginAttemptsPerMinute) c.Failures.Dequeue();
        }
        var u = _users.GetOrAdd(username, _ => new UserState());
        lock (u)
        {
            if (now - u.LastFailure > UserMemory) u.Failures = 0;
            u.Failures++;
            u.LastFailure = now;
            var over = u.Failures - auth.LoginUserBackoffAfter;
            if (over >= 0)
            {
                var max = auth.LoginUserBackoffMax.Value;
                var delay = over >= 30 ? max : TimeSpan.FromSeconds(Math.Min(Math.Pow(2, over), max.TotalSeconds));
                u.BlockedUntil = now + delay;
            }
        }
        if (_clients.Count > SweepAbove || _users.Count > SweepAbove) Sweep(now);
    }

    public void Succeeded(string username) => _users.TryRemove(username, out _);

    /// <summary>The API's answer to a refused attempt: 429 problem details with Retry-After.</summary>
    public static IResult Refuse(HttpContext http, TimeSpan wait)
    {
        var s = Seconds(wait);
        http.Response.Headers.RetryAfter = s;
        return TypedResults.Problem(Problems.Create(429, "Too many login attempts",
            $"Too many failed logins from this client or for this user; try again in {s} s."));
    }

    /// <summary>The Retry-After header value: whole seconds, at least 1.</summary>
    public static string Seconds(TimeSpan wait) =>
        Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static void Expire(ClientState c, DateTimeOffset now)
    {
        while (c.Failures.Count > 0 && c.Failures.Peek() + Window <= now) c.Failures.Dequeue();
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (k, c) in _clients)
        {
            lock (c)
            {
                Expire(c, now);
                if (c.Failures.Count == 0) _clients.TryRemove(k, out _);
            }
        }
        foreach (var (k, u) in _users)
        {
            lock (u)
            {
                if (u.BlockedUntil <= now && now - u.LastFailure > UserMemory) _users.TryRemove(k, out _);
            }
        }
    }
}
