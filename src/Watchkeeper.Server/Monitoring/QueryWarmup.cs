using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// Sends a few hundred small queries through the server's own HTTP API shortly after start, on the scrape-health
/// series every target has (<c>up</c>, <c>scrape_*</c>), so that the first dashboards and API calls after a restart
/// run on optimised code. The .NET JIT compiles methods quickly first and recompiles the ones called often; the
/// query path a request takes (connection, HTTP parsing, routing, token check, PromQL parser and engine, TSDB select,
/// JSON) is not touched by scraping, so without this a restarted server answers its first hundred or so API calls
/// on the quick code: measured at 100k series, 1.10-1.16x Prometheus' latency for <c>up == 0</c> on the first calls
/// against 0.76-0.85x once warm. The requests go over loopback, each on a new connection (as most clients open
/// one), authenticated by an in-memory viewer token that is revoked when the warm-up ends. The series are one per
/// target, so the warm-up costs a fraction of a second of CPU, spread over several seconds (the JIT counts calls
/// only after a quiet 100 ms).
/// </summary>
public static class QueryWarmup
{
    internal static readonly string[] Expressions =
    [
        "up",
        "up == 0",
        "up{job=~\".+\"} == 0",
        // Alternations of values, as dashboards' multi-value variables write them, take their own regex code paths.
        "up{job=~\"node|watchkeeper\", instance!~\"x|y\"} == 0",
        "sum by (job) (up)",
        "count by (job) (up == 1)",
        "rate(scrape_samples_scraped[5m]) > 0",
        "max_over_time(scrape_duration_seconds[5m])",
        "histogram_quantile(0.95, sum by (le) (rate(scrape_duration_seconds_bucket[5m])))",
    ];

    public const int Rounds = 40;

    /// <summary>
    /// Sends every expression once as an instant query and once as a 10 min / 15 s range query to the Prometheus API
    /// at <paramref name="baseUri"/>; returns how many were answered. A non-success answer throws.
    /// </summary>
    public static async Task<int> RunRoundAsync(HttpClient client, Uri baseUri, string token, long nowMs, CancellationToken ct)
    {
        var now = Seconds(nowMs);
        var start = Seconds(nowMs - 600_000);
        var n = 0;
        foreach (var e in Expressions)
        {
            var q = Uri.EscapeDataString(e);
            await Call($"prometheus/api/v1/query?query={q}&time={now}").ConfigureAwait(false);
            await Call($"prometheus/api/v1/query_range?query={q}&start={start}&end={now}&step=15").ConfigureAwait(false);
        }
        return n;

        async Task Call(string path)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, path));
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            req.Headers.ConnectionClose = true;
            using var resp = await client.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            if (!resp.IsSuccessStatusCode)
                throw new HttpRequestException($"{(int)resp.StatusCode} from {path.Split('?')[0]}: {await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
            n++;
        }
    }

    private static string Seconds(long ms) => (ms / 1000.0).ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>Waits <paramref name="delay"/> (the first scrapes land meanwhile), then runs the rounds 150 ms apart.</summary>
    public static async Task RunAsync(Users users, Func<Uri> baseUri, TimeProvider time, TimeSpan delay, ILogger logger, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, time, ct).ConfigureAwait(false);
            var token = users.IssueInternalToken(TimeSpan.FromMinutes(2));
            try
            {
                using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
                {
                    Timeout = TimeSpan.FromSeconds(10),
                };
                var uri = baseUri();
                var sw = Stopwatch.StartNew();
                var busyMs = 0.0;
                var queries = 0;
                for (var i = 0; i < Rounds; i++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    queries += await RunRoundAsync(client, uri, token, time.GetUtcNow().ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
                    busyMs += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    await Task.Delay(TimeSpan.FromMilliseconds(150), time, ct).ConfigureAwait(false);
                }
                logger.LogInformation("Query path warmed up: {Queries} API queries in {Busy:F0} ms over {Elapsed:F1} s", queries, busyMs, sw.Elapsed.TotalSeconds);
            }
            finally
            {
                users.RevokeInternalToken(token);
            }
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
