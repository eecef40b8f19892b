using System.Diagnostics;
using System.Net;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// The real <c>watchkeeper</c> binary as a child process: what it acknowledged with a 2xx must survive
/// <c>kill -9</c> and be there after a restart on the same data directory.
/// </summary>
public sealed class DurabilityTests
{
    private const string Password = "durable-admin-password";

    private static async Task Until(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Theory, MemberData(nameof(IncidentStorageTests.Providers), MemberType = typeof(IncidentStorageTests))]
    public async Task Acknowledged_writes_survive_kill_9_and_a_restart(string provider)
    {
        var postgres = provider == "postgres";
        TestServer.SkipUnlessAvailable(postgres);
        var root = Directory.CreateTempSubdirectory("wk-durable-").FullName;
        var data = Path.Combine(root, "data");
        var pgDb = postgres ? await TestServer.CreatePostgresDatabaseAsync() : null;
        try
        {
            var config = TestServer.CopyConfig(root, pgDb is null ? null : y => y.Replace("storage: {}",
                $"storage:\n  postgres:\n    connection_string: \"{TestServer.PostgresConnectionStringFor(pgDb)}\"", StringComparison.Ordinal));

            string token;
            var expected = new List<(long Id, string Title, string Update, string Note)>();
            await using (var first = await ChildServer.StartAsync(config, data, Password))
            {
                using (var anon = first.Client())
                    token = (await anon.Post("/api/v1/auth/login", new { username = "admin", password = Password })).Str("token");
                using var c = first.Client(token);
                for (var i = 0; i < 3; i++)
                {
                    var id = (await c.Post("/api/v1/incidents", new { title = $"durable incident {i}", severity = "SEV2" }, HttpStatusCode.Created)).Long("id");
                    await c.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = $"investigating {i}", visibility = "public" }, HttpStatusCode.Created);
                    await c.Post($"/api/v1/incidents/{id}/notes", new { text = $"note {i}" }, HttpStatusCode.Created);
                    expected.Add((id, $"durable incident {i}", $"investigating {i}", $"note {i}"));
                }
                // A burst of concurrent writes, then the kill right after the last 2xx.
                var burst = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
                {
                    using var bc = first.Client(token);
                    var id = (await bc.Post("/api/v1/incidents", new { title = $"burst {i}", severity = "SEV4" }, HttpStatusCode.Created)).Long("id");
                    await bc.Post($"/api/v1/incidents/{id}/status-updates", new { current_status = $"burst update {i}" }, HttpStatusCode.Created);
                    return (id, $"burst {i}", $"burst update {i}", "");
                }));
                expected.AddRange(burst);
                var last = await c.Post($"/api/v1/incidents/{expected[0].Id}/resolve", new { message = "last acknowledged write" });
                await first.KillAsync();
                Assert.Equal("resolved", last.Str("status"));
            }

            await using var second = await ChildServer.StartAsync(config, data, Password);
            using var r = second.Client(token);
            Assert.Equal(expected.Count, (await r.Get("/api/v1/incidents?limit=100")).Long("total"));
            foreach (var (id, title, update, note) in expected)
            {
                var inc = await r.Get($"/api/v1/incidents/{id}");
                Assert.Equal(title, inc.Str("title"));
                var updates = (await r.Get($"/api/v1/incidents/{id}/status-updates")).Items();
                // The resolved incident also carries the final public update its resolution posted.
                Assert.Equal(id == expected[0].Id ? 2 : 1, updates.Count);
                var posted = Assert.Single(updates, u => u.Str("current_status") == update);
                Assert.Contains(update, posted.Str("body"), StringComparison.Ordinal);
                if (note.Length > 0)
                    Assert.Contains((await r.Get($"/api/v1/incidents/{id}/timeline")).Items(), t => t.Str("kind") == "note" && t.Str("message") == note);
            }
            Assert.Equal("resolved", (await r.Get($"/api/v1/incidents/{expected[0].Id}")).Str("status"));
            var verify = await r.Get("/api/v1/audit/verify");
            Assert.True(verify.Bool("ok"), verify.ToString());
            // The admin was created once, with the password from the environment.
            Assert.Single((await r.Get("/api/v1/users")).Items());

            // SIGHUP reloads the configuration file; a broken file is refused and the running config kept.
            static async Task<double> Sev1(HttpClient h) => (await h.Get("/api/v1/severities")).Items().Single(x => x.Str("id") == "SEV1").Dbl("response_seconds");
            var original = await File.ReadAllTextAsync(config);
            await File.WriteAllTextAsync(config, original.Replace("response_time: 5m", "response_time: five", StringComparison.Ordinal));
            second.SendSighup();
            await Until(() => second.Output.Contains("Configuration reload failed", StringComparison.Ordinal), "the failed reload to be logged");
            Assert.Equal(300, await Sev1(r));
            await File.WriteAllTextAsync(config, original.Replace("response_time: 5m", "response_time: 7m", StringComparison.Ordinal));
            second.SendSighup();
            var sw = Stopwatch.StartNew();
            while (await Sev1(r) != 420)
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail("SIGHUP did not reload the configuration");
                await Task.Delay(20);
            }
        }
        finally
        {
            if (pgDb is not null) await TestServer.DropPostgresDatabaseAsync(pgDb);
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }
}
