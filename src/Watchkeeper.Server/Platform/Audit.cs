using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// Append-only, keyed hash chain. Each record's hash is an HMAC-SHA256 (with <c>DATA/audit.key</c>) over its
/// content and the previous record's hash, so nobody without the key can edit a record and rehash the chain.
/// The log starts with a keyed genesis record (or, for logs written before keyed hashes, a keyed re-anchor
/// record that pins the old SHA-256 chain's head), so an emptied or rewritten log does not verify.
/// Checkpoints (every <c>checkpoint_every</c> records, every <c>checkpoint_interval</c> and at start) are
/// signed, carry the record count and chain to each other, so deleting checkpoints breaks their chain or leaves
/// a gap. The head (sequence and hash) is also published outside the database (server log, metrics) for
/// <c>wk audit verify --expect SEQ:HASH</c>. Records are written in the same transaction as the change they describe.
/// </summary>
public sealed class AuditLog(Db db, TimeProvider time, AuditKey key, ConfigHolder config, ILogger<AuditLog> logger)
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";
    public const string GenesisAction = "audit.genesis";
    public const string ReanchorAction = "audit.reanchor";
    /// <summary>Checkpoints written before keyed chains (signed over seq|hash|ts, not chained).</summary>
    public const string LegacyKind = "legacy";
    /// <summary>How many hex digits of the head hash the metric label carries; <c>--expect</c> takes at least 8.</summary>
    public const int HeadLabelLength = 16;
    private const int AdvisoryLock = 727002;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly Lock _gate = new();
    private ChainHead? _head;            // latest head this process knows of (published)
    private ChainHead? _lastAppended;    // last record this process wrote (committed)
    private string? _lastCheckpointSig;  // last checkpoint this process wrote (committed)
    private long _lastCheckpointSeq;

    /// <summary>The latest head this server knows of (its own writes and its checkpoints), for the log and metrics.</summary>
    public ChainHead? Head
    {
        get { lock (_gate) return _head; }
    }

    private TimeSpan Interval => config.Current.Audit.CheckpointInterval.Value;

    /// <summary>The longest a running server goes without writing a checkpoint before verification reports it.</summary>
    public TimeSpan MaxCheckpointGap => Interval * 2 + TimeSpan.FromMinutes(1);

    /// <summary>Appends a record inside the caller's transaction.</summary>
    public async Task AppendAsync(DbConnection conn, DbTransaction tx, string actor, string action, string entityType, string entityId,
        object? before, object? after)
    {
        await LockAsync(conn, tx);
        var last = await conn.QueryFirstOrDefaultAsync<ChainHead>(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
        var seq = (last?.Seq ?? 0) + 1;
        var prev = last?.Hash ?? Genesis;
        var ts = time.GetUtcNow().ToUnixTimeMilliseconds();
        var beforeJson = before is null ? null : JsonSerializer.Serialize(before, Json);
        var afterJson = after is null ? null : JsonSerializer.Serialize(after, Json);
        var rec = new AuditRecord { Seq = seq, Ts = ts, Actor = actor, Action = action, EntityType = entityType, EntityId = entityId, BeforeJson = beforeJson, AfterJson = afterJson, PrevHash = prev };
        rec.Hash = KeyedHash(rec);
        await conn.ExecuteAsync("""
            INSERT INTO audit_log (seq, ts, actor, action, entity_type, entity_id, before_json, after_json, prev_hash, hash)
            VALUES (@Seq, @Ts, @Actor, @Action, @EntityType, @EntityId, @BeforeJson, @AfterJson, @PrevHash, @Hash)
            """, rec, tx);
        var head = new ChainHead { Seq = seq, Hash = rec.Hash };
        db.OnCommit(tx, () =>
        {
            lock (_gate)
            {
                if (_lastAppended is null || seq > _lastAppended.Seq) _lastAppended = head;
                if (_head is null || seq > _head.Seq) _head = head;
            }
        });
        if (seq % config.Current.Audit.CheckpointEvery == 0) await WriteCheckpointAsync(conn, tx, "count", head);
    }

    private async Task LockAsync(DbConnection conn, DbTransaction tx)
    {
        // Serialises appends and checkpoints across replicas; released at commit.
        if (db.Provider == DbProvider.Postgres) await conn.ExecuteAsync($"SELECT pg_advisory_xact_lock({AdvisoryLock})", transaction: tx);
    }

    /// <summary>Writes a checkpoint of the current head (also when nothing was appended since: the checkpoints are the log's heartbeat).</summary>
    public async Task<AuditCheckpoint?> CheckpointAsync(string kind = "manual", CancellationToken ct = default) =>
        await db.WriteAsync(async (conn, tx) =>
        {
            await LockAsync(conn, tx);
            var last = await conn.QueryFirstOrDefaultAsync<ChainHead>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
            return last is null ? null : await WriteCheckpointAsync(conn, tx, kind, last);
        }, ct);

    private async Task<AuditCheckpoint> WriteCheckpointAsync(DbConnection conn, DbTransaction tx, string kind, ChainHead head)
    {
        var ts = time.GetUtcNow().ToUnixTimeMilliseconds();
        var prev = await conn.QueryFirstOrDefaultAsync<AuditCheckpoint>(
            $"SELECT seq, hash, ts, signature, kind, records, prev_signature AS prevsignature, anomaly FROM audit_checkpoints WHERE kind <> '{LegacyKind}' ORDER BY id DESC LIMIT 1", transaction: tx);
        var anomalies = new List<string>();
        // What this server wrote itself must still be there: a deleted tail or deleted checkpoints are recorded, signed, in this checkpoint.
        ChainHead? mine;
        string? myCp;
        long myCpSeq;
        lock (_gate)
        {
            mine = _lastAppended;
            myCp = _lastCheckpointSig;
            myCpSeq = _lastCheckpointSeq;
        }
        if (mine is not null)
        {
            var h = await conn.QuerySingleOrDefaultAsync<string?>("SELECT hash FROM audit_log WHERE seq = @Seq", mine, tx);
            if (h is null) anomalies.Add($"record #{mine.Seq} written by this server is missing (the log was truncated to #{head.Seq})");
            else if (!string.Equals(h, mine.Hash, StringComparison.Ordinal)) anomalies.Add($"record #{mine.Seq} differs from what this server wrote");
        }
        if (myCp is not null && await conn.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_checkpoints WHERE signature = @myCp", new { myCp }, tx) == 0)
            anomalies.Add($"the checkpoint at record #{myCpSeq} written by this server is missing (checkpoints deleted)");
        if (kind is not ("start" or "genesis" or "anchor") && prev is not null && ts - prev.Ts > MaxCheckpointGap.TotalMilliseconds && anomalies.Count == 0)
            kind = "resume"; // the server was paused or the database unreachable; nothing it wrote is missing
        var cp = new AuditCheckpoint(head.Seq, head.Hash, ts, "", kind, head.Seq, prev?.Signature ?? "", anomalies.Count == 0 ? null : string.Join("; ", anomalies));
        cp = cp with { Signature = key.Sign(CheckpointMessage(cp)) };
        await conn.ExecuteAsync("""
            INSERT INTO audit_checkpoints (seq, hash, ts, signature, kind, records, prev_signature, anomaly)
            VALUES (@Seq, @Hash, @Ts, @Signature, @Kind, @Records, @PrevSignature, @Anomaly)
            """, cp, tx);
        db.OnCommit(tx, () =>
        {
            lock (_gate)
            {
                _lastCheckpointSig = cp.Signature;
                _lastCheckpointSeq = cp.Seq;
                if (_head is null || cp.Seq >= _head.Seq) _head = head;
            }
            if (cp.Anomaly is not null) logger.LogError("Audit log tampered with: {Anomaly}", cp.Anomaly);
            // The head, outside the database: compare with `wk audit verify --expect SEQ:HASH`.
            logger.LogInformation("Audit checkpoint ({Kind}): head {Seq}:{Hash} ({Records} records)", cp.Kind, cp.Seq, cp.Hash, cp.Records);
        });
        return cp;
    }

    private static string CheckpointMessage(AuditCheckpoint cp) =>
        string.Join('|', "cp2", cp.Kind, cp.Seq.ToString(CultureInfo.InvariantCulture), cp.Hash, cp.Records.ToString(CultureInfo.InvariantCulture),
            cp.Ts.ToString(CultureInfo.InvariantCulture), cp.PrevSignature, cp.Anomaly ?? "");

    private static string LegacyCheckpointMessage(AuditCheckpoint cp) => $"{cp.Seq}|{cp.Hash}|{cp.Ts}";

    private static string Canonical(AuditRecord r) => string.Join('\u001f', r.Seq.ToString(CultureInfo.InvariantCulture),
        r.Ts.ToString(CultureInfo.InvariantCulture), r.Actor, r.Action, r.EntityType, r.EntityId,
        r.BeforeJson ?? "\u0000", r.AfterJson ?? "\u0000", r.PrevHash);

    /// <summary>The unkeyed SHA-256 record hash of logs written before keyed chains (anyone can compute it).</summary>
    public static string ComputeHash(AuditRecord r) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(r))));

    /// <summary>The record hash: HMAC-SHA256 with the audit key.</summary>
    public string KeyedHash(AuditRecord r) => key.Sign("rec2\u001f" + Canonical(r));

    /// <summary>
    /// Run once at start, after the migrations: writes the genesis record of a new log, re-anchors a log written
    /// before keyed chains (migration 3), or writes a start checkpoint; reports an emptied log.
    /// </summary>
    public async Task InitializeAsync(bool keyedChainMigratedNow, CancellationToken ct = default)
    {
        var (action, legacyNote) = await db.WriteAsync<(string, object?)>(async (conn, tx) =>
        {
            await LockAsync(conn, tx);
            var last = await conn.QueryFirstOrDefaultAsync<ChainHead>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
            if (last is null)
            {
                if (!key.Created && !keyedChainMigratedNow) return ("empty", null);
                await AppendAsync(conn, tx, "watchkeeper", GenesisAction, "audit", "log", null, new { key = key.Id, note = "audit log started" });
                var g = await conn.QueryFirstAsync<ChainHead>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
                await WriteCheckpointAsync(conn, tx, "genesis", g);
                return ("genesis", null);
            }
            if (keyedChainMigratedNow)
            {
                // Existing chain: check it as it stands, record the outcome in a keyed record that pins its head.
                var legacy = await LegacyProblemsAsync(conn, tx);
                var note = new
                {
                    note = "records up to this one were hash-chained with unkeyed SHA-256; from here on every record hash is an HMAC with the audit key",
                    legacy_head_seq = last.Seq, legacy_head_hash = last.Hash, legacy_problems = legacy, key = key.Id,
                };
                await AppendAsync(conn, tx, "watchkeeper", ReanchorAction, "audit", "log", null, note);
                var a = await conn.QueryFirstAsync<ChainHead>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", transaction: tx);
                await WriteCheckpointAsync(conn, tx, "anchor", a);
                return ("reanchor", note);
            }
            lock (_gate) _head = last;
            await WriteCheckpointAsync(conn, tx, "start", last);
            return ("start", null);
        }, ct);
        if (action == "empty")
            logger.LogError("The audit log is empty although {Key} exists: the log was emptied; 'wk audit verify' reports it", "audit.key");
        else if (action == "reanchor")
            logger.LogWarning("Audit log re-anchored to the audit key: {Note}", JsonSerializer.Serialize(legacyNote, Json));
    }

    private async Task<List<string>> LegacyProblemsAsync(DbConnection conn, DbTransaction tx)
    {
        var problems = new List<string>();
        var prev = Genesis;
        var expected = 1L;
        foreach (var r in await conn.QueryAsync<AuditRecord>("SELECT * FROM audit_log ORDER BY seq", transaction: tx))
        {
            if (r.Seq != expected) problems.Add($"record {expected}: sequence jumps to {r.Seq}");
            if (!string.Equals(r.PrevHash, prev, StringComparison.Ordinal)) problems.Add($"record {r.Seq}: previous-hash link broken");
            if (!string.Equals(ComputeHash(r), r.Hash, StringComparison.Ordinal)) problems.Add($"record {r.Seq}: content does not match its hash");
            prev = r.Hash;
            expected = r.Seq + 1;
        }
        return problems;
    }

    public async Task<IReadOnlyList<AuditRecord>> ListAsync(long afterSeq, int limit, CancellationToken ct = default) =>
        await db.ReadAsync(async conn => (await conn.QueryAsync<AuditRecord>(
            "SELECT * FROM audit_log WHERE seq > @afterSeq ORDER BY seq LIMIT @limit", new { afterSeq, limit })).AsList(), ct);

    /// <summary>Parses <c>SEQ:HASH</c> (HASH: at least 8 hex digits of the record hash).</summary>
    public static bool TryParseExpect(string s, out long seq, out string hash)
    {
        seq = 0;
        hash = "";
        var i = s.IndexOf(':', StringComparison.Ordinal);
        if (i <= 0 || !long.TryParse(s.AsSpan(0, i), NumberStyles.None, CultureInfo.InvariantCulture, out seq) || seq < 1) return false;
        hash = s[(i + 1)..].Trim().ToLowerInvariant();
        return hash.Length is >= 8 and <= 64 && hash.All(char.IsAsciiHexDigit);
    }

    /// <summary>Walks the whole chain and every checkpoint; with <paramref name="expect"/> also checks that the log holds that head.</summary>
    public async Task<AuditVerification> VerifyAsync(string? expect = null, CancellationToken ct = default)
    {
        long expectSeq = 0;
        var expectHash = "";
        if (expect is not null && !TryParseExpect(expect, out expectSeq, out expectHash))
            throw new ValidationException("expect", $"'{expect}' is not SEQ:HASH (a sequence number and at least 8 hex digits of its hash)");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await db.ReadAsync(async conn =>
        {
            var problems = new List<string>();
            var records = 0L;
            var prevHash = Genesis;
            var expectedSeq = 1L;
            var hashesBySeq = new Dictionary<long, string>();
            long lastSeq = 0;
            long anchorSeq = 0;
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
                var keyed = key.Verify("rec2\u001f" + Canonical(r), r.Hash);
                if (anchorSeq == 0)
                {
                    if (keyed && r.Action is GenesisAction or ReanchorAction)
                    {
                        anchorSeq = r.Seq;
                        if (r.Action == GenesisAction && r.Seq != 1) problems.Add($"record {r.Seq}: a genesis record must be record 1");
                    }
                    else if (keyed)
                    {
                        problems.Add($"record {r.Seq}: the log does not start with its genesis record (the records before it were deleted)");
                        anchorSeq = r.Seq;
                    }
                    else if (!string.Equals(ComputeHash(r), r.Hash, StringComparison.Ordinal))
                    {
                        problems.Add($"record {r.Seq}: content does not match its hash (record edited)");
                    }
                }
                else if (!keyed)
                {
                    problems.Add($"record {r.Seq}: content does not match its hash (record edited)");
                }
                prevHash = r.Hash;
                hashesBySeq[r.Seq] = r.Hash;
                expectedSeq = r.Seq + 1;
                lastSeq = r.Seq;
            }
            if (records == 0)
                problems.Add("the audit log is empty, but a server that has an audit key has written its genesis record: the log was emptied");
            else if (anchorSeq == 0)
                problems.Add("no record is signed with the audit key (no genesis or re-anchor record): the log was rewritten");

            var checkpoints = (await conn.QueryAsync<AuditCheckpoint>(
                "SELECT seq, hash, ts, signature, kind, records, prev_signature AS prevsignature, anomaly FROM audit_checkpoints ORDER BY id")).AsList();
            AuditCheckpoint? prevCp = null;
            var keyedCheckpoints = 0;
            foreach (var cp in checkpoints)
            {
                var legacy = cp.Kind == LegacyKind;
                if (!key.Verify(legacy ? LegacyCheckpointMessage(cp) : CheckpointMessage(cp), cp.Signature))
                {
                    problems.Add($"checkpoint at record {cp.Seq}: signature invalid (checkpoint forged or edited)");
                    if (!legacy) prevCp = cp;
                    continue;
                }
                if (!hashesBySeq.TryGetValue(cp.Seq, out var h))
                    problems.Add(cp.Seq > lastSeq
                        ? $"log truncated: signed checkpoint covers record {cp.Seq} but the log ends at {lastSeq}"
                        : $"checkpoint at record {cp.Seq}: record missing");
                else if (!string.Equals(h, cp.Hash, StringComparison.Ordinal))
                    problems.Add($"checkpoint at record {cp.Seq}: chain hash differs from the signed one (history rewritten)");
                if (legacy) continue;
                keyedCheckpoints++;
                if (cp.Anomaly is not null) problems.Add($"checkpoint at record {cp.Seq}: {cp.Anomaly}");
                if (prevCp is null)
                {
                    if (cp.Kind is not ("genesis" or "anchor"))
                        problems.Add($"checkpoint at record {cp.Seq}: the first checkpoint is not the genesis checkpoint (earlier checkpoints deleted)");
                }
                else
                {
                    if (!string.Equals(cp.PrevSignature, prevCp.Signature, StringComparison.Ordinal))
                        problems.Add($"checkpoint at record {cp.Seq}: does not chain to the checkpoint before it (checkpoints deleted)");
                    if (cp.Seq < prevCp.Seq) problems.Add($"checkpoint at record {cp.Seq}: goes back from record {prevCp.Seq}");
                    if (cp.Kind is not ("start" or "resume") && cp.Ts - prevCp.Ts > MaxCheckpointGap.TotalMilliseconds)
                        problems.Add($"no checkpoint between {Stamp(prevCp.Ts)} and {Stamp(cp.Ts)} (one is written every {config.Current.Audit.CheckpointInterval}): checkpoints deleted");
                }
                prevCp = cp;
            }
            if (records > 0 && keyedCheckpoints == 0)
                problems.Add("no checkpoint signed with the audit key: checkpoints deleted");
            else if (prevCp is not null && now - prevCp.Ts > MaxCheckpointGap.TotalMilliseconds)
                problems.Add($"the last checkpoint is from {Stamp(prevCp.Ts)}, and one is written every {config.Current.Audit.CheckpointInterval}: the log's tail and its checkpoints were deleted, or checkpoints are not being written");

            // What this server wrote itself (since it started) must still be there.
            ChainHead? mine;
            lock (_gate) mine = _lastAppended;
            if (mine is not null)
            {
                if (!hashesBySeq.TryGetValue(mine.Seq, out var h)) problems.Add($"record {mine.Seq} written by this server is missing: the log ends at {lastSeq} (tail deleted)");
                else if (!string.Equals(h, mine.Hash, StringComparison.Ordinal)) problems.Add($"record {mine.Seq} differs from what this server wrote");
            }
            if (expect is not null)
            {
                if (!hashesBySeq.TryGetValue(expectSeq, out var h))
                    problems.Add($"expected head {expectSeq}:{expectHash} is not in the log: the log ends at {lastSeq} (tail deleted)");
                else if (!h.StartsWith(expectHash, StringComparison.Ordinal))
                    problems.Add($"expected head {expectSeq}:{expectHash} differs: record {expectSeq} has hash {h[..HeadLabelLength]}… (history rewritten)");
            }
            return new AuditVerification(problems.Count == 0, records, lastSeq, checkpoints.Count,
                checkpoints.Count > 0 ? checkpoints[^1].Seq : 0, lastSeq > 0 ? hashesBySeq[lastSeq] : null, problems);
        }, ct);
    }

    private static string Stamp(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Publishes the head as metrics: <c>watchkeeper_audit_head_sequence</c> and <c>watchkeeper_audit_head_info{hash}</c>.</summary>
    public void RegisterMetrics(SelfMetrics metrics) => metrics.AddCollector((w, _) =>
    {
        var head = Head;
        w.Header("watchkeeper_audit_head_sequence", "Sequence number of the newest audit record this server knows of (compare with 'wk audit verify --expect SEQ:HASH').", "gauge");
        w.Sample("watchkeeper_audit_head_sequence", [], [], head?.Seq ?? 0);
        w.Header("watchkeeper_audit_head_info", "The newest audit record's sequence number and hash prefix, as labels.", "gauge");
        if (head is not null)
            w.Sample("watchkeeper_audit_head_info", ["seq", "hash"], [head.Seq.ToString(CultureInfo.InvariantCulture), head.Hash[..HeadLabelLength]], 1);
        return Task.CompletedTask;
    });
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

/// <summary>A signed checkpoint: the head (sequence, hash and record count), its kind, the previous checkpoint's signature, and what the server found missing if anything.</summary>
public sealed record AuditCheckpoint(long Seq, string Hash, long Ts, string Signature, string Kind, long Records, string PrevSignature, string? Anomaly);

public sealed record AuditVerification(bool Ok, long Records, long LastSeq, int Checkpoints, long LastCheckpointSeq, string? HeadHash, IReadOnlyList<string> Problems);

/// <summary>The HMAC key that hashes audit records and signs checkpoints, kept in the data directory (mode 0600).</summary>
public sealed class AuditKey
{
    private readonly byte[] _key;

    public AuditKey(byte[] key, bool created = false)
    {
        _key = key;
        Created = created;
        Id = Sign("watchkeeper audit key id")[..16];
    }

    /// <summary>True when this start created the key (a new data directory).</summary>
    public bool Created { get; }

    /// <summary>A public fingerprint of the key, recorded in the genesis record.</summary>
    public string Id { get; }

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
        return new AuditKey(key, created: true);
    }

    public string Sign(string message) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(message)));

    public bool Verify(string message, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(message)), Encoding.ASCII.GetBytes(signature));
}

/// <summary>Writes a signed checkpoint of the chain head every interval.</summary>
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
                    await audit.CheckpointAsync("interval", stoppingToken);
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
