using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Server.Monitoring;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

/// <summary>The restore procedure of docs/backups.md, performed end to end with wk on both storage providers.</summary>
public sealed class BackupCommandTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");

    private static readonly Labels Series = Labels.Of("__name__", "backup_probe_total", "job", "backup-test");

    private static async Task<WkResult> Local(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await WkApp.RunAsync(args, o, e, new Dictionary<string, string?>(), null, TimeProvider.System, TestContext.Current.CancellationToken);
        return new WkResult(code, o.ToString(), e.ToString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Backup_wipe_restore_and_start_brings_back_incidents_and_series(string provider)
    {
        var postgres = provider == "postgres";
        TestServer.SkipUnlessAvailable(postgres);
        var root = Directory.CreateTempSubdirectory("wk-backup-").FullName;
        var data = Path.Combine(root, "data");
        var pgBefore = postgres ? await TestServer.CreatePostgresDatabaseAsync() : null;
        var pgAfter = postgres ? await TestServer.CreatePostgresDatabaseAsync() : null;
        try
        {
            string folder;
            long sampleT;
            await using (var s = await TestServer.StartAsync(postgres, dataDir: data, pgDatabase: pgBefore))
            {
                var wk = await new Wk(s).LoginAsync();
                Assert.Equal(0, (await wk.RunAsync("incident", "start", "--title", "Disk filling up on db-1", "--severity", "SEV3")).Code);
                sampleT = s.Time.GetUtcNow().ToUnixTimeMilliseconds();
                var app = s.Get<MetricsRuntime>().Store.Appender();
                for (var i = 0; i < 10; i++) Assert.Equal(AppendResult.Ok, app.Append(Series, sampleT - (9 - i) * 15_000, i));
                app.Commit();

                var created = await wk.JsonAsync("backup", "create", "--reason", "before the upgrade");
                folder = created.GetProperty("folder").GetString()!;
                Assert.StartsWith("watchkeeper-20261102T090000Z", created.GetProperty("name").GetString(), StringComparison.Ordinal);
                Assert.Equal(postgres ? "postgres" : "sqlite", created.GetProperty("database_provider").GetString());
                Assert.True(File.Exists(Path.Combine(folder, "manifest.json")));
                Assert.True(File.Exists(Path.Combine(folder, "SHA256SUMS")));
                Assert.True(File.Exists(Path.Combine(folder, postgres ? "database/watchkeeper.pgdump" : "database/watchkeeper.db")));
                Assert.True(File.Exists(Path.Combine(folder, "data", "audit.key")));

                var list = await wk.JsonAsync("backup", "list");
                Assert.Equal(created.GetProperty("name").GetString(), Assert.Single(list.EnumerateArray()).GetProperty("name").GetString());
                var verified = await wk.RunAsync("backup", "verify", folder);
                Assert.True(verified.Code == 0, verified.ToString());
                Assert.Contains("intact", verified.Out);
                var byName = await wk.RunAsync("backup", "verify", created.GetProperty("name").GetString()!);
                Assert.True(byName.Code == 0, byName.ToString());

                // The server holds the data directory: restore refuses to touch it.
                var running = await Local("backup", "restore", folder, "--data", data, "--force");
                Assert.Equal(1, running.Code);
                Assert.Contains("in use by a running watchkeeper", running.Err);
            }

            // The documented procedure keeps backups off the data directory's disk: copy the folder away first.
            var kept = Path.Combine(root, "offsite", Path.GetFileName(folder));
            Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
            Directory.Move(folder, kept);
            folder = kept;
            // Wipe: the data directory (and, for PostgreSQL, a new empty database stands in for the lost one).
            Directory.Delete(data, recursive: true);
            string[] pgArgs = postgres
                ? ["--postgres", Server.Backups.BackupService.Conninfo(new NpgsqlConnectionStringBuilder(TestServer.PostgresConnectionStringFor(pgAfter!)))]
                : [];
            var restored = await Local(["backup", "restore", folder, "--data", data, .. pgArgs]);
            Assert.True(restored.Code == 0, restored.ToString());
            Assert.Contains("Restored backup watchkeeper-20261102T090000Z", restored.Out);

            // Restoring again over the restored data is refused without --force, and allowed with it.
            var again = await Local(["backup", "restore", folder, "--data", data, .. pgArgs]);
            Assert.Equal(1, again.Code);
            Assert.Contains("refusing to overwrite", again.Err);
            Assert.Single(again.Err.TrimEnd().Split('\n'));
            var forced = await Local(["backup", "restore", folder, "--data", data, "--force", .. pgArgs]);
            Assert.True(forced.Code == 0, forced.ToString());

            await using (var s = await TestServer.StartAsync(postgres, dataDir: data, pgDatabase: pgAfter))
            {
                using var c = s.Client(await s.AdminApiTokenAsync());
                var incidents = await c.GetFromJsonAsync<JsonElement>("/api/v1/incidents", TestContext.Current.CancellationToken);
                Assert.Equal("Disk filling up on db-1", Assert.Single(incidents.GetProperty("items").EnumerateArray()).GetProperty("title").GetString());
                var q = await c.GetFromJsonAsync<JsonElement>(
                    $"/prometheus/api/v1/query?query=backup_probe_total&time={sampleT / 1000}", TestContext.Current.CancellationToken);
                var result = Assert.Single(q.GetProperty("data").GetProperty("result").EnumerateArray());
                Assert.Equal("9", result.GetProperty("value")[1].GetString());
                // The audit chain came back with its key: it still verifies.
                var audit = await c.GetFromJsonAsync<JsonElement>("/api/v1/audit/verify", TestContext.Current.CancellationToken);
                Assert.True(audit.GetProperty("ok").GetBoolean(), audit.ToString());
            }
        }
        finally
        {
            if (pgBefore is not null) await TestServer.DropPostgresDatabaseAsync(pgBefore);
            if (pgAfter is not null) await TestServer.DropPostgresDatabaseAsync(pgAfter);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Verify_names_the_corrupted_and_the_missing_file_and_restore_refuses_the_backup()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var folder = (await wk.JsonAsync("backup", "create")).GetProperty("folder").GetString()!;

        var db = Path.Combine(folder, "database", "watchkeeper.db");
        var bytes = await File.ReadAllBytesAsync(db, TestContext.Current.CancellationToken);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(db, bytes, TestContext.Current.CancellationToken);
        File.Delete(Path.Combine(folder, "data", "audit.key"));

        var r = await wk.RunAsync("backup", "verify", folder);
        Assert.Equal(5, r.Code);
        Assert.Contains("database/watchkeeper.db: SHA-256 does not match the manifest (corrupted)", r.Out);
        Assert.Contains("data/audit.key: missing", r.Out);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
        Assert.Contains("data/audit.key: missing (and 1 more)", r.Err);

        // The server's view of the same backup says the same.
        var remote = await wk.RunAsync("backup", "verify", Path.GetFileName(folder), "--output", "json");
        Assert.Equal(5, remote.Code);
        Assert.False(remote.Json.GetProperty("ok").GetBoolean());
        Assert.Equal(2, remote.Json.GetProperty("problems").GetArrayLength());

        var target = Path.Combine(Path.GetTempPath(), "wk-restore-" + Guid.NewGuid().ToString("N")[..8]);
        var restore = await Local("backup", "restore", folder, "--data", target);
        Assert.Equal(5, restore.Code);
        Assert.Contains("failed verification", restore.Err);
        Assert.False(Directory.Exists(Path.Combine(target, "tsdb")));
    }

    [Fact]
    public async Task Backups_api_is_admin_only_and_an_unknown_backup_is_a_problem()
    {
        await using var s = await TestServer.StartAsync();
        using var responder = await s.ClientAsAsync("responder");
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await responder.PostAsJsonAsync("/api/v1/backups", new { }, TestContext.Current.CancellationToken)).StatusCode);
        using var admin = s.Client(await s.AdminApiTokenAsync());
        var missing = await admin.GetAsync("/api/v1/backups/watchkeeper-19990101T000000Z/verify", TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        var bad = await admin.GetAsync("/api/v1/backups/..%2Fetc/verify", TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
        var tooLong = await admin.PostAsJsonAsync("/api/v1/backups", new { reason = new string('x', 501) }, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("reason", await tooLong.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Empty(await admin.GetFromJsonAsync<JsonElement[]>("/api/v1/backups", TestContext.Current.CancellationToken) ?? []);
    }
}
