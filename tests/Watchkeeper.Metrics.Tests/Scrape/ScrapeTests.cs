using System.Net;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Tests.Scrape;

public sealed class ScrapeTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScrapeConfig Job(string name = "api", bool honorLabels = false, bool honorTs = true, int limit = 0, IReadOnlyList<RelabelRule>? metricRelabel = null, params string[] targets) => new()
    {
        JobName = name,
        ScrapeInterval = TimeSpan.FromSeconds(15),
        ScrapeTimeout = TimeSpan.FromSeconds(5),
        StaticConfigs = [new TargetGroup(targets.Length == 0 ? ["host-1:8080"] : targets, new Dictionary<string, string> { ["env"] = "prod" }, "static:0")],
        HonorLabels = honorLabels,
        HonorTimestamps = honorTs,
        SampleLimit = limit,
        MetricRelabelConfigs = metricRelabel ?? [],
    };

    private static (ScrapeLoop Loop, CollectingSeriesStore Store, FakeTimeProvider Time, Func<string> Body) Setup(ScrapeConfig cfg, Func<HttpRequestMessage, HttpResponseMessage> respond)
    {
        var (active, _) = TargetBuilder.Build(cfg, cfg.StaticConfigs);
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var loop = new ScrapeLoop(active[0], cfg, new HttpClient(new StubHttpHandler(respond)), store, time);
        return (loop, store, time, () => "");
    }

    [Fact]
    public void Target_labels_include_job_instance_and_meta_labels_are_removed()
    {
        var cfg = Job() with
        {
            Params = new Dictionary<string, IReadOnlyList<string>> { ["module"] = ["http_2xx"] },
            RelabelConfigs = [new RelabelConfig { SourceLabels = ["__param_module"], TargetLabel = "module" }.Compile(),
                new RelabelConfig { SourceLabels = ["__scrape_interval__"], TargetLabel = "iv" }.Compile()],
        };
        var (active, dropped) = TargetBuilder.Build(cfg, cfg.StaticConfigs);
        var t = Assert.Single(active);
        Assert.Empty(dropped);
        Assert.Equal(Labels.Of("job", "api", "instance", "host-1:8080", "env", "prod", "module", "http_2xx", "iv", "15s"), t.Labels);
        Assert.Equal("http://host-1:8080/metrics?module=http_2xx", t.Url.ToString());
        Assert.Equal("host-1:8080", t.DiscoveredLabels.Get("__address__"));
        Assert.Equal("http", t.DiscoveredLabels.Get("__scheme__"));
        Assert.Equal("/metrics", t.DiscoveredLabels.Get("__metrics_path__"));
    }

    [Fact]
    public void Relabeling_can_drop_targets_and_rewrite_address()
    {
        var cfg = Job(targets: ["a:1", "b:2"]) with
        {
            RelabelConfigs = [
                new RelabelConfig { SourceLabels = ["__address__"], Regex = "b:.*", Action = RelabelAction.Drop }.Compile(),
                new RelabelConfig { SourceLabels = ["__address__"], Regex = "(.*):1", TargetLabel = "__address__", Replacement = "$1:9100" }.Compile()],
        };
        var (active, dropped) = TargetBuilder.Build(cfg, cfg.StaticConfigs);
        Assert.Equal("http://a:9100/metrics", Assert.Single(active).Url.ToString());
        Assert.Equal("a:9100", active[0].Labels.Get("instance"));
        Assert.Equal("b:2", Assert.Single(dropped).DiscoveredLabels.Get("__address__"));
    }

    [Fact]
    public void Offsets_are_deterministic_and_within_the_interval()
    {
        var cfg = Job(targets: ["a:1", "b:2", "c:3"]);
        var a = TargetBuilder.Build(cfg, cfg.StaticConfigs).Active;
        var b = TargetBuilder.Build(cfg, cfg.StaticConfigs).Active;
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Offset(cfg.ScrapeInterval), b[i].Offset(cfg.ScrapeInterval));
            Assert.InRange(a[i].Offset(cfg.ScrapeInterval), TimeSpan.Zero, cfg.ScrapeInterval);
        }
        Assert.NotEqual(a[0].Offset(cfg.ScrapeInterval), a[1].Offset(cfg.ScrapeInterval));
    }

    [Fact]
    public async Task Scrape_appends_samples_with_target_labels_and_synthetic_series()
    {
        HttpRequestMessage? seen = null;
        var (loop, store, time, _) = Setup(Job(), r => { seen = r; return StubHttpHandler.Text("# TYPE m counter\nm{code=\"200\"} 5\nm{code=\"500\"} 1\n"); });
        var state = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Up, state.Health);
        Assert.Null(state.LastError);
        var t = Start.ToUnixTimeMilliseconds();
        var series = Labels.Of("__name__", "m", "code", "200", "job", "api", "instance", "host-1:8080", "env", "prod");
        Assert.Equal(new Sample(t, 5), store.Last(series));
        var tl = Labels.Of("job", "api", "instance", "host-1:8080", "env", "prod");
        Assert.Equal(1, store.Last(tl.With("__name__", "up"))!.Value.V);
        Assert.Equal(2, store.Last(tl.With("__name__", "scrape_samples_scraped"))!.Value.V);
        Assert.Equal(2, store.Last(tl.With("__name__", "scrape_samples_post_metric_relabeling"))!.Value.V);
        Assert.Equal(2, store.Last(tl.With("__name__", "scrape_series_added"))!.Value.V);
        Assert.NotNull(store.Last(tl.With("__name__", "scrape_duration_seconds")));
        Assert.Contains("application/openmetrics-text", seen!.Headers.Accept.ToString());
        Assert.Equal("5", seen.Headers.GetValues("X-Prometheus-Scrape-Timeout-Seconds").Single());
        Assert.Contains(loop.Metadata, m => m.Family == "m");

        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(0, store.Last(tl.With("__name__", "scrape_series_added"))!.Value.V);
    }

    [Fact]
    public async Task Conflicting_labels_are_exported_unless_honor_labels()
    {
        const string body = "m{job=\"inner\",exported_job=\"x\",instance=\"i\"} 1\n";
        var (loop, store, _, _) = Setup(Job(), _ => StubHttpHandler.Text(body));
        await loop.ScrapeAsync();
        var s = store.Find("m")!;
        Assert.Equal("api", s.Get("job"));
        Assert.Equal("x", s.Get("exported_job"));
        Assert.Equal("inner", s.Get("exported_exported_job"));
        Assert.Equal("i", s.Get("exported_instance"));

        var (loop2, store2, _, _) = Setup(Job(honorLabels: true), _ => StubHttpHandler.Text(body));
        await loop2.ScrapeAsync();
        var h = store2.Find("m")!;
        Assert.Equal("inner", h.Get("job"));
        Assert.Equal("i", h.Get("instance"));
        Assert.Equal("prod", h.Get("env"));
    }

    [Fact]
    public async Task Honor_timestamps_controls_explicit_timestamps()
    {
        var (loop, store, _, _) = Setup(Job(), _ => StubHttpHandler.Text("m 1 1000\n"));
        await loop.ScrapeAsync();
        Assert.Equal(1000, store.Last(store.Find("m")!)!.Value.T);
        var (loop2, store2, _, _) = Setup(Job(honorTs: false), _ => StubHttpHandler.Text("m 1 1000\n"));
        await loop2.ScrapeAsync();
        Assert.Equal(Start.ToUnixTimeMilliseconds(), store2.Last(store2.Find("m")!)!.Value.T);
    }

    [Fact]
    public async Task Disappearing_series_and_failed_scrapes_get_stale_markers()
    {
        var body = "a 1\nb 2\n";
        var fail = false;
        var (loop, store, time, _) = Setup(Job(), _ => fail ? new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) : StubHttpHandler.Text(body));
        await loop.ScrapeAsync();
        body = "a 1\n";
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        var b = store.Find("b")!;
        Assert.True(StaleNaN.Is(store.Last(b)!.Value.V));
        Assert.Equal(Start.AddSeconds(15).ToUnixTimeMilliseconds(), store.Last(b)!.Value.T);

        fail = true;
        time.Advance(TimeSpan.FromSeconds(15));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Down, st.Health);
        Assert.Contains("503", st.LastError);
        Assert.True(StaleNaN.Is(store.Last(store.Find("a")!)!.Value.V));
        Assert.Equal(0, store.Last(store.Find("up")!)!.Value.V);
        // b was already stale: no second marker.
        Assert.Equal(2, store.Samples(b).Count);
    }

    [Fact]
    public async Task Target_going_away_marks_all_its_series_stale()
    {
        var (loop, store, time, _) = Setup(Job(), _ => StubHttpHandler.Text("a 1\n"));
        await loop.ScrapeAsync();
        time.Advance(TimeSpan.FromSeconds(3));
        await loop.MarkStaleAsync(time.GetUtcNow().ToUnixTimeMilliseconds());
        Assert.True(StaleNaN.Is(store.Last(store.Find("a")!)!.Value.V));
        Assert.True(StaleNaN.Is(store.Last(store.Find("up")!)!.Value.V));
    }

    [Fact]
    public async Task Sample_limit_fails_the_scrape_and_stores_nothing_of_it()
    {
        var (loop, store, _, _) = Setup(Job(limit: 2), _ => StubHttpHandler.Text("a 1\nb 1\nc 1\n"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Down, st.Health);
        Assert.Contains("sample limit", st.LastError);
        Assert.Null(store.Find("a"));
        Assert.Equal(0, store.Last(store.Find("up")!)!.Value.V);
        Assert.Equal(3, store.Last(store.Find("scrape_samples_scraped")!)!.Value.V);
    }

    [Fact]
    public async Task Label_limit_fails_the_scrape_naming_the_series_and_stores_nothing_of_it()
    {
        // Target labels count: job, instance, env (+ __name__ and the metric's own).
        var (loop, store, _, _) = Setup(Job() with { LabelLimit = 5 }, _ => StubHttpHandler.Text("ok{a=\"1\"} 1\nwide{a=\"1\",b=\"2\"} 1\n"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Down, st.Health);
        Assert.Contains("label_limit exceeded", st.LastError);
        Assert.Contains("wide{", st.LastError);
        Assert.Contains("limit: 5", st.LastError);
        Assert.Null(store.Find("ok"));
        Assert.Equal(0, store.Last(store.Find("up")!)!.Value.V);
    }

    [Fact]
    public async Task Label_name_and_value_length_limits_fail_the_scrape()
    {
        var (loop, _, _, _) = Setup(Job() with { LabelValueLengthLimit = 8 }, _ => StubHttpHandler.Text("m{a=\"123456789\"} 1\n"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Down, st.Health);
        Assert.Contains("label_value_length_limit exceeded", st.LastError);
        (loop, _, _, _) = Setup(Job() with { LabelNameLengthLimit = 4 }, _ => StubHttpHandler.Text("m{abcde=\"1\"} 1\n"));
        st = await loop.ScrapeAsync();
        Assert.Contains("label_name_length_limit exceeded", st.LastError);
        (loop, _, _, _) = Setup(Job() with { LabelValueLengthLimit = 11, LabelNameLengthLimit = 8, LabelLimit = 5 }, _ => StubHttpHandler.Text("m{a=\"123456789\"} 1\n"));
        Assert.Equal(TargetHealth.Up, (await loop.ScrapeAsync()).Health);
    }

    [Fact]
    public async Task A_series_the_store_refuses_by_its_limits_fails_the_scrape()
    {
        var dir = Path.Combine(Path.GetTempPath(), "wk-scrape-limit-" + Guid.NewGuid().ToString("N"));
        try
        {
            var time = new FakeTimeProvider(Start);
            using var db = Watchkeeper.Metrics.Tsdb.Tsdb.Open(new Watchkeeper.Metrics.Tsdb.TsdbOptions
            {
                Directory = dir, TimeProvider = time, Retention = TimeSpan.Zero,
                Limits = IngestLimits.Default with { MaxHeadSeries = 7 }, // up and the 4 scrape_* series, then two more
            });
            var cfg = Job();
            var (active, _) = TargetBuilder.Build(cfg, cfg.StaticConfigs);
            var body = "a 1\n";
            var loop = new ScrapeLoop(active[0], cfg, new HttpClient(new StubHttpHandler(_ => StubHttpHandler.Text(body))), db, time);
            Assert.Equal(TargetHealth.Up, (await loop.ScrapeAsync()).Health);
            body = "a 1\nb 1\nc 1\n";
            time.Advance(TimeSpan.FromSeconds(15));
            var st = await loop.ScrapeAsync();
            Assert.Equal(TargetHealth.Down, st.Health);
            Assert.Contains("head series limit", st.LastError);
            Assert.Contains("c{", st.LastError);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Metric_relabeling_drops_before_the_limit_and_is_counted()
    {
        var drop = new RelabelConfig { SourceLabels = ["__name__"], Regex = "go_.*", Action = RelabelAction.Drop }.Compile();
        var (loop, store, _, _) = Setup(Job(limit: 1, metricRelabel: [drop]), _ => StubHttpHandler.Text("go_a 1\ngo_b 1\nkeep 1\n"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Up, st.Health);
        Assert.Null(store.Find("go_a"));
        Assert.NotNull(store.Find("keep"));
        Assert.Equal(1, store.Last(store.Find("scrape_samples_post_metric_relabeling")!)!.Value.V);
        Assert.Equal(3, store.Last(store.Find("scrape_samples_scraped")!)!.Value.V);
    }

    [Fact]
    public async Task Malformed_body_fails_the_scrape_with_position_and_stores_nothing()
    {
        var (loop, store, _, _) = Setup(Job(), _ => StubHttpHandler.Text("good 1\nbad{ 1\n"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Down, st.Health);
        Assert.Contains("line 2", st.LastError);
        Assert.Null(store.Find("good"));
    }

    [Fact]
    public async Task A_valid_openmetrics_body_with_unusual_timestamps_and_escapes_keeps_the_target_up()
    {
        const string body = "# TYPE m gauge\nm{a=\"x\\ty\"} 1 000\nm{a=\"z\"} 2 1.5e3\nm{a=\"w\"} 3 1e300\n# EOF\n";
        var (loop, store, _, _) = Setup(Job(), _ => StubHttpHandler.Text(body, "application/openmetrics-text; version=1.0.0"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Up, st.Health);
        Assert.Null(st.LastError);
    }

    [Fact]
    public async Task OpenMetrics_content_type_selects_the_openmetrics_parser()
    {
        var (loop, store, _, _) = Setup(Job(), _ => StubHttpHandler.Text("m_total 3 1.5\n# EOF\n", "application/openmetrics-text; version=1.0.0"));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Up, st.Health);
        Assert.Equal(new Sample(1500, 3), store.Last(store.Find("m_total")!));
    }

    [Fact]
    public async Task Duplicate_series_in_one_body_keep_the_first_sample()
    {
        var (loop, store, _, _) = Setup(Job(), _ => StubHttpHandler.Text("m{a=\"1\"} 1\nm{a=\"1\"} 2\n"));
        await loop.ScrapeAsync();
        Assert.Equal(1, Assert.Single(store.Samples(store.Find("m")!)).V);
    }

    [Fact]
    public async Task Timeout_marks_target_down()
    {
        var time = new FakeTimeProvider(Start);
        var cfg = Job();
        var target = TargetBuilder.Build(cfg, cfg.StaticConfigs).Active[0];
        var handler = new BlockingHandler();
        var store = new CollectingSeriesStore();
        var loop = new ScrapeLoop(target, cfg, new HttpClient(handler), store, time);
        var task = loop.ScrapeAsync();
        await handler.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(6));
        var st = await task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TargetHealth.Down, st.Health);
        Assert.Contains("timed out", st.LastError);
    }

    private sealed class BlockingHandler : HttpMessageHandler
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException();
        }
    }

    [Fact]
    public async Task Manager_runs_loops_on_the_fake_clock_and_reports_state()
    {
        var time = new FakeTimeProvider(Start);
        var store = new CollectingSeriesStore();
        var scraped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var count = 0;
        var handler = new StubHttpHandler(_ => StubHttpHandler.Text("m 1\n"));
        var mgr = new ScrapeManager(store, time, new ScrapeManagerOptions
        {
            HandlerFactory = _ => handler,
            ScrapeCompleted = _ => { if (Interlocked.Increment(ref count) == 2) scraped.TrySetResult(); },
        });
        await using (mgr)
        {
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [Job(targets: ["a:1", "b:2"])] });
            Assert.All(mgr.ActiveTargets(), t => Assert.Equal(TargetHealth.Unknown, t.Health));
            for (var i = 0; i < 300 && !scraped.Task.IsCompleted; i++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.WhenAny(scraped.Task, Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System));
            }
            await scraped.Task.WaitAsync(TimeSpan.FromSeconds(10));
            var states = mgr.ActiveTargets();
            Assert.Equal(2, states.Count);
            Assert.All(states, s => Assert.Equal(TargetHealth.Up, s.Health));
            Assert.All(states, s => Assert.NotNull(s.LastScrape));

            // Removing a target makes its series stale.
            await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [Job(targets: ["a:1"])] });
            Assert.Single(mgr.ActiveTargets());
            var gone = store.Find("m", "instance", "b:2")!;
            Assert.True(StaleNaN.Is(store.Last(gone)!.Value.V));
            var kept = store.Find("m", "instance", "a:1")!;
            Assert.False(StaleNaN.Is(store.Last(kept)!.Value.V));
        }
    }

    [Fact]
    public async Task File_sd_targets_are_read_and_reread_on_refresh()
    {
        var dir = Directory.CreateTempSubdirectory("wk-filesd");
        try
        {
            var file = Path.Combine(dir.FullName, "targets.json");
            await File.WriteAllTextAsync(file, "[\n\t{\n\t\t\"targets\": [\"x:1\"],\n\t\t\"labels\": {\"team\": \"a\"}\n\t}\n]\n");
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "more.yml"), "- targets: ['y:2']\n");
            var cfg = new ScrapeConfig { JobName = "sd", FileSdConfigs = [new FileSdConfig([Path.Combine(dir.FullName, "*.json"), Path.Combine(dir.FullName, "*.yml")], TimeSpan.FromMinutes(5))] };
            var mgr = new ScrapeManager(new CollectingSeriesStore(), new FakeTimeProvider(Start), new ScrapeManagerOptions
            {
                HandlerFactory = _ => new StubHttpHandler(_ => StubHttpHandler.Text("m 1\n")),
                WatchFiles = false,
            });
            await using (mgr)
            {
                await mgr.ApplyConfigAsync(new MetricsConfig { ScrapeConfigs = [cfg] });
                var targets = mgr.ActiveTargets();
                Assert.Equal(2, targets.Count);
                var x = targets.Single(t => t.Labels.Get("instance") == "x:1");
                Assert.Equal("a", x.Labels.Get("team"));
                Assert.Equal(file, x.DiscoveredLabels.Get("__meta_filepath"));

                await File.WriteAllTextAsync(file, """[{"targets": ["x:1", "z:3"]}]""");
                await mgr.RefreshDiscoveryAsync();
                Assert.Equal(3, mgr.ActiveTargets().Count);

                await File.WriteAllTextAsync(file, "not json [");
                await mgr.RefreshDiscoveryAsync();
                Assert.Equal(3, mgr.ActiveTargets().Count);
                Assert.Contains(file, mgr.DiscoveryErrors().Keys);
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task Real_http_scrape_over_loopback()
    {
        using var listener = new HttpListener();
        var port = 0;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            port = Random.Shared.Next(30000, 60000);
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                break;
            }
            catch (HttpListenerException)
            {
            }
        }
        var serve = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            var auth = ctx.Request.Headers["Authorization"];
            var bytes = System.Text.Encoding.UTF8.GetBytes($"# TYPE hits counter\nhits{{auth=\"{auth}\"}} 7\n");
            ctx.Response.ContentType = "text/plain; version=0.0.4";
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        });
        var cfg = Job(targets: [$"127.0.0.1:{port}"]) with { Http = new HttpClientConfig { Authorization = new AuthorizationConfig("Bearer", "tok", null) } };
        var target = TargetBuilder.Build(cfg, cfg.StaticConfigs).Active[0];
        var store = new CollectingSeriesStore();
        var loop = new ScrapeLoop(target, cfg, new HttpClient(HttpClientFactory.CreateHandler(cfg.Http)), store, TimeProvider.System);
        var st = await loop.ScrapeAsync();
        await serve.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TargetHealth.Up, st.Health);
        Assert.Equal("Bearer tok", store.Find("hits")!.Get("auth"));
    }
}
