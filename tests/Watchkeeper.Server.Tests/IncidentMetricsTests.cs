using System.Globalization;
using System.Net;
using Dapper;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>
/// Incident metrics are kept up to date on write, not computed per scrape (issue 9, defect 11): the values
/// always equal what the database says, across the lifecycle and restarts, and a scrape reads no incident.
/// </summary>
public sealed class IncidentMetricsTests
{
    public static readonly TheoryData<string> Providers = new("sqlite", "postgres");

    private static async Task<Dictionary<string, double>> ScrapeAsync(TestServer s)
    {
        using var c = s.Client();
        var text = await c.GetStringAsync("/metrics");
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("watchkeeper_incident", StringComparison.Ordinal)) continue;
            var i = line.LastIndexOf(' ');
            d[line[..i]] = double.Parse(line[(i + 1)..], CultureInfo.InvariantCulture);
        }
        return d;
    }

    private sealed record Row(string Severity, string Status, long DetectedAt, long? AcknowledgedAt, long? ResolvedAt);

    /// <summary>The metrics as the database defines them (what the scrape-time collector used to compute).</summary>
    private static async Task<Dictionary<string, double>> TruthAsync(TestServer s)
    {
        var sevs = s.Get<ConfigHolder>().Current.Severities.Select(x => x.Id).ToArray();
        var (rows, breaches) = await s.Get<Db>().ReadAsync(async c => (
            (await c.QueryAsync<(string, string, long, long?, long?)>("SELECT severity, status, detected_at, acknowledged_at, resolved_at FROM incidents"))
                .Select(r => new Row(r.Item1, r.Item2, r.Item3, r.Item4, r.Item5)).ToList(),
            (await c.QueryAsync<(string, string)>("SELECT severity, kind FROM sla_breaches")).ToList()));
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var sev in sevs)
        {
            d[$"watchkeeper_incidents_open{{severity=\"{sev}\"}}"] = rows.Count(r => r.Severity == sev && r.Status != "resolved");
            foreach (var k in new[] { "response", "resolution" })
                d[$"watchkeeper_incident_sla_breaches_total{{severity=\"{sev}\",kind=\"{k}\"}}"] = breaches.Count(b => b.Item1 == sev && b.Item2 == k);
            void Hist(string name, double[] bounds, IEnumerable<double> values)
            {
                var v = values.ToList();
                foreach (var b in bounds) d[$"{name}_bucket{{severity=\"{sev}\",le=\"{MetricsWriter.Format(b)}\"}}"] = v.Count(x => x <= b);
                d[$"{name}_bucket{{severity=\"{sev}\",le=\"+Inf\"}}"] = v.Count;
                d[$"{name}_sum{{severity=\"{sev}\"}}"] = v.Sum();
                d[$"{name}_count{{severity=\"{sev}\"}}"] = v.Count;
            }
            Hist("watchkeeper_incident_response_seconds", IncidentMetrics.ResponseBuckets,
                rows.Where(r => r.Severity == sev && r.AcknowledgedAt is not null).Select(r => (r.AcknowledgedAt!.Value - r.DetectedAt) / 1000.0));
            Hist("watchkeeper_incident_resolution_seconds", IncidentMetrics.ResolutionBuckets,
                rows.Where(r => r.Severity == sev && r.ResolvedAt is not null).Select(r => (r.ResolvedAt!.Value - r.DetectedAt) / 1000.0));
        }
        return d;
    }

    private static async Task AssertMatchesDatabase(TestServer s, string step)
    {
        var got = await ScrapeAsync(s);
        var want = await TruthAsync(s);
        Assert.Equal(want.Keys.Order(StringComparer.Ordinal), got.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, v) in want)
            Assert.True(Math.Abs(got[k] - v) < 1e-6, $"{step}: {k} is {got[k]}, the database says {v}");
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Incident_metrics_follow_every_lifecycle_change_and_survive_a_restart(string provider)
    {
        var pg = provider == "postgres";
        TestServer.SkipUnlessAvailable(pg);
        var root = Directory.CreateTempSubdirectory("wk-metrics-").FullName;
        var data = Path.Combine(root, "data");
        var db = pg ? await TestServer.CreatePostgresDatabaseAsync() : null;
        try
        {
            Dictionary<string, double> before;
            DateTimeOffset now;
            await using (var s = await TestServer.StartAsync(pg, dataDir: data, pgDatabase: db))
            {
                using var c = s.Client(await s.AdminApiTokenAsync());
                await AssertMatchesDatabase(s, "empty");
                var a = (await c.Post("/api/v1/incidents", new { title = "a", severity = "SEV1" }, HttpStatusCode.Created)).Long("id");
                var b = (await c.Post("/api/v1/incidents", new { title = "b", severity = "SEV2" }, HttpStatusCode.Created)).Long("id");
                var inc = (await c.Post("/api/v1/incidents", new { title = "c", severity = "SEV3", detected_at = s.Time.GetUtcNow().AddMinutes(-10) }, HttpStatusCode.Created)).Long("id");
                await AssertMatchesDatabase(s, "created");
                Assert.Equal(1, (await ScrapeAsync(s))["watchkeeper_incidents_open{severity=\"SEV1\"}"]);
                s.Time.Advance(TimeSpan.FromMinutes(5));
                await c.Post($"/api/v1/incidents/{a}/acknowledge");
                await AssertMatchesDatabase(s, "acknowledged");
                Assert.Equal(300, (await ScrapeAsync(s))["watchkeeper_incident_response_seconds_sum{severity=\"SEV1\"}"]);
                s.Time.Advance(TimeSpan.FromMinutes(25));
                await c.Post($"/api/v1/incidents/{a}/resolve");
                await c.Post($"/api/v1/incidents/{inc}/status", new { status = "identified" });
                await AssertMatchesDatabase(s, "resolved");
                Assert.Equal(1, (await ScrapeAsync(s))["watchkeeper_incident_resolution_seconds_bucket{severity=\"SEV1\",le=\"3600\"}"]);
                await c.Post($"/api/v1/incidents/{a}/reopen");
                await AssertMatchesDatabase(s, "reopened");
                Assert.Equal(0, (await ScrapeAsync(s))["watchkeeper_incident_resolution_seconds_count{severity=\"SEV1\"}"]);
                await c.Patch($"/api/v1/incidents/{b}", new { severity = "SEV1" });
                await AssertMatchesDatabase(s, "severity changed");
                s.Time.Advance(TimeSpan.FromDays(2));
                Assert.True(await s.Get<IncidentService>().CheckSlaAsync() > 0);
                await c.Post($"/api/v1/incidents/{b}/resolve");
                await AssertMatchesDatabase(s, "breached");
                // A refused change changes nothing.
                await c.Post($"/api/v1/incidents/{b}/resolve", expect: HttpStatusCode.Conflict);
                await AssertMatchesDatabase(s, "refused");
                before = await ScrapeAsync(s);
                Assert.Equal(2, before["watchkeeper_incident_sla_breaches_total{severity=\"SEV1\",kind=\"resolution\"}"]);
                now = s.Time.GetUtcNow();
            }
            await using (var s = await TestServer.StartAsync(pg, dataDir: data, pgDatabase: db, start: now))
            {
                var after = await ScrapeAsync(s);
                Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
                foreach (var (k, v) in before) Assert.True(Math.Abs(after[k] - v) < 1e-6, $"after restart: {k} is {after[k]}, was {v}");
                await AssertMatchesDatabase(s, "restarted");
            }
        }
        finally
        {
            if (db is not null) await TestServer.DropPostgresDatabaseAsync(db);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task A_scrape_reads_no_incident_from_the_database()
    {
        await using var s = await TestServer.StartAsync();
        using var c = s.Client(await s.AdminApiTokenAsync());
        for (var i = 0; i < 5; i++)
        {
            var id = (await c.Post("/api/v1/incidents", new { title = $"i{i}", severity = "SEV2" }, HttpStatusCode.Created)).Long("id");
            if (i % 2 == 0) await c.Post($"/api/v1/incidents/{id}/resolve");
        }
        var before = await ScrapeAsync(s);
        Assert.Equal(2, before["watchkeeper_incidents_open{severity=\"SEV2\"}"]);
        // With the incident tables out of reach, a scrape that queried them would fail.
        var db = s.Get<Db>();
        await db.WriteAsync((conn, tx) => conn.ExecuteAsync("ALTER TABLE incidents RENAME TO incidents_away; ALTER TABLE sla_breaches RENAME TO sla_breaches_away", transaction: tx));
        try
        {
            Assert.Equal(before, await ScrapeAsync(s));
        }
        finally
        {
            await db.WriteAsync((conn, tx) => conn.ExecuteAsync("ALTER TABLE incidents_away RENAME TO incidents; ALTER TABLE sla_breaches_away RENAME TO sla_breaches", transaction: tx));
        }
    }
}
