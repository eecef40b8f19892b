using System.Globalization;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Relabel;
using Watchkeeper.Metrics.Scrape;

namespace Watchkeeper.Metrics.Tests.Scrape;

/// <summary>
/// The scrape loop's per-series state (final labels, the store's series handle, the last scrape that appended it):
/// staleness, duplicates, <c>scrape_series_added</c> and relabelling must come out as with label-set bookkeeping.
/// </summary>
public sealed class SeriesStateTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Labels TargetLabels = Labels.Of("job", "api", "instance", "host-1:8080");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "wk-scrape-state-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static ScrapeConfig Job(IReadOnlyList<RelabelRule>? metricRelabel = null) => new()
    {
        JobName = "api",
        ScrapeInterval = TimeSpan.FromSeconds(15),
        ScrapeTimeout = TimeSpan.FromSeconds(5),
        StaticConfigs = [new TargetGroup(["host-1:8080"], new Dictionary<string, string>(), "static:0")],
        MetricRelabelConfigs = metricRelabel ?? [],
    };

    private static ScrapeLoop Loop(ScrapeConfig cfg, ISeriesStore store, TimeProvider time, Func<string> body)
    {
        var (active, _) = TargetBuilder.Build(cfg, cfg.StaticConfigs);
        return new ScrapeLoop(active[0], cfg, new HttpClient(new StubHttpHandler(_ => StubHttpHandler.Text(body()))), store, time);
    }

    private static Labels Final(string name, params string[] nameValues) => Labels.From([.. TargetLabels, .. Labels.Of(["__name__", name, .. nameValues])]);

    private static double Added(CollectingSeriesStore store) => store.Last(TargetLabels.With("__name__", "scrape_series_added"))!.Value.V;

    [Fact]
    public async Task Steady_scrapes_reuse_the_stores_series_handles()
    {
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var loop = Loop(Job(), store, time, () => "a 1\nb{x=\"1\"} 2\n");
        await loop.ScrapeAsync();
        Assert.Equal(0, store.RefHits);
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(2, store.RefHits); // a and b; the five synthetic series go by labels
        Assert.Equal(2, store.Samples(Final("b", "x", "1")).Count);
    }

    [Fact]
    public async Task Series_relabelled_to_the_same_labels_count_once_and_go_stale_only_when_all_are_gone()
    {
        var dropX = new RelabelConfig { Regex = "x", Action = RelabelAction.LabelDrop }.Compile();
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var body = "m{a=\"1\",x=\"1\"} 1\nm{a=\"1\",x=\"2\"} 2\n";
        var loop = Loop(Job([dropX]), store, time, () => body);
        await loop.ScrapeAsync();
        var m = Final("m", "a", "1");
        Assert.Equal(1, Assert.Single(store.Samples(m)).V); // the first of the two wins
        Assert.Equal(1, Added(store));

        body = "m{a=\"1\",x=\"2\"} 5\n";
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(new Sample(Start.AddSeconds(15).ToUnixTimeMilliseconds(), 5), store.Last(m));
        Assert.Equal(0, Added(store));

        body = "other 1\n";
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.True(StaleNaN.Is(store.Last(m)!.Value.V));
        Assert.Equal(3, store.Samples(m).Count);
    }

    [Fact]
    public async Task Series_dropped_by_relabelling_stay_dropped_on_later_scrapes()
    {
        var drop = new RelabelConfig { SourceLabels = ["__name__"], Regex = "go_.*", Action = RelabelAction.Drop }.Compile();
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var loop = Loop(Job([drop]), store, time, () => "go_a 1\nkeep 1\ngo_b 1\n");
        for (var i = 0; i < 3; i++)
        {
            var st = await loop.ScrapeAsync();
            Assert.Equal(1, st.LastSamples);
            time.Advance(TimeSpan.FromSeconds(15));
        }
        Assert.Null(store.Find("go_a"));
        Assert.Null(store.Find("go_b"));
        Assert.Equal(3, store.Samples(Final("keep")).Count);
        Assert.Equal(1, store.Last(TargetLabels.With("__name__", "scrape_samples_post_metric_relabeling"))!.Value.V);
        Assert.Equal(0, Added(store));
    }

    [Fact]
    public async Task Staleness_and_series_added_stay_right_when_the_series_cache_is_rebuilt()
    {
        // 1,100 series, then 10: the cache holds far more than a scrape and is rebuilt.
        var n = 1100;
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var loop = Loop(Job(), store, time, () => string.Concat(Enumerable.Range(0, n).Select(i => $"s_{i} {i}\n")));
        await loop.ScrapeAsync();
        Assert.Equal(1100, Added(store));

        n = 10;
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(0, Added(store));
        Assert.True(StaleNaN.Is(store.Last(Final("s_10"))!.Value.V));
        Assert.False(StaleNaN.Is(store.Last(Final("s_9"))!.Value.V));

        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(0, Added(store));
        Assert.Equal(3, store.Samples(Final("s_0")).Count);
        Assert.All(Enumerable.Range(0, 10), i => Assert.False(StaleNaN.Is(store.Last(Final("s_" + i.ToString(CultureInfo.InvariantCulture)))!.Value.V)));

        n = 1100;
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(1090, Added(store));
        Assert.Equal(3, store.Samples(Final("s_10")).Count); // value, stale marker, value
    }

    [Fact]
    public async Task A_failed_scrape_makes_every_series_count_as_added_on_the_next()
    {
        var fail = false;
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var (active, _) = TargetBuilder.Build(Job(), Job().StaticConfigs);
        var handler = new StubHttpHandler(_ => fail ? new HttpResponseMessage(HttpStatusCode.InternalServerError) : StubHttpHandler.Text("a 1\nb 1\n"));
        var loop = new ScrapeLoop(active[0], Job(), new HttpClient(handler), store, time);
        await loop.ScrapeAsync();
        fail = true;
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.True(StaleNaN.Is(store.Last(Final("a"))!.Value.V));
        fail = false;
        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(2, Added(store));
        Assert.Equal(1, store.Last(Final("a"))!.Value.V);
    }

    [Fact]
    public async Task A_reloaded_loop_inherits_the_series_and_stales_those_its_config_now_drops()
    {
        var store = new CollectingSeriesStore();
        var time = new FakeTimeProvider(Start);
        var old = Loop(Job(), store, time, () => "a 1\nb 1\n");
        await old.ScrapeAsync();

        var dropB = new RelabelConfig { SourceLabels = ["__name__"], Regex = "b", Action = RelabelAction.Drop }.Compile();
        var loop = Loop(Job([dropB]), store, time, () => "a 2\nb 2\n");
        loop.InheritFrom(old);
        await old.MarkStaleAsync(Start.AddSeconds(1).ToUnixTimeMilliseconds()); // the old loop has no series left to mark
        Assert.False(StaleNaN.Is(store.Last(Final("a"))!.Value.V));

        time.Advance(TimeSpan.FromSeconds(15));
        await loop.ScrapeAsync();
        Assert.Equal(0, Added(store));
        Assert.Equal(2, store.Last(Final("a"))!.Value.V);
        Assert.True(StaleNaN.Is(store.Last(Final("b"))!.Value.V));
        Assert.Equal(2, store.RefHits); // the handles carried over: a's sample and b's stale marker
    }

    [Fact]
    public async Task A_series_collected_from_the_tsdb_head_while_the_loop_holds_its_handle_is_recreated()
    {
        var time = new FakeTimeProvider(Start);
        using var db = Tsdb.Tsdb.Open(new Tsdb.TsdbOptions
        {
            Directory = _dir,
            BlockDuration = TimeSpan.FromHours(1),
            Retention = TimeSpan.Zero,
            WalSync = Tsdb.WalSyncMode.Never,
            TimeProvider = time,
        });
        var body = "a 1\nb 1\n";
        var loop = Loop(Job(), db, time, () => body);
        await loop.ScrapeAsync();
        body = "a 1\n";
        for (var i = 0; i < 8; i++)
        {
            time.Advance(TimeSpan.FromMinutes(15));
            await loop.ScrapeAsync();
        }
        db.RunMaintenance(); // cuts [0h, 1h): b's only chunk goes to a block and b leaves the head
        Assert.Equal(1, db.Stats.SeriesRemoved);

        body = "a 1\nb 3\n";
        time.Advance(TimeSpan.FromMinutes(15));
        var st = await loop.ScrapeAsync();
        Assert.Equal(TargetHealth.Up, st.Health);
        var b = db.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "__name__", "b")]).Single();
        Assert.Equal(3, b.Samples.Count); // 1, the stale marker (both in the block), 3 (in the head)
        Assert.Equal(new Sample(time.GetUtcNow().ToUnixTimeMilliseconds(), 3), b.Samples[^1]);
        var added = db.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "__name__", "scrape_series_added")]).Single();
        Assert.Equal(1, added.Samples[^1].V);
    }
}
