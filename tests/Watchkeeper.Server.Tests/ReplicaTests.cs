using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Npgsql;
using Watchkeeper.Server.Tests.Notifications;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Two real <c>watchkeeper</c> processes on one PostgreSQL database: only the lease holder flushes groups and
/// evaluates rules; both receive alerts through the Alertmanager API (as Prometheus sends to every configured
/// Alertmanager); when the leader is killed with SIGKILL the follower takes over and every notification reaches the
/// loopback webhook exactly once (by group key and alert set).
/// </summary>
public sealed class ReplicaTests
{
    private const string Password = "replica-admin-password";

    private static string RouteFile(int hookPort) => $$"""
        route:
          receiver: blackhole
          routes:
            - receiver: hook
              matchers: ['replica_test="yes"']
              group_by: [alertname]
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
        receivers:
          - name: blackhole
          - name: hook
            webhook_configs:
              - url: http://127.0.0.1:{{hookPort}}/hook
                send_resolved: true
        """;

    private static async Task Until(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(30))) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(25);
        }
    }

    private static async Task<string> RoleAsync(ChildServer s)
    {
        using var c = s.Client();
        c.Timeout = TimeSpan.FromSeconds(2);
        using var r = await c.GetAsync("/-/ready");
        return r.Headers.TryGetValues("X-Watchkeeper-Role", out var v) ? v.First() : "";
    }

    private static object Alert(string name, string instance, DateTimeOffset startsAt) => new
    {
        labels = new Dictionary<string, string> { ["alertname"] = name, ["instance"] = instance, ["replica_test"] = "yes" },
        annotations = new Dictionary<string, string> { ["summary"] = $"{name} on {instance}" },
        startsAt,
        endsAt = startsAt.AddHours(1),
    };

    /// <summary>One notification as the receiver saw it: group key, status and the alerts' fingerprints with their status.</summary>
    private static string Key(JsonElement payload) =>
        payload.Str("groupKey") + " " + payload.Str("status") + " [" + string.Join(",", payload.GetProperty("alerts").EnumerateArray()
            .Select(a => a.Str("fingerprint") + ":" + a.Str("status")).Order(StringComparer.Ordinal)) + "]";

    private static async Task<long> ScalarAsync(string db, string sql)
    {
        await using var c = new NpgsqlConnection(TestServer.PostgresConnectionStringFor(db));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Killing_the_leader_hands_over_to_the_follower_and_every_notification_is_delivered_exactly_once()
    {
        TestServer.SkipUnlessAvailable(true);
        var db = await TestServer.CreatePostgresDatabaseAsync();
        var root = Directory.CreateTempSubdirectory("wk-replicas-").FullName;
        await using var hook = await LoopbackReceiver.StartAsync();
        ChildServer? a = null, b = null;
        try
        {
            var config = TestServer.CopyConfig(root, y => y.Replace("storage: {}",
                $"storage:\n  postgres:\n    connection_string: \"{TestServer.PostgresConnectionStringFor(db)}\"\n    lease_interval: 1s", StringComparison.Ordinal));
            await File.WriteAllTextAsync(Path.Combine(root, "config", "alertmanager.yml"), RouteFile(hook.Port));

            var dataA = Path.Combine(root, "a", "data");
            var dataB = Path.Combine(root, "b", "data");
            Directory.CreateDirectory(Path.GetDirectoryName(dataA)!);
            Directory.CreateDirectory(dataB);
            a = await ChildServer.StartAsync(config, dataA, Password);
            await Until(async () => await RoleAsync(a) == "leader", "the first replica to lead");
            // Replicas of one deployment share the audit key (docs/running.md#replicas).
            File.Copy(Path.Combine(dataA, "audit.key"), Path.Combine(dataB, "audit.key"));
            b = await ChildServer.StartAsync(config, dataB, Password);
            Assert.Equal("follower", await RoleAsync(b));

            string token;
            using (var anon = a.Client())
                token = (await anon.Post("/api/v1/auth/login", new { username = "admin", password = Password })).Str("token");
            var replicas = new[] { a, b };

            // As Prometheus does: every alert goes to every Alertmanager it knows; a dead one is skipped.
            async Task PostAsync(IEnumerable<ChildServer> to, params object[] alerts)
            {
                foreach (var s in to)
                {
                    using var c = s.Client(token);
                    await c.Post("/alertmanager/api/v2/alerts", alerts);
                }
            }

            var received = new List<string>();
            Task<bool> Received(int n)
            {
                received = [.. hook.Requests.Where(r => r.Path == "/hook").Select(r => Key(r.Json))];
                return Task.FromResult(received.Distinct().Count() >= n);
            }
            Task<long> Pending() => ScalarAsync(db, "SELECT count(*) FROM notification_outbox WHERE status = 'pending'");

            var t0 = DateTimeOffset.UtcNow;
            var first = Enumerable.Range(1, 4).SelectMany(i => new[] { Alert($"G{i}", "a", t0), Alert($"G{i}", "b", t0) }).ToArray();
            await PostAsync(replicas, first);
            await Until(() => Received(4), "the leader's four notifications");
            await Until(async () => await Pending() == 0, "the outbox to drain");

            // Only the leader evaluates rules; the follower holds the alerts and groups but flushes nothing.
            using (var ca = a.Client(token))
                Assert.NotEmpty((await ca.Get("/prometheus/api/v1/rules")).GetProperty("data").GetProperty("groups").EnumerateArray());
            using (var cb = b.Client(token))
            {
                Assert.Empty((await cb.Get("/prometheus/api/v1/rules")).GetProperty("data").GetProperty("groups").EnumerateArray());
                Assert.Equal(8, (await cb.Get("/alertmanager/api/v2/alerts")).EnumerateArray().Count());
                Assert.Contains("watchkeeper_leader 0", await cb.GetStringAsync("/metrics"), StringComparison.Ordinal);
            }

            // kill -9 the leader while the alerts fire; Prometheus goes on sending to the survivor.
            var killed = Stopwatch.StartNew();
            await a.KillAsync();
            var t1 = DateTimeOffset.UtcNow;
            object[] more = [.. first, Alert("G1", "c", t1), .. Enumerable.Range(5, 3).SelectMany(i => new[] { Alert($"G{i}", "a", t1), Alert($"G{i}", "b", t1) })];
            await PostAsync([b], more);
            await Until(async () => await RoleAsync(b) == "leader", "the follower to take over", TimeSpan.FromSeconds(20));
            var takeover = killed.Elapsed;

            // G1 changed (a third alert) and G5-G7 are new: 4 more notifications; G2-G4 were already sent by the old leader.
            await Until(() => Received(8), "the new leader's notifications");
            await Until(async () => await Pending() == 0, "the outbox to drain after the takeover");
            Assert.Equal(8, await ScalarAsync(db, "SELECT count(*) FROM notification_outbox"));
            received = [.. hook.Requests.Where(r => r.Path == "/hook").Select(r => Key(r.Json))];
            Assert.Equal(8, received.Count);
            Assert.Equal(received.Count, received.Distinct().Count());
            var groups = hook.Requests.Select(r => r.Json).Select(j => (Key: j.Str("groupKey"), Alerts: j.GetProperty("alerts").GetArrayLength())).ToList();
            Assert.Equal(2, groups.Count(g => g.Key.Contains("\"G1\"", StringComparison.Ordinal)));
            Assert.Contains(groups, g => g.Key.Contains("\"G1\"", StringComparison.Ordinal) && g.Alerts == 3);
            foreach (var n in new[] { "G2", "G3", "G4", "G5", "G6", "G7" })
                Assert.Single(groups, g => g.Key.Contains($"\"{n}\"", StringComparison.Ordinal));

            // The new leader evaluates the rules now.
            using (var cb = b.Client(token))
                await Until(async () => (await cb.Get("/prometheus/api/v1/rules")).GetProperty("data").GetProperty("groups").GetArrayLength() > 0,
                    "the new leader to evaluate rules");
            // The bound: the follower takes over within two evaluation intervals (the shipped 15s).
            Assert.True(takeover < TimeSpan.FromSeconds(30), $"takeover took {takeover}");
            TestContext.Current.TestOutputHelper?.WriteLine($"replica takeover after kill -9: {takeover.TotalMilliseconds:F0} ms");
            if (Environment.GetEnvironmentVariable("WK_REPLICA_TAKEOVER_LOG") is { Length: > 0 } log)
                await File.AppendAllTextAsync(log, $"{takeover.TotalMilliseconds:F0}\n");
        }
        finally
        {
            if (a is not null) await a.DisposeAsync();
            if (b is not null) await b.DisposeAsync();
            await TestServer.DropPostgresDatabaseAsync(db);
            try
            {
                Directory.Delete(root, true);
            }
            catch (IOException)
            {
            }
        }
    }
}
