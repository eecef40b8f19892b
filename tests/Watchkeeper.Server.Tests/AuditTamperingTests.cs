using System.Globalization;
using System.Net;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Tampering done with write access to the database but without <c>audit.key</c>: each must make
/// verification fail (issue 9, defect 3), on SQLite and on PostgreSQL.
/// </summary>
public sealed class AuditTamperingTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");

    /// <summary>A data directory (and PostgreSQL database) that survives server restarts.</summary>
    private sealed class Deployment(bool postgres, string root, string? pg) : IAsyncDisposable
    {
        public string DataDir => Path.Combine(root, "data");
        public DateTimeOffset Now { get; set; } = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

        public static async Task<Deployment> CreateAsync(string provider)
        {
            var postgres = provider == "postgres";
            TestServer.SkipUnlessAvailable(postgres);
            return new Deployment(postgres, Directory.CreateTempSubdirectory("wk-audit-").FullName, postgres ? await TestServer.CreatePostgresDatabaseAsync() : null);
        }

        public Task<TestServer> StartAsync(Func<string, string>? edit = null) =>
            TestServer.StartAsync(postgres, edit, start: Now, dataDir: DataDir, pgDatabase: pg);

        public async Task StopAsync(TestServer s)
        {
            Now = s.Time.GetUtcNow();
            await s.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (pg is not null) await TestServer.DropPostgresDatabaseAsync(pg);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static async Task Sql(TestServer s, string sql, object? args = null) =>
        await s.Get<Db>().WriteAsync((conn, tx) => conn.ExecuteAsync(sql, args, tx));

    /// <summary>A few changes, then a checkpoint: an intact log with records after the genesis.</summary>
    private static async Task<HttpClient> ActivityAsync(TestServer s, int incidents = 3)
    {
        var c = s.Client(await s.AdminApiTokenAsync());
        for (var i = 0; i < incidents; i++)
        {
            var id = (await c.Post("/api/v1/incidents", new { title = $"incident {i}", severity = "SEV3" }, HttpStatusCode.Created)).Long("id");
            await c.Post($"/api/v1/incidents/{id}/notes", new { text = "looking" }, HttpStatusCode.Created);
        }
        await c.Post("/api/v1/audit/checkpoint");
        var v = await s.Get<AuditLog>().VerifyAsync();
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        return c;
    }

    /// <summary>What an attacker without the key can do: recompute the unkeyed SHA-256 chain over the stored records.</summary>
    private static async Task RehashWithSha256Async(TestServer s, Action<AuditRecord> edit, long fromSeq = 1, long toSeq = long.MaxValue)
    {
        var recs = (await s.Get<AuditLog>().ListAsync(0, 1000)).ToList();
        var prev = AuditLog.Genesis;
        foreach (var rec in recs)
        {
            if (rec.Seq >= fromSeq && rec.Seq <= toSeq)
            {
                edit(rec);
                rec.PrevHash = prev;
                rec.Hash = AuditLog.ComputeHash(rec);
                await Sql(s, "UPDATE audit_log SET actor = @Actor, after_json = @AfterJson, prev_hash = @PrevHash, hash = @Hash WHERE seq = @Seq", rec);
            }
            prev = rec.Hash;
        }
    }

    private static async Task<AuditVerification> AssertTampered(TestServer s, string expected, string? expect = null)
    {
        var v = await s.Get<AuditLog>().VerifyAsync(expect);
        Assert.False(v.Ok, "verification passed on a tampered log");
        Assert.Contains(v.Problems, p => p.Contains(expected, StringComparison.Ordinal));
        return v;
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Deleting_every_checkpoint_and_recomputing_the_chain_after_an_edit_is_detected(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        await using var s = await d.StartAsync();
        await ActivityAsync(s);
        await Sql(s, "DELETE FROM audit_checkpoints");
        await RehashWithSha256Async(s, r => { if (r.Seq == 4) r.Actor = "mallory"; });
        var v = await AssertTampered(s, "no record is signed with the audit key");
        Assert.Contains(v.Problems, p => p.Contains("no checkpoint signed with the audit key", StringComparison.Ordinal));
        // Rehashing only from the edit on (keeping the keyed genesis) fails on the first rehashed record.
        await using var s2 = await TestServer.StartAsync(provider == "postgres");
        await ActivityAsync(s2);
        await Sql(s2, "DELETE FROM audit_checkpoints");
        await RehashWithSha256Async(s2, r => { if (r.Seq == 4) r.Actor = "mallory"; }, fromSeq: 4);
        await AssertTampered(s2, "record 4: content does not match its hash");
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Editing_after_the_last_checkpoint_and_rehashing_is_detected(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        await using var s = await d.StartAsync();
        var c = await ActivityAsync(s);
        var lastCheckpoint = (await s.Get<AuditLog>().VerifyAsync()).LastCheckpointSeq;
        await c.Post("/api/v1/incidents", new { title = "after the checkpoint", severity = "SEV4" }, HttpStatusCode.Created);
        await c.Post("/api/v1/incidents", new { title = "after the checkpoint too", severity = "SEV4" }, HttpStatusCode.Created);
        var edited = lastCheckpoint + 1;
        await RehashWithSha256Async(s, r => r.Actor = "mallory", fromSeq: edited);
        await AssertTampered(s, $"record {edited}: content does not match its hash");
        var api = await c.Get("/api/v1/audit/verify");
        Assert.False(api.Bool("ok"));
    }

    private static async Task<(long Seq, string Hash)> PublishedHeadAsync(TestServer s)
    {
        using var c = s.Client();
        var text = await c.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith("watchkeeper_audit_head_info{", StringComparison.Ordinal));
        var seq = long.Parse(line.Split("seq=\"")[1].Split('"')[0], CultureInfo.InvariantCulture);
        var hash = line.Split("hash=\"")[1].Split('"')[0];
        var gauge = text.Split('\n').Single(l => l.StartsWith("watchkeeper_audit_head_sequence ", StringComparison.Ordinal));
        Assert.Equal(seq.ToString(CultureInfo.InvariantCulture), gauge.Split(' ')[1]);
        return (seq, hash);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Deleting_the_tail_is_detected_by_the_running_server_and_by_the_published_head_after_a_restart(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        var s = await d.StartAsync();
        (long Seq, string Hash) head;
        try
        {
            var c = await ActivityAsync(s);
            await c.Post("/api/v1/incidents", new { title = "after the checkpoint", severity = "SEV4" }, HttpStatusCode.Created);
            head = await PublishedHeadAsync(s);
            var v = await s.Get<AuditLog>().VerifyAsync();
            Assert.Equal(v.LastSeq, head.Seq);
            Assert.StartsWith(head.Hash, v.HeadHash, StringComparison.Ordinal);
            Assert.True((await s.Get<AuditLog>().VerifyAsync($"{head.Seq}:{head.Hash}")).Ok);

            // The records after the last checkpoint go: the chain that remains is consistent.
            await Sql(s, "DELETE FROM audit_log WHERE seq > @last", new { last = v.LastCheckpointSeq });
            await AssertTampered(s, $"record {head.Seq} written by this server is missing: the log ends at {v.LastCheckpointSeq}");
            await AssertTampered(s, $"expected head {head.Seq}:{head.Hash} is not in the log: the log ends at {v.LastCheckpointSeq}", $"{head.Seq}:{head.Hash}");
            // The next checkpoint records, signed, that the tail went missing.
            await c.Post("/api/v1/audit/checkpoint");
        }
        finally
        {
            await d.StopAsync(s);
        }

        await using var s2 = await d.StartAsync();
        var after = await s2.Get<AuditLog>().VerifyAsync();
        Assert.Contains(after.Problems, p => p.Contains($"record #{head.Seq} written by this server is missing", StringComparison.Ordinal));
        // Without that checkpoint, a restarted server still fails the published head.
        await Sql(s2, "DELETE FROM audit_checkpoints WHERE anomaly IS NOT NULL OR kind = 'start'");
        await AssertTampered(s2, $"expected head {head.Seq}:{head.Hash} is not in the log", $"{head.Seq}:{head.Hash}");
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Deleting_the_tail_with_its_checkpoints_leaves_a_stale_last_checkpoint(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        await using var s = await d.StartAsync();
        var c = await ActivityAsync(s);
        var keep = (await s.Get<AuditLog>().VerifyAsync()).LastSeq;
        // An hour of activity, checkpointed every 5 minutes as the worker does.
        for (var i = 0; i < 12; i++)
        {
            s.Time.Advance(TimeSpan.FromMinutes(5));
            await c.Post("/api/v1/incidents", new { title = $"later {i}", severity = "SEV4" }, HttpStatusCode.Created);
            await s.Get<AuditLog>().CheckpointAsync("interval");
        }
        Assert.True((await s.Get<AuditLog>().VerifyAsync()).Ok);
        await Sql(s, "DELETE FROM audit_log WHERE seq > @keep", new { keep });
        await Sql(s, "DELETE FROM audit_checkpoints WHERE seq > @keep", new { keep });
        await AssertTampered(s, "the last checkpoint is from 2026-11-02 09:00:00Z");
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Emptying_the_log_is_detected_before_and_after_a_restart(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        var s = await d.StartAsync();
        try
        {
            await ActivityAsync(s);
            await Sql(s, "DELETE FROM audit_log");
            var v = await AssertTampered(s, "the audit log is empty");
            Assert.Equal(0, v.Records);
            await Sql(s, "DELETE FROM audit_checkpoints");
            await AssertTampered(s, "the audit log is empty");
        }
        finally
        {
            await d.StopAsync(s);
        }

        // The key exists, so a restarted server does not start a new log: the emptied one stays reported.
        await using var s2 = await d.StartAsync();
        await AssertTampered(s2, "the audit log is empty");
        using var c = s2.Client(await s2.AdminApiTokenAsync());
        await c.Post("/api/v1/incidents", new { title = "after the wipe", severity = "SEV4" }, HttpStatusCode.Created);
        await AssertTampered(s2, "record 1: the log does not start with its genesis record");
        Assert.False((await c.Get("/api/v1/audit/verify")).Bool("ok"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Deleting_checkpoints_in_the_middle_breaks_the_checkpoint_chain(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        await using var s = await d.StartAsync();
        var c = await ActivityAsync(s);
        await c.Post("/api/v1/incidents", new { title = "x", severity = "SEV4" }, HttpStatusCode.Created);
        var cp = await c.Post("/api/v1/audit/checkpoint");
        await c.Post("/api/v1/audit/checkpoint");
        await Sql(s, "DELETE FROM audit_checkpoints WHERE signature = @sig", new { sig = cp.Str("signature") });
        await AssertTampered(s, "does not chain to the checkpoint before it (checkpoints deleted)");
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task An_existing_unkeyed_chain_is_re_anchored_once_with_a_recorded_note(string provider)
    {
        await using var d = await Deployment.CreateAsync(provider);
        var s = await d.StartAsync();
        long legacyHead;
        try
        {
            await ActivityAsync(s, incidents: 2);
            // Turn the database back into what the previous version wrote: an unkeyed SHA-256 chain without a
            // genesis record, checkpoints signed over seq|hash|ts, and no migrations 3 and 4.
            await Sql(s, "DELETE FROM audit_log WHERE seq = 1");
            await Sql(s, "UPDATE audit_log SET seq = seq - 1");
            await RehashWithSha256Async(s, _ => { });
            await Sql(s, "DELETE FROM audit_checkpoints");
            var key = new AuditKey(Convert.FromBase64String(File.ReadAllText(Path.Combine(d.DataDir, "audit.key")).Trim()));
            var last = (await s.Get<AuditLog>().ListAsync(0, 1000))[^1];
            legacyHead = last.Seq;
            var ts = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
            await Sql(s, "INSERT INTO audit_checkpoints (seq, hash, ts, signature) VALUES (@Seq, @Hash, @ts, @sig)",
                new { last.Seq, last.Hash, ts, sig = key.Sign($"{last.Seq}|{last.Hash}|{ts}") });
            await Sql(s, "DROP INDEX ix_incidents_updated");
            await Sql(s, "DROP INDEX ix_sla_breaches_breached");
            foreach (var col in new[] { "kind", "records", "prev_signature", "anomaly" }) await Sql(s, $"ALTER TABLE audit_checkpoints DROP COLUMN {col}");
            await Sql(s, "DELETE FROM schema_migrations WHERE version IN (3, 4)"); // as before the keyed chain; later migrations stay
        }
        finally
        {
            await d.StopAsync(s);
        }

        await using var s2 = await d.StartAsync();
        var v = await s2.Get<AuditLog>().VerifyAsync();
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        var anchor = (await s2.Get<AuditLog>().ListAsync(0, 1000)).Single(r => r.Action == AuditLog.ReanchorAction);
        Assert.Equal(legacyHead + 1, anchor.Seq);
        var note = JsonDocument.Parse(anchor.AfterJson!).RootElement;
        Assert.Equal(legacyHead, note.GetProperty("legacy_head_seq").GetInt64());
        Assert.Equal(0, note.GetProperty("legacy_problems").GetArrayLength());
        Assert.Contains("unkeyed SHA-256", note.GetProperty("note").GetString(), StringComparison.Ordinal);

        // The re-anchor pins the old chain: rewriting it (consistently, with SHA-256) is now detected.
        await RehashWithSha256Async(s2, r => { if (r.Seq == 2) r.Actor = "mallory"; }, toSeq: legacyHead);
        await AssertTampered(s2, $"record {anchor.Seq}: previous-hash link broken");
    }
}
