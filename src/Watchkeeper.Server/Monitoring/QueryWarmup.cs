using System.Diagnostics;
using System.Text.Json;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// Runs the query path (parser, engine, TSDB select, Prometheus JSON writer) a few dozen times shortly after start,
/// on the scrape-health series every target has (<c>up</c>, <c>scrape_*</c>), so that the first dashboards and
/// API calls after a restart run on optimised code. The .NET JIT compiles methods quickly first and recompiles the
/// ones called 30 times; without this, a restarted server answers its first few dozen queries on the quick code,
/// several times slower for small queries. The series are one per target, so the whole warm-up costs a few tens of
/// milliseconds of CPU, spread over several seconds (the JIT counts calls only after a quiet 100 ms).
/// </summary>
public static class QueryWarmup
{
    internal static readonly string[] Expressions =
    [
        "up",
        "up == 0",
        "up{job=~\".+\"} == 0",
        "sum by (job) (up)",
        "count by (job) (up == 1)",
        "rate(scrape_samples_scraped[5m]) > 0",
        "max_over_time(scrape_duration_seconds[5m])",
        "histogram_quantile(0.95, sum by (le) (rate(scrape_duration_seconds_bucket[5m])))",
    ];

    public const int Rounds = 40;

    /// <summary>Evaluates every expression once as an instant and once as a 10 min / 15 s range query; returns how many ran.</summary>
    public static int RunRound(MetricsRuntime m, long nowMs, Stream sink)
    {
        var n = 0;
        using var w = new Utf8JsonWriter(sink);
        foreach (var e in Expressions)
        {
            Write(m.Engine.Instant(m.Querier, e, nowMs).Value);
            Write(m.Engine.Range(m.Querier, e, nowMs - 600_000, nowMs, 15_000).Value);
        }
        return n;

        void Write(QueryValue v)
        {
            PrometheusApi.WriteQueryResult(w, v, nowMs);
            w.Flush();
            w.Reset();
            n++;
        }
    }

    /// <summary>Waits <paramref name="delay"/> (the first scrapes land meanwhile), then runs the rounds 150 ms apart.</summary>
    public static async Task RunAsync(MetricsRuntime m, TimeProvider time, TimeSpan delay, ILogger logger, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, time, ct).ConfigureAwait(false);
            var sw = Stopwatch.StartNew();
            var busyMs = 0.0;
            var queries = 0;
            for (var i = 0; i < Rounds; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                queries += RunRound(m, time.GetUtcNow().ToUnixTimeMilliseconds(), Stream.Null);
                busyMs += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                await Task.Delay(TimeSpan.FromMilliseconds(150), time, ct).ConfigureAwait(false);
            }
            logger.LogInformation("Query path warmed up: {Queries} queries in {Busy:F0} ms of evaluation over {Elapsed:F1} s", queries, busyMs, sw.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Query warm-up stopped: {Message}", ex.Message);
        }
    }
}
