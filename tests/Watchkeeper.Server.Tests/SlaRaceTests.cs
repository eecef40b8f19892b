using System.Diagnostics;
using System.Net;
using Dapper;
using Watchkeeper.Server.Incidents;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>Interleavings between the SLA checker and incident changes, made deterministic with PostgreSQL row locks.</summary>
public sealed class SlaRaceTests
{
    [Fact]
    public async Task Sla_check_does_not_record_a_breach_for_an_incident_acknowledged_while_it_ran()
    {
        TestServer.SkipUnlessAvailable(true);
        var t0 = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
        await using var s = await TestServer.StartAsync(postgres: true, start: t0);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await c.Post("/api/v1/incidents", new { title = "Racy", severity = "SEV1" }, HttpStatusCode.Created)).Long("id");
        s.Time.Advance(TimeSpan.FromMinutes(6)); // the 5m response target has passed: the checker will find it

        var db = s.Get<Db>();
        await using var conn = await db.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        // Hold the incident row the way a concurrent writer does, and let the checker start.
        await conn.ExecuteAsync("SELECT id FROM incidents WHERE id = @id FOR UPDATE", new { id }, tx);
        var check = Task.Run(() => s.Get<IncidentService>().CheckSlaAsync());

        // Wait until the checker has scanned and is blocked on the row.
        var sw = Stopwatch.StartNew();
        await using (var probe = await db.OpenAsync())
        {
            while (await probe.ExecuteScalarAsync<long>(
                       "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == 0)
            {
                if (check.IsCompleted) break;
                if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail("the SLA check never reached the incident row");
                await Task.Delay(10);
            }
        }
        // Meanwhile the incident was acknowledged in time (at 4 minutes).
        var ackAt = t0.AddMinutes(4).ToUnixTimeMilliseconds();
        await conn.ExecuteAsync("UPDATE incidents SET acknowledged_at = @ackAt, version = version + 1 WHERE id = @id", new { ackAt, id }, tx);
        await tx.CommitAsync();

        await check;
        Assert.Empty((await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items());
        Assert.False((await c.Get($"/api/v1/incidents/{id}")).GetProperty("response_sla").Bool("breached"));
    }
}
