using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Server.Probes;

namespace Watchkeeper.Server.Tests.Probes;

/// <summary>
/// Moves a server's fake clock through its probe intervals one second at a time, and after each second waits (in real
/// time, bounded) until every probe then due has run: a probe's timeout is on the fake clock, so a clock that ran ahead
/// of loopback I/O on a busy machine would time probes out that never had a chance. Shared by the server, CLI and
/// browser tests.
/// </summary>
internal static class ProbeClock
{
    /// <summary>Advances <paramref name="seconds"/> seconds and waits for <paramref name="results"/> more results written.</summary>
    public static async Task RunAsync(FakeTimeProvider time, ProbeScheduler scheduler, int seconds = 31, long results = 3)
    {
        var ct = TestContext.Current.CancellationToken;
        await scheduler.Applied.WaitAsync(TimeSpan.FromSeconds(60), ct);
        var target = scheduler.Written + results;
        for (var i = 0; i < seconds; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await WaitIdleAsync(scheduler, ct);
        }
        await scheduler.WaitForWrittenAsync(target, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
    }

    private static async Task WaitIdleAsync(ProbeScheduler scheduler, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        while (!scheduler.Idle)
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(60))
                throw new TimeoutException($"probes still running after 60 s ({scheduler.InFlight} in flight)");
            await Task.Delay(5, ct);
        }
    }
}
