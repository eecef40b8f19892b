
namespace Watchkeeper.Interop.Tests;

/// <summary>
/// A real Prometheus scrapes the shared synthetic exporters (and Watchkeeper's own /metrics) and remote-writes
/// everything into Watchkeeper, which scrapes the same exporters itself. PromQL over the remote-written copy
/// in Watchkeeper must answer exactly as Prometheus does over its own TSDB: same samples, same timestamps,
/// same expressions, same series and values.
/// </summary>
public sealed class PrometheusParityTests
{
    /// <summary>The external label Prometheus adds to what it remote-writes; it tells the copy apart from Watchkeeper's own scrapes.</summary>
    private const string Source = "interop_source";

    /// <summary>
    /// The operations manual's three alert expressions. Thresholds are lowered so they return data: [5m] windows hold only
    /// about 20 s of samples here, so a 1.5/s counter has rate() near 0.1; and only some histograms are slow.
    /// </summary>
    private static readonly string[] Alerts =
    [
        """up{job=~"api-service|web-interface"} == 0""",
        """rate(http_requests_total{status=~"5.."}[5m]) > 0.05""",
        """histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{}[5m])) > 0.2""",
    ];

    /// <summary>More expressions over the same data. Every selector has braces, so the copy's matcher can be added to it.</summary>
    private static readonly string[] Expressions =
    [
        """sum by (job) (rate(http_requests_total{}[1m]))""",
        """sum by (job, status) (increase(http_requests_total{}[30s]))""",
        """avg_over_time(node_load{}[30s])""",
        """max_over_time(node_memory_bytes{field="MemFree"}[20s]) - min_over_time(node_memory_bytes{field="MemFree"}[20s])""",
        """irate(node_network_bytes_total{}[30s])""",
        // topk/bottomk over values without ties: among equal values each engine keeps the first it sees, and the
        // two see series in different orders (Prometheus by creation, Watchkeeper by labels).
        """topk(3, http_requests_total{status="200"})""",
        """topk by (job) (2, avg_over_time(node_load{}[30s]))""",
        """bottomk(2, node_memory_bytes{field="MemFree"})""",
        """count by (job, status) (http_requests_total{})""",
        """label_replace(up{}, "port", "$1", "instance", "[^:]+:(.*)")""",
        """http_requests_total{path="/login",method="GET"} offset 7s""",
        """sum by (job) (rate(http_requests_total{status=~"5.."}[1m])) / on(job) sum by (job) (rate(http_requests_total{}[1m]))""",
        """rate(http_requests_total{status="500"}[1m]) / ignoring(status) rate(http_requests_total{status="200"}[1m])""",
        """histogram_quantile(0.9, sum by (le, job) (rate(http_request_duration_seconds_bucket{}[1m])))""",
        """rate(http_request_duration_seconds_sum{}[30s]) / rate(http_request_duration_seconds_count{}[30s])""",
        """quantile by (job) (0.5, rate(node_cpu_seconds_total{}[30s]))""",
        """stddev by (job) (node_load{})""",
        """deriv(node_filesystem_avail_bytes{}[20s])""",
        """predict_linear(node_filesystem_avail_bytes{mountpoint="/"}[20s], 3600)""",
        """delta(node_load{window="1"}[15s])""",
        """changes(node_load{}[20s])""",
        """sum by (job) (scrape_samples_scraped{})""",
        """timestamp(up{})""",
        """absent(nonexistent_metric{})""",
        """count(up{} == 1) by (job)""",
        """rate(http_requests_total{}[30s]) / on(instance, method, path) group_left sum by (instance, method, path) (rate(http_requests_total{}[30s]))""",
        """node_memory_bytes{field="MemFree"} / on(instance) group_left node_memory_bytes{field="MemTotal"} > bool 0.5""",
        """sum by (job) (count_over_time({__name__=~"http_requests_.+"}[1m]))""",
        // Errors must be the same errors: a range with a step of 0 is bad data in both.
        """rate(http_requests_total{}[0s])""",
    ];

    /// <summary>
    /// Known divergence: Prometheus 2.42 drops the metric name inside a range function and fails when series then collide
    /// ("vector cannot contain metrics with the same labelset"); Watchkeeper's engine follows Prometheus 3's delayed
    /// name dropping (its conformance suite is Prometheus 3's), so the aggregation above it answers. Pinned both ways.
    /// </summary>
    private const string Colliding = """sum by (job) (count_over_time({__name__=~"http_request_duration_seconds_(sum|count)"}[1m]))""";
    private const string CollidingEquivalent =
        """sum by (job) (count_over_time(http_request_duration_seconds_sum{}[1m])) + sum by (job) (count_over_time(http_request_duration_seconds_count{}[1m]))""";

