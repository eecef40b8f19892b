using System.Text;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Exposition;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Scrape;
using Watchkeeper.Server.Monitoring.Demo;
using Watchkeeper.Server.Monitoring.HostMetrics;

namespace Watchkeeper.Server.Tests;

public sealed class DemoTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static Dictionary<Labels, double> Parse(string text) =>
        new ExpositionParser().Parse(Encoding.UTF8.GetBytes(text), ExpositionFormat.PrometheusText).Samples.ToDictionary(s => s.Labels, s => s.Value);

    private static double Sum(Dictionary<Labels, double> m, string name, Func<Labels, bool>? filter = null) =>
        m.Where(kv => kv.Key.Name == name && (filter?.Invoke(kv.Key) ?? true)).Sum(kv => kv.Value);

    [Fact]
    public void Counters_grow_with_time_at_a_realistic_rate_and_never_decrease()
    {
        var time = new FakeTimeProvider(Start);
        var svc = new DemoService(DemoProfile.ApiService, time);
        var prev = Parse(svc.Render()!);
        Assert.Equal(0, Sum(prev, "http_requests_total"));
        for (var i = 0; i < 20; i++)
        {
            time.Advance(TimeSpan.FromSeconds(15));
            var cur = Parse(svc.Render()!);
            foreach (var (l, v) in cur)
                if (l.Name!.EndsWith("_total", StringComparison.Ordinal) || l.Name.EndsWith("_bucket", StringComparison.Ordinal) || l.Name.EndsWith("_count", StringComparison.Ordinal))
                    Assert.True(v >= prev.GetValueOrDefault(l), $"{l} went down");
            prev = cur;
        }
        var rps = Sum(prev, "http_requests_total") / 300;
        Assert.InRange(rps, 20, 80);
        Assert.Contains(prev.Keys, l => l.Get("path") == "/api/v1/users" && l.Get("method") == "GET" && l.Get("status") == "200");
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_and_end_at_count()
    {
        var time = new FakeTimeProvider(Start);
        var svc = new DemoService(DemoProfile.WebInterface, time);
        svc.Render();
        time.Advance(TimeSpan.FromMinutes(5));
        var m = Parse(svc.Render()!);
        var buckets = m.Where(kv => kv.Key.Name == "http_request_duration_seconds_bucket" && kv.Key.Get("path") == "/dashboard")
            .OrderBy(kv => kv.Key.Get("le") == "+Inf" ? double.PositiveInfinity : double.Parse(kv.Key.Get("le")!, System.Globalization.CultureInfo.InvariantCulture))
            .Select(kv => kv.Value).ToList();
        Assert.Equal(DemoService.Buckets.Length + 1, buckets.Count);
        Assert.Equal(buckets.Order(), buckets);
        Assert.Equal(buckets[^1], m[Labels.Of("__name__", "http_request_duration_seconds_count", "method", "GET", "path", "/dashboard")]);
        Assert.Contains(m.Keys, l => l.Get("le") == "0.005");
        Assert.Contains(m.Keys, l => l.Get("le") == "10");
    }

    /// <summary>histogram_quantile over bucket increases, interpolating linearly inside a bucket as PromQL does.</summary>
    private static double Quantile(double q, IReadOnlyList<(double Le, double Count)> buckets)
    {
        var total = buckets[^1].Count;
        var rank = q * total;
        var prevLe = 0.0;
        var prevCount = 0.0;
        foreach (var (le, count) in buckets)
        {
            if (count >= rank) return double.IsPositiveInfinity(le) ? prevLe : prevLe + ((le - prevLe) * (rank - prevCount) / (count - prevCount));
            prevLe = le;
            prevCount = count;
        }
        return prevLe;
    }

    private static List<(double, double)> BucketIncrease(Dictionary<Labels, double> a, Dictionary<Labels, double> b, string method, string path) =>
        [.. b.Where(kv => kv.Key.Name == "http_request_duration_seconds_bucket" && kv.Key.Get("method") == method && kv.Key.Get("path") == path)
            .Select(kv => (Le: kv.Key.Get("le") == "+Inf" ? double.PositiveInfinity : double.Parse(kv.Key.Get("le")!, System.Globalization.CultureInfo.InvariantCulture), Count: kv.Value - a.GetValueOrDefault(kv.Key)))
            .OrderBy(x => x.Le)];

    [Theory]
    [InlineData("api-service")]
    [InlineData("web-interface")]
    public void Baseline_stays_under_the_manual_alert_thresholds_and_faults_cross_them(string service)
    {
        var time = new FakeTimeProvider(Start);
        var demo = new DemoWorkload(time);
        var svc = demo.Get(service)!;
        var a = Parse(svc.Render()!);
        time.Advance(TimeSpan.FromMinutes(5));
        var b = Parse(svc.Render()!);
        foreach (var e in svc.Profile.Endpoints)
        {
            Assert.True(Quantile(0.95, BucketIncrease(a, b, e.Method, e.Path)) < 0.5, $"{e.Method} {e.Path} p95 too high");
            var errors = b.Where(kv => kv.Key.Name == "http_requests_total" && kv.Key.Get("path") == e.Path && kv.Key.Get("method") == e.Method && kv.Key.Get("status")!.StartsWith('5'))
                .Max(kv => kv.Value - a.GetValueOrDefault(kv.Key)) / 300;
            Assert.True(errors < 0.1, $"{e.Method} {e.Path} 5xx rate {errors}");
        }
        svc.SetAddedLatency(TimeSpan.FromSeconds(1));
        svc.SetErrorRate(0.5);
        time.Advance(TimeSpan.FromMinutes(5));
        var c = Parse(svc.Render()!);
        Assert.True(svc.Profile.Endpoints.All(e => Quantile(0.95, BucketIncrease(b, c, e.Method, e.Path)) > 0.5));
        Assert.Contains(c, kv => kv.Key.Name == "http_requests_total" && kv.Key.Get("status") == "500" && (kv.Value - b.GetValueOrDefault(kv.Key)) / 300 > 0.1);
    }

    [Fact]
    public void Error_rate_fault_sets_the_5xx_fraction()
    {
        var time = new FakeTimeProvider(Start);
        var svc = new DemoService(DemoProfile.ApiService, time);
        var before = Parse(svc.Render()!);
        svc.SetErrorRate(0.25);
        time.Advance(TimeSpan.FromMinutes(10));
        var after = Parse(svc.Render()!);
        double Delta(Func<Labels, bool> f) => Sum(after, "http_requests_total", f) - Sum(before, "http_requests_total", f);
        var total = Delta(_ => true);
        var errors = Delta(l => l.Get("status")!.StartsWith('5'));
        Assert.InRange(errors / total, 0.23, 0.27);
        Assert.Equal(0.25, after[Labels.Of("__name__", "demo_fault_error_rate")]);
    }

    [Fact]
    public void Added_latency_moves_requests_into_slower_buckets()
    {
        var time = new FakeTimeProvider(Start);
        var svc = new DemoService(DemoProfile.ApiService, time);
        svc.Render();
        time.Advance(TimeSpan.FromMinutes(5));
        var a = Parse(svc.Render()!);
        svc.SetAddedLatency(TimeSpan.FromMilliseconds(800));
        time.Advance(TimeSpan.FromMinutes(5));
        var b = Parse(svc.Render()!);
        var le = Labels.Of("__name__", "http_request_duration_seconds_bucket", "method", "GET", "path", "/api/v1/users", "le", "0.5");
        var cnt = Labels.Of("__name__", "http_request_duration_seconds_count", "method", "GET", "path", "/api/v1/users");
        Assert.True(a[le] / a[cnt] > 0.95);
        var fastNew = b[le] - a[le];
        var allNew = b[cnt] - a[cnt];
        Assert.True(allNew > 0);
        Assert.Equal(0, fastNew);
        var sum = Labels.Of("__name__", "http_request_duration_seconds_sum", "method", "GET", "path", "/api/v1/users");
        Assert.True((b[sum] - a[sum]) / allNew > 0.8);
    }

    /// <summary>
    /// Scrape configs as the server builds them for the demo (one job per service, named after it), pointed at the
    /// test's in-process handler instead of the server's loopback address.
    /// </summary>
    private static ScrapeConfig[] DemoJobs(DemoWorkload demo) =>
    [
        .. demo.Services.Select(s => new ScrapeConfig
        {
            JobName = s.Name,
            MetricsPath = $"/-/demo/{s.Name}/metrics",
            ScrapeInterval = TimeSpan.FromSeconds(15),
            ScrapeTimeout = TimeSpan.FromSeconds(10),
            StaticConfigs = [new TargetGroup(["watchkeeper.test:9700"], new Dictionary<string, string>(), "demo")],
        }),
    ];

    [Fact]
    public async Task Down_fault_fails_the_scrape_and_up_returns_when_cleared()
    {
        var time = new FakeTimeProvider(Start);
        var demo = new DemoWorkload(time);
        var store = new LastValueStore();
        // Answers as the server's /-/demo/{service}/metrics endpoint does: the exposition, or 503 while down.
        var mgr = new ScrapeManager(store, time, new ScrapeManagerOptions
        {
            HandlerFactory = _ => new RenderingHandler(path => demo.Get(path.Split('/')[3])?.Render()),
            WatchFiles = false,
        });
        await using (mgr)
        {
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = DemoJobs(demo) });
            Assert.Equal(["api-service", "web-interface"], mgr.ActiveTargets().Select(t => t.Job));
            demo.ApiService.SetDown(true);
            var states = await mgr.ScrapeAllNowAsync();
            Assert.Equal(TargetHealth.Down, states.Single(s => s.Job == "api-service").Health);
            Assert.Equal(TargetHealth.Up, states.Single(s => s.Job == "web-interface").Health);
            Assert.Equal(0, store.Last("up", "job", "api-service"));
            Assert.NotNull(store.Last("http_requests_total", "job", "web-interface"));

            demo.ApiService.ClearFaults();
            time.Advance(TimeSpan.FromSeconds(15));
            states = await mgr.ScrapeAllNowAsync();
            Assert.All(states, s => Assert.Equal(TargetHealth.Up, s.Health));
            Assert.Equal(1, store.Last("up", "job", "api-service"));
        }
    }

    [Fact]
    public async Task Host_collector_scrapes_as_the_node_job()
    {
        var host = new HostCollector();
        var store = new LastValueStore();
        var cfg = new ScrapeConfig { JobName = "node", MetricsPath = "/-/node/metrics", StaticConfigs = [new TargetGroup(["watchkeeper.test:9700"], new Dictionary<string, string>(), "s")] };
        var mgr = new ScrapeManager(store, new FakeTimeProvider(Start), new ScrapeManagerOptions { HandlerFactory = _ => new RenderingHandler(_ => host.RenderExposition()), WatchFiles = false });
        await using (mgr)
        {
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [cfg] });
            var st = Assert.Single(await mgr.ScrapeAllNowAsync());
            Assert.Equal(TargetHealth.Up, st.Health);
            if (File.Exists("/proc/loadavg")) Assert.NotNull(store.Last("node_load1", "job", "node"));
        }
    }
}
