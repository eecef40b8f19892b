using System.Diagnostics;
using System.Globalization;

namespace Watchkeeper.Server.Monitoring;

/// <summary>
/// Runs the query path a few hundred times shortly after start, so that the first dashboards and API calls after a
/// restart run on optimised code. The .NET JIT compiles a method quickly first and recompiles it optimised once it
/// has been called 30 times; scraping does not touch the query path, so without this a restarted server answers its
/// first calls on the quick code (measured at 100k series: <c>up == 0</c> at 1.1-1.4x Prometheus' latency on the
/// first calls, against 0.8x once warm; see bench/README.md).
/// <list type="bullet">
/// <item>Queries: each of <see cref="Expressions"/> (on the scrape-health series every target has, one series per
/// target) as an instant and as a 10 min / 15 s range query, through the Prometheus API's own query handlers on a
/// request built in process (parameter parsing, PromQL parser, engine, TSDB select, JSON writer). No HTTP, no
/// credentials.</item>
/// <item>Connections: a few anonymous <c>GET /-/healthy</c> over loopback, each on a new connection, for what every
/// API call goes through before its handler (Kestrel's connection and HTTP handling, routing, the middleware), each
/// followed by a query without a credential and one with a random token no one holds, which the query route's
/// authentication (hashing and looking up the token) and authorization answer 401.</item>
/// </list>
/// Rounds run 150 ms apart (the JIT counts calls only after a quiet 100 ms); the whole warm-up costs well under a
/// second of CPU. <c>watchkeeper serve --query-warmup=false</c> turns it off.
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
    public const int ConnectionsPerRound = 4;

    /// <summary>
    /// Runs every expression (<see cref="Expressions"/> unless given) once as an instant query and once as a
    /// 10 min / 15 s range query through the query handlers; returns how many were answered. An answer other than 200
    /// throws.
    /// </summary>
    public static async Task<int> RunRoundAsync(MetricsRuntime m, TimeProvider time, long nowMs, CancellationToken ct,
        IReadOnlyList<string>? expressions = null)
    {
        var now = Seconds(nowMs);
        var start = Seconds(nowMs - 600_000);
        var n = 0;
        foreach (var e in expressions ?? Expressions)
        {
            await Call(false, Query(("query", e), ("time", now))).ConfigureAwait(false);
            await Call(true, Query(("query", e), ("start", start), ("end", now), ("step", "15"))).ConfigureAwait(false);
        }
        return n;

        async Task Call(bool range, QueryString query)
        {
            var ctx = new DefaultHttpContext { RequestAborted = ct };
            ctx.Request.Method = HttpMethods.Get;
            ctx.Request.Path = range ? "/prometheus/api/v1/query_range" : "/prometheus/api/v1/query";
            ctx.Request.QueryString = query;
            using var body = new MemoryStream();
            ctx.Response.Body = body;
            await PrometheusApi.HandleQueryAsync(ctx, m, time, range).ConfigureAwait(false);
            if (ctx.Response.StatusCode != StatusCodes.Status200OK)
                throw new InvalidOperationException($"{ctx.Response.StatusCode} from {ctx.Request.Path}: {System.Text.Encoding.UTF8.GetString(body.ToArray())}");
            n++;
        }
    }

    /// <summary>
    /// Sends <paramref name="count"/> anonymous <c>GET /-/healthy</c>, each on a new connection and each followed by
    /// an uncredentialed query (answered 401); returns how many health calls answered 200. A call that fails or times out (a busy machine) only goes uncounted.
    /// </summary>
    public static async Task<int> PingAsync(HttpClient client, Uri baseUri, int count, CancellationToken ct)
    {
        var ok = 0;
        for (var i = 0; i < count; i++)
        {
            try
            {
                using var req = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "-/healthy"));
                req.Headers.ConnectionClose = true;
                using var resp = await client.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                if (resp.IsSuccessStatusCode) ok++;
                // The query endpoint's own route, authentication and authorization, up to the 401 a request without
                // a credential gets: the path every real query takes, warmed without any token.
                using var q = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "prometheus/api/v1/query?query=up"));
                using var _ = await client.SendAsync(q, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                // The same with a well-formed bearer token that no one holds (random, never stored): the token
                // handler's hashing and database lookup run, and it is refused (401) like any unknown token.
                using var b = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, i % 2 == 0 ? "prometheus/api/v1/query?query=up" : "prometheus/api/v1/query_range?query=up&start=0&end=60&step=15"));
                b.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", UnknownToken());
                using var __ = await client.SendAsync(b, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }
        }
        return ok;
    }

    /// <summary>A random token in the product's format; 256 random bits, so it matches no issued token.</summary>
    private static string UnknownToken() => "wk_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private static QueryString Query(params (string Name, string Value)[] p) =>
        QueryString.Create(p.Select(x => new KeyValuePair<string, string?>(x.Name, x.Value)));

    private static string Seconds(long ms) => (ms / 1000.0).ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>Waits <paramref name="delay"/> (the first scrapes land meanwhile), then runs the rounds 150 ms apart.</summary>
    public static async Task RunAsync(MetricsRuntime m, Func<Uri> baseUri, TimeProvider time, TimeSpan delay, ILogger logger, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, time, ct).ConfigureAwait(false);
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
            {
                Timeout = TimeSpan.FromSeconds(10),
            };
            var uri = baseUri();
            var sw = Stopwatch.StartNew();
            var busyMs = 0.0;
            var queries = 0;
            var pings = 0;
            for (var i = 0; i < Rounds; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                queries += await RunRoundAsync(m, time, time.GetUtcNow().ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
                pings += await PingAsync(client, uri, ConnectionsPerRound, ct).ConfigureAwait(false);
                busyMs += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                await Task.Delay(TimeSpan.FromMilliseconds(150), time, ct).ConfigureAwait(false);
            }
            logger.LogInformation("Query path warmed up: {Queries} queries in process and {Pings}/{Connections} connections in {Busy:F0} ms over {Elapsed:F1} s",
                queries, pings, Rounds * ConnectionsPerRound, busyMs, sw.Elapsed.TotalSeconds);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Includes an HTTP client timeout (a TaskCanceledException): a warm-up that fails says so.
            logger.LogWarning("Query warm-up stopped: {Message}", ex.Message);
        }
    }
}