    [Fact]
    public async Task Remote_written_copy_answers_every_expression_like_prometheus_itself()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var synth = Peers.RequireSynthExporter();

        await using var api = await SynthExporter.StartAsync(synth, "api-service", "p0", seed: 1);
        await using var web = await SynthExporter.StartAsync(synth, "web-interface", "p1", seed: 2);
        var dead = Peers.FreePort(); // closed: up == 0 for one web-interface target
        var scrapeConfigs = $$"""
            scrape_configs:
              - job_name: api-service
                honor_labels: true
                static_configs: [{targets: ['{{api.Target}}']}]
              - job_name: web-interface
                honor_labels: true
                static_configs: [{targets: ['{{web.Target}}', '127.0.0.1:{{dead}}']}]
            """;
        await using var wk = await WatchkeeperHost.StartAsync(_ => "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n" + scrapeConfigs);
        var writer = await wk.TokenAsync("responder");
        var viewer = await wk.TokenAsync("viewer");
        await using var prom = await PrometheusPeer.StartAsync(promBin, $$"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              external_labels:
                {{Source}}: prometheus
            {{scrapeConfigs}}
              - job_name: watchkeeper
                static_configs: [{targets: ['127.0.0.1:{{wk.Port}}']}]
            remote_write:
              - url: http://127.0.0.1:{{wk.Port}}/prometheus/api/v1/write
                authorization: {credentials: '{{writer}}'}
                queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
            """);
        using var p = new PromClient(new Uri(prom.BaseAddress, "/")) { Name = "prometheus" };
        using var w = new PromClient(wk.PrometheusApi, viewer) { Name = "watchkeeper" };

        // About 16 scrapes in Prometheus; then the web-interface exporter stops, so its series go stale (Prometheus writes
        // stale markers and remote-writes them) while up turns 0; then every sample up to the evaluation time in the copy.
        Assert.True(await Peers.PollAsync(async () =>
                (await p.InstantAsync("""count_over_time(up{job="api-service"}[1m])""", Now())).Series is [{ Points: [(_, >= 16)] }],
            TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(1)), $"Prometheus did not scrape 16 times in 40 s ({Peers.LastPollError}):\n{prom.Output}");
        await web.DisposeAsync();
        var webUp = $$"""up{instance="{{web.Target}}"}""";
        Assert.True(await Peers.PollAsync(async () => (await p.InstantAsync(webUp, Now())).Series is [{ Points: [(_, 0)] }],
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(250)), "Prometheus did not see the stopped exporter down");
        await Task.Delay(TimeSpan.FromSeconds(4));
        var end = Math.Floor(Now()) - 2 + await Parity.OffGridAsync(p) / 1000.0;
        Assert.Empty((await p.InstantAsync("""http_requests_total{job="web-interface"}""", end)).Series);
        Assert.NotEmpty((await p.InstantAsync("""http_requests_total{job="web-interface"}""", end - 10)).Series);

        // Samples per metric name up to the evaluation time (one query: count_over_time drops the name, so each is relabeled).
        var names = (await p.GetJsonAsync("api/v1/label/__name__/values", [])).EnumerateArray().Select(n => n.GetString()!).ToList();
        Assert.Contains("http_requests_total", names);
        var behind = await Parity.WaitInStepAsync(p, w, Source, "prometheus", names, end, TimeSpan.FromSeconds(20));
        Assert.True(behind.Count == 0, $"Watchkeeper's copy differs from Prometheus in samples per metric up to {end}:\n"
            + string.Join("\n", behind) + "\n" + prom.Output);

        var diffs = new List<string>();
        List<string> errored = [], empty = [];
        var instantTimes = new[] { end, end - 4.5 };
        var (start, step) = (end - 15, 2.5);
        foreach (var q in Alerts.Concat(Expressions))
        {
            foreach (var t in instantTimes)
            {
                var (expected, actual, diff) = await CompareAsync(() => p.InstantAsync(q, t), () => w.InstantAsync(Copy(q), t));
                if (t == end && expected is null) errored.Add(q);
                else if (t == end && expected!.Series.Count == 0) empty.Add(q);
                diffs.AddRange(diff.Take(5).Select(d => $"instant @{t}: {q}\n    {d}"));
            }
            var (_, _, rdiff) = await CompareAsync(() => p.RangeAsync(q, start, end, step), () => w.RangeAsync(Copy(q), start, end, step));
            diffs.AddRange(rdiff.Take(5).Select(d => $"range: {q}\n    {d}"));
        }

        // Raw samples, as a range selector returns them: every series of both jobs over the last 20 s (not the
        // outputs of Watchkeeper's shipped recording rules, named level:metric:operation, which this Prometheus lacks).
        var raw = """{job=~"api-service|web-interface", __name__!~".*:.*"}[20s]""";
        diffs.AddRange(ResultComparer.Diff(await p.InstantAsync(raw, end), (await w.InstantAsync(Copy(raw), end)).Without(Source), 0)
            .Take(10).Select(d => $"raw samples: {d}"));

        // Every comparison is over data: no expression is empty in Prometheus, and only the bad one fails in both.
        Assert.Empty(empty);
        Assert.Equal(["""rate(http_requests_total{}[0s])"""], errored);

        var collision = await Assert.ThrowsAsync<PromApiException>(() => p.InstantAsync(Colliding, end));
        Assert.Equal((422, "execution"), (collision.Status, collision.ErrorType));
        var (_, _, divergence) = await CompareAsync(() => p.InstantAsync(CollidingEquivalent, end), () => w.InstantAsync(Copy(Colliding), end));
        diffs.AddRange(divergence.Select(d => $"instant: {Colliding} (against {CollidingEquivalent} in Prometheus)\n    {d}"));

        Assert.True(diffs.Count == 0, $"{diffs.Count} differences between Prometheus and Watchkeeper (remote-written copy):\n" + string.Join("\n", diffs));

        // Prometheus scrapes Watchkeeper's /metrics (exposition format accepted).
        var selfUp = await p.InstantAsync("""up{job="watchkeeper"}""", end);
        Assert.Equal(1, Assert.Single(selfUp.Series).Points[0].V);

        // Watchkeeper's own scrapes of the same targets: the same series per metric and job, the same target health,
        // and rates that agree to within the scrapes' different timing (their samples are not the same ones).
        var perMetric = """count by (__name__, job) ({job=~"api-service|web-interface", __name__!~".*:.*"})""";
        Assert.Empty(ResultComparer.Diff(await p.InstantAsync(perMetric, end),
            await w.InstantAsync(Own(perMetric), end)));
        var health = """up{job=~"api-service|web-interface"}""";
        Assert.Empty(ResultComparer.Diff(await p.InstantAsync(health, end),
            await w.InstantAsync(Own(health), end)));
        var rates = """sum by (job) (rate(http_requests_total{job="api-service"}[10s]))""";
        var rateDiff = ResultComparer.Diff(await p.InstantAsync(rates, end),
            await w.InstantAsync(Own(rates), end), relErr: 0.02);
        Assert.True(rateDiff.Count == 0, string.Join("\n", rateDiff));

        // Metadata (Grafana's autocompletion) and targets from the two scrapers of the same exporters.
        foreach (var metric in new[] { "http_requests_total", "http_request_duration_seconds", "node_load", "up" })
        {
            var pm = (await p.GetJsonAsync("api/v1/metadata", [("metric", metric)])).GetRawText();
            var wm = (await w.GetJsonAsync("api/v1/metadata", [("metric", metric)])).GetRawText();
            Assert.Equal(pm, wm);
        }
        static List<string> Targets(System.Text.Json.JsonElement data) =>
        [
            .. data.GetProperty("activeTargets").EnumerateArray()
                .Where(t => t.GetProperty("scrapePool").GetString() is "api-service" or "web-interface")
                .Select(t => $"{t.GetProperty("labels").GetRawText()} {t.GetProperty("scrapeUrl").GetString()} {t.GetProperty("health").GetString()}")
                .Order(StringComparer.Ordinal),
        ];
        Assert.Equal(Targets(await p.GetJsonAsync("api/v1/targets", [])), Targets(await w.GetJsonAsync("api/v1/targets", [])));
    }

    private static double Now() => Parity.Now();

    /// <summary>The expression over Watchkeeper's copy of Prometheus's data: every selector also matches the external label.</summary>
    private static string Copy(string query) => Parity.WithMatcher(query, Source, "prometheus");

    /// <summary>The expression over Watchkeeper's own scrapes: series without the external label.</summary>
    private static string Own(string query) => Parity.WithMatcher(query, Source, "");

    private static Task<(QueryResult? Expected, QueryResult? Actual, List<string> Diff)> CompareAsync(Func<Task<QueryResult>> prometheus, Func<Task<QueryResult>> watchkeeper) =>
        Parity.CompareAsync(prometheus, watchkeeper, Source);
}
