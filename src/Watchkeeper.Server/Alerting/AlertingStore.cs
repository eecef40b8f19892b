using System.Globalization;
using System.Text.Json;
using Dapper;
using Watchkeeper.Alerting.Dispatch;
using Watchkeeper.Alerting.Notify;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.Silences;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Alerting;

/// <summary>
/// Silences and the notification log in the relational store (SQLite or PostgreSQL). A notification-log entry and
/// its outbox item are written in one transaction through <see cref="INotificationOutbox"/>.
/// Silence changes made by someone (API, page) are written to the audit log in the same transaction.
/// </summary>
public sealed class AlertingStore(Db db, INotificationOutbox? outbox, AuditLog? audit = null) : ISilenceStore, INotificationLog
{
    private sealed record SilenceRow(string Id, string Matchers, long StartsAt, long EndsAt, long UpdatedAt, string CreatedBy, string Comment);
    private sealed record NflogRow(string Receiver, string Integration, string GroupKey, string Firing, string Resolved, long Ts, long ExpiresAt);
    private sealed record MatcherJson(string Name, string Value, bool IsRegex, bool IsEqual);

    /// <summary>True when a notification outbox is installed; without it notifications cannot be committed.</summary>
    public bool HasOutbox => outbox is not null;

    public async Task<IReadOnlyList<Silence>> LoadSilencesAsync(CancellationToken ct)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync<SilenceRow>(new CommandDefinition(
            "SELECT id, matchers, starts_at, ends_at, updated_at, created_by, comment FROM alert_silences", cancellationToken: ct)), ct);
        return [.. rows.Select(r => new Silence(r.Id, ParseMatchers(r.Matchers), Ms(r.StartsAt), Ms(r.EndsAt), Ms(r.UpdatedAt), r.CreatedBy, r.Comment))];
    }

    public Task SaveSilencesAsync(IReadOnlyList<Silence> silences, SilenceChange? change, CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        foreach (var s in silences)
        {
            var before = change is null || audit is null ? null : await c.QueryFirstOrDefaultAsync<SilenceRow>(new CommandDefinition(
                "SELECT id, matchers, starts_at, ends_at, updated_at, created_by, comment FROM alert_silences WHERE id = @Id", new { s.Id }, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO alert_silences (id, matchers, starts_at, ends_at, updated_at, created_by, comment)
                VALUES (@Id, @Matchers, @StartsAt, @EndsAt, @UpdatedAt, @CreatedBy, @Comment)
                ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
                  updated_at = excluded.updated_at, created_by = excluded.created_by, comment = excluded.comment
                """, new SilenceRow(s.Id, FormatMatchers(s.Matchers), s.StartsAt.ToUnixTimeMilliseconds(), s.EndsAt.ToUnixTimeMilliseconds(),
                s.UpdatedAt.ToUnixTimeMilliseconds(), s.CreatedBy, s.Comment), tx, cancellationToken: ct));
            if (change is null || audit is null) continue;
            // An update that ends the silence now is an expiry (an explicit one, or the old silence an update replaced).
            var action = before is null ? "silence.create" : s.EndsAt <= s.UpdatedAt ? "silence.expire" : "silence.update";
            await audit.AppendAsync(c, tx, change.Actor, action, "silence", s.Id, before is null ? null : Describe(before),
                new { matchers = s.Matchers.ToString(), starts_at = s.StartsAt, ends_at = s.EndsAt, created_by = s.CreatedBy, comment = s.Comment, reason = change.Reason });
        }
    }, ct);

    private static object Describe(SilenceRow r) => new
    {
        matchers = ParseMatchers(r.Matchers).ToString(),
        starts_at = Ms(r.StartsAt),
        ends_at = Ms(r.EndsAt),
        created_by = r.CreatedBy,
        comment = r.Comment,
    };

    public Task DeleteSilencesAsync(IReadOnlyList<string> ids, CancellationToken ct) => db.WriteAsync(async (c, tx) =>
    {
        foreach (var id in ids)
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM alert_silences WHERE id = @id", new { id }, tx, cancellationToken: ct));
    }, ct);

    public async Task<IReadOnlyList<NflogEntry>> LoadAsync(CancellationToken ct)
    {
        var rows = await db.ReadAsync(c => c.QueryAsync<NflogRow>(new CommandDefinition(
            "SELECT receiver, integration, group_key, firing, resolved, ts, expires_at FROM alert_nflog", cancellationToken: ct)), ct);
        return [.. rows.Select(r => new NflogEntry(r.Receiver, r.Integration, r.GroupKey, ParseSet(r.Firing), ParseSet(r.Resolved), Ms(r.Ts), Ms(r.ExpiresAt)))];
    }

    public Task CommitAsync(NflogEntry entry, OutboxItem? item, CancellationToken ct)
    {
        var e = entry;
        if (item is not null && outbox is null) throw new InvalidOperationException("no notification outbox is installed");
        return db.WriteAsync((c, tx) => CommitInAsync(c, tx, e, item, ct), ct);
    }

    /// <summary>The commit's statements in the caller's transaction (<see cref="AlertPathWarmup"/> runs them in one that is rolled back).</summary>
    internal async Task CommitInAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction tx, NflogEntry e, OutboxItem? item, CancellationToken ct)
    {
        await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO alert_nflog (receiver, integration, group_key, firing, resolved, ts, expires_at)
            VALUES (@Receiver, @Integration, @GroupKey, @Firing, @Resolved, @Ts, @ExpiresAt)
            ON CONFLICT (receiver, integration, group_key) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved,
              ts = excluded.ts, expires_at = excluded.expires_at
            """, new NflogRow(e.Receiver, e.Integration, e.GroupKey, FormatSet(e.FiringAlerts), FormatSet(e.ResolvedAlerts),
            e.Timestamp.ToUnixTimeMilliseconds(), e.ExpiresAt.ToUnixTimeMilliseconds()), tx, cancellationToken: ct));
        if (item is not null) await outbox!.EnqueueAsync(c, tx, item, ct);
    }

    public Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken ct) => db.WriteAsync((c, tx) =>
        c.ExecuteAsync(new CommandDefinition("DELETE FROM alert_nflog WHERE expires_at <= @now", new { now = now.ToUnixTimeMilliseconds() }, tx, cancellationToken: ct)), ct);

    private static DateTimeOffset Ms(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static string FormatSet(IReadOnlySet<ulong> set) => string.Join(',', set.Order().Select(x => x.ToString("x16", CultureInfo.InvariantCulture)));

    private static HashSet<ulong> ParseSet(string s) =>
        s.Length == 0 ? [] : [.. s.Split(',').Select(x => ulong.Parse(x, NumberStyles.HexNumber, CultureInfo.InvariantCulture))];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static string FormatMatchers(Matchers m) => JsonSerializer.Serialize(m.Select(x => new MatcherJson(x.Name, x.Value, x.IsRegex, x.IsEqual)).ToList(), Json);

    private static Matchers ParseMatchers(string json) => new([.. JsonSerializer.Deserialize<List<MatcherJson>>(json, Json)!.Select(ToMatcher)]);

    public static Matcher ToMatcher(string name, string value, bool isRegex, bool isEqual) =>
        new((isRegex, isEqual) switch { (false, true) => MatchOp.Equal, (false, false) => MatchOp.NotEqual, (true, true) => MatchOp.Regex, _ => MatchOp.NotRegex }, name, value);

    private static Matcher ToMatcher(MatcherJson m) => ToMatcher(m.Name, m.Value, m.IsRegex, m.IsEqual);
}
