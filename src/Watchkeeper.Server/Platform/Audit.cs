using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Append-only, hash-chained audit log. Each record's hash covers its content and the previous
/// record's hash; signed checkpoints (HMAC-SHA256 with the server's audit key) pin the chain's
/// head so truncation of the tail is detectable. Records are written in the same transaction as
/// the change they describe.
/// </summary>
public sealed class AuditLog(Db db, TimeProvider time, AuditKey key, ConfigHolder config)
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Appends a record inside the caller's transaction.</summary>
    public async Task AppendAsync(DbConnection conn, DbTransaction tx, string actor, string action, string entityType, string entityId,
        object? before, object? after)
    {
        if (db.Provider == DbProvider.Postgres)
        {
            // Serialises appends across replicas; released at commit.
            await conn.ExecuteAsync("SELECT pg_advisory_xact_lock(727002)", transaction: tx);
        }
        var last = await conn.QueryFirstOrDefaultAsync<ChainHead>(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
        var seq = (last?.Seq ?? 0) + 1;
        var prev = last?.Hash ?? Genesis;
        var ts = time.GetUtcNow().ToUnixTimeMilliseconds();
        var beforeJson = before is null ? null : JsonSerializer.Serialize(before, Json);
        var afterJson = after is null ? null : JsonSerializer.Serialize(after, Json);
        var rec = new AuditRecord { Seq = seq, Ts = ts, Actor = actor, Action = action, EntityType = entityType, EntityId = entityId, BeforeJson = beforeJson, AfterJson = afterJson, PrevHash = prev };
        rec.Hash = ComputeHash(rec);
        await conn.ExecuteAsync("""
            INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, before_json, after_json, prev_hash, hash)
            VALUES (@Seq, @Ts, @Actor, @Action, @EntityType, @EntityId, @BeforeJson, @AfterJson, @PrevHash, @Hash)
            """, rec, tx);
        if (seq % config.Current.Audit.CheckpointEvery == 0) await WriteCheckpointAsync(conn, tx, seq, rec.Hash);
    }

    public async Task<AuditCheckpoint?> CheckpointAsync(CancellationToken ct = default) =>
        await db.WriteAsync(async (conn, tx) =>
        {
            var last = await conn.QueryFirstOrDefaultAsync<ChainHead>(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
            if (last is null) return null;
            var existing = await conn.QuerySingleOrDefaultAsync<long?>("SELECT MAX(seq) FROM audit_checkpoints", transaction: tx);
            if (existing == last.Seq) return null;
            return await WriteCheckpointAsync(conn, tx, last.Seq, last.Hash);
        }, ct);

    private async Task<AuditCheckpoint> WriteCheckpointAsync(DbConnection conn, DbTransaction tx, long seq, string hash)
    {
        var ts = time.GetUtcNow().ToUnixTimeMilliseconds();
        var sig = key.Sign($"{seq}|{hash}|{ts}");
        await conn.ExecuteAsync("INSERT INTO audit_checkpoints (seq, hash, ts, signature) VALUES (@seq, @hash, @ts, @sig)", new { seq, hash, ts, sig }, tx);
        return new AuditCheckpoint(seq, hash, ts, sig);
    }

    public static string ComputeHash(AuditRecord r)
    {
        var canonical = string.Join('\u001f', r.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
            r.Ts.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Actor, r.Action, r.EntityType, r.EntityId,
            r.BeforeJson ?? "\u0000", r.AfterJson ?? "\u0000", r.PrevHash);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(long afterSeq, int limit, CancellationToken ct = default) =>
        await db.ReadAsync(async conn => (await conn.QueryAsync<AuditRecord>(
            "SELECT * FROM audit_log WHERE seq > @afterSeq ORDER BY seq LIMIT @limit", new { afterSeq, limit })).AsList(), ct);

    /// <summary>Walks the whole chain and every checkpoint.</summary>
    public async Task<AuditVerification> VerifyAsync(CancellationToken ct = default)
    {
        return await db.ReadAsync(async conn =>
        {
            var problems = new List<string>();
            var records = 0L;
            var prevHash = Genesis;
            var expectedSeq = 1L;
            var hashesBySeq = new Dictionary<long, string>();
            long lastSeq = 0;
            // Stored order is by rowid/insertion for SQLite; we read by seq and check the chain links.
            foreach (var r in await conn.QueryAsync<AuditRecord>("SELECT * FROM audit_log ORDER BY seq"))
            {
                records++;
                if (r.Seq != expectedSeq)
                {
                    problems.Add(r.Seq > expectedSeq
                        ? $"record {expectedSeq}{(r.Seq - expectedSeq > 1 ? $"-{r.Seq - 1}" : "")} missing (deleted): sequence jumps to {r.Seq}"
                        : $"record {r.Seq} out of order");
                }
                if (!string.Equals(r.PrevHash, prevHash, StringComparison.Ordinal))
                    problems.Add($"record {r.Seq}: previous-hash link broken (records deleted or reordered before it)");
                var computed = ComputeHash(r);
                if (!string.Equals(computed, r.Hash, StringComparison.Ordinal))
                    problems.Add($"record {r.Seq}: content does not match its hash (record edited)");
                prevHash = r.Hash;
                hashesBySeq[r.Seq] = r.Hash;
                expectedSeq = r.Seq + 1;
                lastSeq = r.Seq;
            }
            var checkpoints = (await conn.QueryAsync<AuditCheckpoint>("SELECT seq, hash, ts, signature FROM audit_checkpoints ORDER BY seq")).AsList();
            foreach (var cp in checkpoints)
            {
                if (!key.Verify($"{cp.Seq}|{cp.Hash}|{cp.Ts}", cp.Signature))
                {
                    problems.Add($"checkpoint at record {cp.Seq}: signature invalid (checkpoint forged or edited)");
                    continue;
                }
                if (!hashesBySeq.TryGetValue(cp.Seq, out var h))
                    problems.Add(cp.Seq > lastSeq
                        ? $"log truncated: signed checkpoint covers record {cp.Seq} but the log ends at {lastSeq}"
                        : $"checkpoint at record {cp.Seq}: record missing");
                else if (!string.Equals(h, cp.Hash, StringComparison.Ordinal))
                    problems.Add($"checkpoint at record {cp.Seq}: chain hash differs from the signed one (history rewritten)");
            }
            return new AuditVerification(problems.Count == 0, records, lastSeq, checkpoints.Count, checkpoints.Count > 0 ? checkpoints[^1].Seq : 0, problems);
        }, ct);
    }
}

public sealed class AuditRecord
{
    public long Seq { get; set; }
    public long Ts { get; set; }
    public string Actor { get; set; } = "";
    public string Action { get; set; } = "";
    public string EntityType { get; set; } = "";
    public string EntityId { get; set; } = "";
    public string? BeforeJson { get; set; }
    public string? AfterJson { get; set; }
    public string PrevHash { get; set; } = "";
    public string Hash { get; set; } = "";
}

public sealed class ChainHead
{
    public long Seq { get; set; }
    public string Hash { get; set; } = "";
}

public sealed record AuditCheckpoint(long Seq, string Hash, long Ts, string Signature);

public sealed record AuditVerification(bool Ok, long Records, long LastSeq, int Checkpoints, long LastCheckpointSeq, IReadOnlyList<string> Problems);

/// <summary>The HMAC key that signs audit checkpoints, kept in the data directory (mode 0600).</summary>
public sealed class AuditKey
{
    private readonly byte[] _key;

    public AuditKey(byte[] key) => _key = key;

    public static AuditKey LoadOrCreate(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, "audit.key");
        if (File.Exists(path)) return new AuditKey(Convert.FromBase64String(File.ReadAllText(path).Trim()));
        var key = RandomNumberGenerator.GetBytes(32);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, Convert.ToBase64String(key));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, path, overwrite: false);
        return new AuditKey(key);
    }

    public string Sign(string message) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(message)));

    public bool Verify(string message, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(message)), Encoding.ASCII.GetBytes(signature));
}

/// <summary>Writes a signed checkpoint of the chain head periodically.</summary>
public sealed class AuditCheckpointWorker(AuditLog audit, ConfigHolder config, TimeProvider time, ILogger<AuditCheckpointWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(config.Current.Audit.CheckpointInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await audit.CheckpointAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Audit checkpoint failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
