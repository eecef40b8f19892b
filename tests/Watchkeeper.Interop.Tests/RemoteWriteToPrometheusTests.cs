using Microsoft.Extensions.DependencyInjection;
using Watchkeeper.Server.Monitoring;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// Watchkeeper scrapes (the shared synthetic exporter when present, and its own /metrics) and remote-writes to a real
/// Prometheus started with --web.enable-remote-write-receiver. Prometheus then holds the same series and sample values
/// as Watchkeeper over the same range, and answers the same queries over them.
/// </summary>
public sealed class RemoteWriteToPrometheusTests
{
    /// <summary>The external label Watchkeeper adds to what it remote-writes.</summary>
    private const string Source = "interop_source";

    private static readonly string[] Expressions =
    [
        """up{}""",
        """sum by (job) (rate(http_requests_total{}[10s]))""",
        """histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{}[10s])))""",
        // Watchkeeper's own counters start inside these windows at small values, where rate() extrapolation differs
        // from 2.42 (see KnownGapsTests): compare them raw and by value, not by rate.
        """watchkeeper_http_requests_total{}[10s]""",
        """sum by (job, route) (watchkeeper_http_requests_total{})""",
        """max_over_time(watchkeeper_tsdb_head_series{}[10s])""",
        """max_over_time(scrape_duration_seconds{}[10s])""",
        """count by (__name__) ({job="watchkeeper"})""",
    ];

    [Fact]
    public async Task Prometheus_holds_the_same_series_and_samples_as_watchkeeper()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var synth = Peers.SynthExporter; // optional: Watchkeeper's own /metrics is scraped either way
        await using var exporter = synth is null ? null : await SynthExporter.StartAsync(synth, "api-service", "p0", seed: 3);
        await using var prom = await PrometheusPeer.StartAsync(promBin, "global:\n  scrape_interval: 15s\n", "--web.enable-remote-write-receiver");
        var scrape = exporter is null ? "scrape_configs: []\n" : $$"""
            scrape_configs:
              - job_name: api-service
                honor_labels: true
                static_configs: [{targets: ['{{exporter.Target}}']}]

            """;
        await using var wk = await WatchkeeperHost.StartAsync(_ => $$"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              external_labels:
                {{Source}}: watchkeeper
            {{scrape}}remote_write:
              - url: {{new Uri(prom.BaseAddress, "/api/v1/write")}}
                queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
            """);
        using var w = new PromClient(wk.PrometheusApi, await wk.TokenAsync("viewer")) { Name = "watchkeeper" };
        using var p = new PromClient(new Uri(prom.BaseAddress, "/")) { Name = "prometheus" };

        Assert.True(await Peers.PollAsync(async () =>
                (await w.InstantAsync("""count_over_time(up{job="watchkeeper"}[1m])""", Parity.Now())).Series is [{ Points: [(_, >= 12)] }],
            TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(1)), $"Watchkeeper did not scrape itself 12 times in 40 s ({Peers.LastPollError})");
        var end = Math.Floor(Parity.Now()) - 2 + await Parity.OffGridAsync(w) / 1000.0;

        var names = (await w.GetJsonAsync("api/v1/label/__name__/values", [])).EnumerateArray().Select(n => n.GetString()!).ToList();
        Assert.Contains("up", names);
        if (exporter is not null) Assert.Contains("http_requests_total", names);
        var behind = await Parity.WaitInStepAsync(w, p, Source, "watchkeeper", names, end, TimeSpan.FromSeconds(20));
        var sender = Assert.Single(wk.Services.GetRequiredService<MetricsRuntime>().Forwarding.Senders);
        Assert.True(behind.Count == 0, $"Prometheus's copy differs from Watchkeeper in samples per metric up to {end} " +
            $"(sent {sender.Stats.SamplesSent}, failed {sender.Stats.SamplesFailed}, dropped {sender.Stats.SamplesDropped}, last error {sender.Stats.LastError}):\n"
            + string.Join("\n", behind.Take(20)) + "\n" + prom.Output);
        Assert.Equal(0, sender.Stats.SamplesFailed);
        Assert.Equal(0, sender.Stats.SamplesDropped);

        // Every series with every raw sample over the last 15 s, exactly.
        const string raw = """{__name__=~".+"}[15s]""";
        var rawDiff = ResultComparer.Diff(await w.InstantAsync(raw, end), (await p.InstantAsync(Parity.WithMatcher(raw, Source, "watchkeeper"), end)).Without(Source), 0);
        Assert.True(rawDiff.Count == 0, $"{rawDiff.Count} raw sample differences:\n" + string.Join("\n", rawDiff.Take(20)));

        // The series API lists the same series (with the external label in Prometheus).
        var wkSeries = (await w.GetJsonAsync("api/v1/series", [("match[]", """{job="watchkeeper"}"""), ("start", PromClient.Time(end - 15)), ("end", PromClient.Time(end))]))
            .EnumerateArray().Select(e => ResultSeries.LabelsKey(e.EnumerateObject().Select(x => KeyValuePair.Create(x.Name, x.Value.GetString()!)))).ToHashSet();
        var promSeries = (await p.GetJsonAsync("api/v1/series", [("match[]", $$"""{job="watchkeeper",{{Source}}="watchkeeper"}"""), ("start", PromClient.Time(end - 15)), ("end", PromClient.Time(end))]))
            .EnumerateArray().Select(e => ResultSeries.LabelsKey(e.EnumerateObject().Where(x => x.Name != Source).Select(x => KeyValuePair.Create(x.Name, x.Value.GetString()!)))).ToHashSet();
        Assert.NotEmpty(wkSeries);
        Assert.Equal(wkSeries.Order(), promSeries.Order());

        // The same queries over the two copies agree, instant and range.
        var diffs = new List<string>();
        foreach (var q in Expressions)
        {
            if (exporter is null && q.Contains("http_request", StringComparison.Ordinal)) continue;
            var copy = Parity.WithMatcher(q, Source, "watchkeeper");
            var (e, _, d) = await Parity.CompareAsync(() => w.InstantAsync(q, end), () => p.InstantAsync(copy, end), Source);
            Assert.True(e is { Series.Count: > 0 }, $"no data in Watchkeeper for {q}");
            diffs.AddRange(d.Take(5).Select(x => $"instant: {q}\n    {x}"));
            var (_, _, rd) = await Parity.CompareAsync(() => w.RangeAsync(q, end - 10, end, 1), () => p.RangeAsync(copy, end - 10, end, 1), Source);
            diffs.AddRange(rd.Take(5).Select(x => $"range: {q}\n    {x}"));
        }
        Assert.True(diffs.Count == 0, $"{diffs.Count} differences between Watchkeeper and Prometheus (remote-written copy):\n" + string.Join("\n", diffs));
    }
}
