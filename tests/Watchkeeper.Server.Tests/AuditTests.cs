using System.Net;
using System.Text.Json;
using Dapper;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

public sealed class AuditTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");

    private static async Task<TestServer> Start(string provider)
    {
        TestServer.SkipUnlessAvailable(provider == "postgres");
        return await TestServer.StartAsync(provider == "postgres");
    }

    private static JsonElement? Json(string? s) => s is null ? null : JsonDocument.Parse(s).RootElement.Clone();

    [Theory, MemberData(nameof(IncidentStorageTests.Providers), MemberType = typeof(IncidentStorageTests))]
    public async Task Every_change_writes_an_audit_record_with_who_what_and_before_after(string provider)
    {
        await using var s = await Start(provider);
        var log = s.Get<AuditLog>();
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var (rita, token) = await s.NewUserAsync("responder", "rita");
        using var c = s.Client(token);
        long seen = (await log.ListAsync(0, 1000)).Max(r => r.Seq);

        // Runs one change and returns the audit records it wrote.
        async Task<AuditRecord> Change(Func<Task> act, string action, string entityType, string? entityId = null)
        {
            await act();
            var recs = await log.ListAsync(seen, 100);
            Assert.True(recs.Count >= 1, $"{action}: no audit record written");
            seen = recs[^1].Seq;
            var rec = Assert.Single(recs, r => r.Action == action);
            Assert.Equal(entityType, rec.EntityType);
            if (entityId is not null) Assert.Equal(entityId, rec.EntityId);
            Assert.Equal(s.Time.GetUtcNow().ToUnixTimeMilliseconds(), rec.Ts);
            return rec;
        }

        var id = 0L;
        var r = await Change(async () => id = (await c.Post("/api/v1/incidents", new { title = "Disk full", severity = "SEV3" }, HttpStatusCode.Created)).Long("id"),
            "incident.create", "incident", "1");
        Assert.Equal(rita, r.Actor);
        Assert.Null(r.BeforeJson);
        Assert.Equal("Disk full", Json(r.AfterJson)!.Value.GetProperty("title").GetString());

        r = await Change(() => c.Patch($"/api/v1/incidents/{id}", new { summary = "root volume at 100%" }), "incident.update", "incident", "1");
        Assert.Equal(rita, r.Actor);
        Assert.Equal("", Json(r.BeforeJson)!.Value.GetProperty("summary").GetString());
        Assert.Equal("root volume at 100%", Json(r.AfterJson)!.Value.GetProperty("summary").GetString());

        r = await Change(() => c.Post($"/api/v1/incidents/{id}/acknowledge"), "incident.acknowledge", "incident");
        Assert.Equal(JsonValueKind.Null, Json(r.BeforeJson)!.Value.GetProperty("acknowledgedAt").ValueKind);
        Assert.Equal(s.Time.GetUtcNow().ToUnixTimeMilliseconds(), Json(r.AfterJson)!.Value.GetProperty("acknowledgedAt").GetInt64());

        r = await Change(() => c.Post($"/api/v1/incidents/{id}/status", new { status = "identified" }), "incident.status", "incident");
        Assert.Equal("investigating", Json(r.BeforeJson)!.Value.GetProperty("status").GetString());
        Assert.Equal("identified", Json(r.AfterJson)!.Value.GetProperty("status").GetString());

        r = await Change(() => c.Put($"/api/v1/incidents/{id}/roles", new { commander = "alice" }), "incident.assign", "incident");
        Assert.Equal("alice", Json(r.AfterJson)!.Value.GetProperty("commander").GetString());

        r = await Change(() => c.Post($"/api/v1/incidents/{id}/notes", new { text = "cleaning /var/log" }, HttpStatusCode.Created), "incident.note", "incident");
        Assert.Equal("cleaning /var/log", Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("text").GetString());

        r = await Change(() => c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = "freeing space", visibility = "public" }, HttpStatusCode.Created),
            "incident.status_update", "incident");
        Assert.Equal("freeing space", Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("current_status").GetString());

        var item = (await c.Get($"/api/v1/incidents/{id}/checklist")).Items("phases")[0].Items("items")[0].Long("id");
        r = await Change(() => c.Post($"/api/v1/incidents/{id}/checklist/{item}", new { done = true }), "incident.checklist", "incident");
        Assert.False(Json(r.BeforeJson)!.Value.GetProperty("detail").GetProperty("done").GetBoolean());
        Assert.True(Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("done").GetBoolean());
        Assert.Equal(rita, Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("done_by").GetString());

        r = await Change(() => c.Post($"/api/v1/incidents/{id}/resolve"), "incident.status", "incident");
        Assert.Equal("resolved", Json(r.AfterJson)!.Value.GetProperty("status").GetString());

        r = await Change(() => c.Put($"/api/v1/incidents/{id}/postmortem", new { root_cause = "log rotation off" }), "incident.postmortem", "incident");
        Assert.Equal(JsonValueKind.Null, Json(r.BeforeJson)!.Value.GetProperty("detail").ValueKind);
        Assert.Equal("log rotation off", Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("root_cause").GetString());
        r = await Change(() => c.Put($"/api/v1/incidents/{id}/postmortem", new { root_cause = "logrotate disabled" }), "incident.postmortem", "incident");
        Assert.Equal("log rotation off", Json(r.BeforeJson)!.Value.GetProperty("detail").GetProperty("root_cause").GetString());
        Assert.Equal("logrotate disabled", Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("root_cause").GetString());

        var ai = 0L;
        r = await Change(async () => ai = (await c.Post($"/api/v1/incidents/{id}/action-items", new { title = "Enable logrotate", owner = "alice" }, HttpStatusCode.Created)).Long("id"),
            "incident.action_item", "incident");
        Assert.Equal("Enable logrotate", Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("title").GetString());
        r = await Change(() => c.Patch($"/api/v1/incidents/{id}/action-items/{ai}", new { status = "done" }), "incident.action_item", "incident");
        Assert.Equal("open", Json(r.BeforeJson)!.Value.GetProperty("detail").GetProperty("status").GetString());
        Assert.Equal("done", Json(r.AfterJson)!.Value.GetProperty("detail").GetProperty("status").GetString());

        r = await Change(() => c.Post($"/api/v1/incidents/{id}/reopen"), "incident.status", "incident");
        Assert.Equal("resolved", Json(r.BeforeJson)!.Value.GetProperty("status").GetString());

        // Users and tokens.
        r = await Change(() => admin.Post("/api/v1/users", new { username = "olga", password = "olga-password", role = "viewer" }, HttpStatusCode.Created), "user.create", "user", "olga");
        Assert.Equal("admin", r.Actor);
        Assert.DoesNotContain("olga-password", r.AfterJson, StringComparison.Ordinal);
        r = await Change(() => admin.Patch("/api/v1/users/olga", new { role = "responder" }), "user.update", "user", "olga");
        Assert.Equal("viewer", Json(r.BeforeJson)!.Value.GetProperty("role").GetString());
        Assert.Equal("responder", Json(r.AfterJson)!.Value.GetProperty("role").GetString());
        r = await Change(() => admin.Patch("/api/v1/users/olga", new { password = "another-password" }), "user.password", "user", "olga");
        Assert.DoesNotContain("another-password", r.AfterJson, StringComparison.Ordinal);
        var tokenId = 0L;
        r = await Change(async () => tokenId = (await c.Post("/api/v1/tokens", new { name = "laptop" }, HttpStatusCode.Created)).Long("id"), "token.create", "token");
        Assert.Equal(rita, r.Actor);
        r = await Change(() => c.Send(HttpMethod.Delete, $"/api/v1/tokens/{tokenId}", expect: HttpStatusCode.NoContent), "token.revoke", "token", tokenId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Null(r.AfterJson);

        // A breach is written by the system.
        s.Time.Advance(TimeSpan.FromDays(2));
        r = await Change(() => s.Get<Watchkeeper.Server.Incidents.IncidentService>().CheckSlaAsync(), "incident.sla_breach", "incident");
        Assert.Equal("watchkeeper", r.Actor);

        // A refused change writes nothing.
        var before = (await log.ListAsync(0, 1000)).Count;
        await c.Patch($"/api/v1/incidents/{id}", new { severity = "SEV9" }, HttpStatusCode.BadRequest);
        await c.Post($"/api/v1/incidents/{id}/status", new { status = "monitoring" }, HttpStatusCode.OK);
        await c.Post($"/api/v1/incidents/{id}/status", new { status = "monitoring" }, HttpStatusCode.Conflict);
        Assert.Equal(before + 1, (await log.ListAsync(0, 1000)).Count);

        // The checkpoint worker is off in tests: write the checkpoint it would have written during the two days.
        await admin.Post("/api/v1/audit/checkpoint");
        var verify = await admin.Get("/api/v1/audit/verify");
        Assert.True(verify.Bool("ok"), verify.ToString());
        // The key that signs checkpoints is readable by the server's user only.
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(s.DataDir, "audit.key")));
    }

    public static readonly TheoryData<string, string> Tampering = new()
    {
        { "sqlite", "edit" }, { "sqlite", "reorder" }, { "sqlite", "delete" }, { "sqlite", "truncate" }, { "sqlite", "rehash" },
        { "postgres", "edit" }, { "postgres", "reorder" }, { "postgres", "delete" }, { "postgres", "truncate" }, { "postgres", "rehash" },
    };

    [Theory, MemberData(nameof(Tampering))]
    public async Task Verify_passes_on_an_intact_log_and_detects_tampering_done_in_the_database(string provider, string tamper)
    {
        await using var s = await Start(provider);
        using var c = s.Client(await s.AdminApiTokenAsync());
        for (var i = 0; i < 3; i++)
        {
            var id = (await c.Post("/api/v1/incidents", new { title = $"incident {i}", severity = "SEV3" }, HttpStatusCode.Created)).Long("id");
            await c.Post($"/api/v1/incidents/{id}/notes", new { text = "looking" }, HttpStatusCode.Created);
        }
        var cp = await c.Post("/api/v1/audit/checkpoint");
        var log = s.Get<AuditLog>();
        var intact = await log.VerifyAsync();
        Assert.True(intact.Ok, string.Join("; ", intact.Problems));
        Assert.Equal(cp.Long("seq"), intact.LastSeq);
        Assert.Equal(2, intact.Checkpoints); // the genesis checkpoint and this one
        var last = intact.LastSeq;
        Assert.True(last >= 8, $"only {last} records");
        Assert.True((await c.Get("/api/v1/audit/verify")).Bool("ok"));

        var db = s.Get<Db>();
        async Task Sql(string sql) => await db.WriteAsync((conn, tx) => conn.ExecuteAsync(sql, transaction: tx));
        string expected;
        switch (tamper)
        {
            case "edit":
                await Sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4");
                expected = "record 4: content does not match its hash";
                break;
            case "reorder":
                await Sql("UPDATE audit_log SET seq = -1 WHERE seq = 4");
                await Sql("UPDATE audit_log SET seq = 4 WHERE seq = 5");
                await Sql("UPDATE audit_log SET seq = 5 WHERE seq = -1");
                expected = "record 4: previous-hash link broken";
                break;
            case "delete":
                await Sql("DELETE FROM audit_log WHERE seq = 4");
                expected = "record 4 missing";
                break;
            case "truncate":
                await Sql($"DELETE FROM audit_log WHERE seq > {last - 2}");
                expected = $"log truncated: signed checkpoint covers record {last} but the log ends at {last - 2}";
                break;
            default:
                // Rewrite a record and recompute every later hash: the chain is consistent again, only the signed checkpoint knows.
                var recs = (await log.ListAsync(0, 1000)).ToList();
                var prev = AuditLog.Genesis;
                foreach (var rec in recs)
                {
                    if (rec.Seq == 2) rec.Actor = "mallory";
                    rec.PrevHash = prev;
                    rec.Hash = AuditLog.ComputeHash(rec);
                    prev = rec.Hash;
                    await db.WriteAsync((conn, tx) => conn.ExecuteAsync("UPDATE audit_log SET actor = @Actor, prev_hash = @PrevHash, hash = @Hash WHERE seq = @Seq", rec, tx));
                }
                expected = $"checkpoint at record {last}: chain hash differs from the signed one";
                break;
        }
        var v = await log.VerifyAsync();
        Assert.False(v.Ok);
        Assert.Contains(v.Problems, p => p.Contains(expected, StringComparison.Ordinal));
        var api = await c.Get("/api/v1/audit/verify");
        Assert.False(api.Bool("ok"));
    }

    [Theory, MemberData(nameof(IncidentStorageTests.Providers), MemberType = typeof(IncidentStorageTests))]
    public async Task A_forged_checkpoint_is_detected_and_checkpoints_are_written_every_n_records(string provider)
    {
        TestServer.SkipUnlessAvailable(provider == "postgres");
        await using var s = await TestServer.StartAsync(provider == "postgres", y => y.Replace("checkpoint_every: 100", "checkpoint_every: 5", StringComparison.Ordinal));
        using var c = s.Client(await s.AdminApiTokenAsync());
        for (var i = 0; i < 6; i++) await c.Post("/api/v1/incidents", new { title = $"incident {i}", severity = "SEV4" }, HttpStatusCode.Created);
        var v = await s.Get<AuditLog>().VerifyAsync();
        Assert.True(v.Ok, string.Join("; ", v.Problems));
        // The genesis checkpoint and one at every 5th record (how many records a declaration writes is not this test's concern).
        Assert.True(v.LastSeq >= 6, $"{v.LastSeq} records");
        Assert.Equal(1 + v.LastSeq / 5, v.Checkpoints);
        Assert.Equal(v.LastSeq / 5 * 5, v.LastCheckpointSeq);
        var cp = await c.Post("/api/v1/audit/checkpoint");
        Assert.Equal(v.LastSeq, cp.Long("seq"));

        await s.Get<Db>().WriteAsync((conn, tx) => conn.ExecuteAsync("UPDATE audit_checkpoints SET seq = 6 WHERE seq = 5", transaction: tx));
        v = await s.Get<AuditLog>().VerifyAsync();
        Assert.False(v.Ok);
        Assert.Contains(v.Problems, p => p.Contains("signature invalid", StringComparison.Ordinal));
    }
}
