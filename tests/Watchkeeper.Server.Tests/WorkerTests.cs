using System.Diagnostics;
using System.Net;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>The background workers run on the server's clock: advancing the fake clock makes them tick.</summary>
public sealed class WorkerTests
{
    /// <summary>Waits for a background worker's effect; the worker ran when the fake clock was advanced, only its completion is awaited.</summary>
    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Sla_worker_records_breaches_and_checkpoint_worker_signs_the_head_as_the_clock_advances()
    {
        await using var s = await TestServer.StartAsync(workers: true);
        using var c = s.Client(await s.AdminApiTokenAsync());
        var id = (await c.Post("/api/v1/incidents", new { title = "Nobody is looking", severity = "SEV1" }, HttpStatusCode.Created)).Long("id");

        s.Time.Advance(TimeSpan.FromMinutes(4));
        s.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty((await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items());

        s.Time.Advance(TimeSpan.FromSeconds(45)); // past the 5m response target; the worker checks every 15s
        await Eventually(async () => (await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items().Count == 1, "the response breach");
        Assert.Equal("response", (await c.Get($"/api/v1/incidents/{id}/sla-breaches")).Items()[0].Str("kind"));

        // The audit checkpoint worker (every 5m) has signed the chain head by now.
        s.Time.Advance(TimeSpan.FromMinutes(5));
        await Eventually(async () => (await s.Get<AuditLog>().VerifyAsync()).LastCheckpointSeq == (await s.Get<AuditLog>().VerifyAsync()).LastSeq, "a checkpoint of the head");
        Assert.True((await s.Get<AuditLog>().VerifyAsync()).Ok);
    }
}
