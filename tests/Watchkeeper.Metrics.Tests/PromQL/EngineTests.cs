using Watchkeeper.Metrics.Conformance;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

public sealed class EngineTests
{
    private static MemorySeriesStore Store(params (Labels Labels, long T, double V)[] samples)
    {
        var s = new MemorySeriesStore();
        foreach (var (l, t, v) in samples) s.Add(l, t, v);
        return s;
    }

    private static IReadOnlyList<VectorSample> Vector(QueryResult r) => Assert.IsType<VectorResult>(r.Value).Samples;

    [Fact]
    public void Rate_is_exact_when_samples_cover_the_window()
    {
        var l = Labels.Of("__name__", "c_total");
        var store = Store([.. Enumerable.Range(0, 9).Select(i => (l, i * 15_000L, i * 15.0))]);
        var v = Vector(new Engine().Query(store, "rate(c_total[1m])", 60_000));
        Assert.Equal(1.0, Assert.Single(v).V, 1e-12);
        Assert.Null(v[0].Labels.Name);
    }

    [Fact]
    public void Rate_extrapolates_at_most_half_an_interval_past_the_first_sample()
    {
        var l = Labels.Of("__name__", "c_total");
        var store = Store([.. Enumerable.Range(0, 7).Select(i => (l, 100_000L + i * 10_000L, 10.0 + i * 10))]);
        // 60 over 60s of samples, window (40s, 160s]: extrapolate 5s (half the spacing) to the start, none to the end.
        var v = Vector(new Engine().Query(store, "rate(c_total[2m])", 160_000));
        Assert.Equal(60.0 * 65 / 60 / 120, Assert.Single(v).V, 1e-12);
    }

    [Fact]
    public void Increase_corrects_counter_resets()
    {
        var l = Labels.Of("__name__", "c_total");
        var store = Store((l, 0, 5), (l, 10_000, 10), (l, 20_000, 2), (l, 30_000, 7));
        // 7 - 5 + 10 (reset) = 12 over 30s, extrapolated by 10s at the start: 12 * 40 / 30.
        var v = Vector(new Engine().Query(store, "increase(c_total[40s])", 30_000));
        Assert.Equal(16.0, Assert.Single(v).V, 1e-12);
        Assert.Equal(1.0, Vector(new Engine().Query(store, "resets(c_total[40s])", 30_000))[0].V);
    }

    [Fact]
    public void Many_to_many_matching_is_an_error_naming_the_duplicates()
    {
        var store = Store(
            (Labels.Of("__name__", "a"), 0, 1),
            (Labels.Of("__name__", "b", "x", "1"), 0, 1),
            (Labels.Of("__name__", "b", "x", "2"), 0, 2));
        var ex = Assert.Throws<QueryException>(() => new Engine().Query(store, "a + on() b", 0));
        Assert.Equal("found duplicate series for the match group {} on the right hand-side of the operation: " +
                     "[{__name__=\"b\", x=\"1\"}, {__name__=\"b\", x=\"2\"}];many-to-many matching not allowed: matching labels must be unique on one side", ex.Message);
    }

    [Fact]
    public void Many_to_one_without_group_modifier_is_an_error()
    {
        var store = Store(
            (Labels.Of("__name__", "a", "x", "1"), 0, 1),
            (Labels.Of("__name__", "a", "x", "2"), 0, 1),
            (Labels.Of("__name__", "b"), 0, 2));
        var ex = Assert.Throws<QueryException>(() => new Engine().Query(store, "a + ignoring(x) b", 0));
        Assert.Contains("many-to-one matching must be explicit (group_left/group_right)", ex.Message, StringComparison.Ordinal);
        var ok = Vector(new Engine().Query(store, "a + ignoring(x) group_left b", 0));
        Assert.Equal(2, ok.Count);
        Assert.All(ok, s => Assert.Equal(3, s.V));
    }

    [Fact]
    public void Group_left_copies_labels_from_the_one_side()
    {
        var store = Store(
            (Labels.Of("__name__", "req", "job", "api", "code", "200"), 0, 10),
            (Labels.Of("__name__", "owner", "job", "api", "team", "core"), 0, 1));
        var v = Vector(new Engine().Query(store, "req * on(job) group_left(team) owner", 0));
        Assert.Equal(Labels.Of("job", "api", "code", "200", "team", "core"), Assert.Single(v).Labels);
    }

    [Fact]
    public void Stale_markers_end_a_series_immediately()
    {
        var l = Labels.Of("__name__", "up");
        var store = Store((l, 0, 1), (l, 10_000, StaleNaN.Value), (l, 20_000, 2));
        var e = new Engine();
        Assert.Single(Vector(e.Query(store, "up", 5_000)));
        Assert.Empty(Vector(e.Query(store, "up", 15_000)));
        Assert.Equal(2, Assert.Single(Vector(e.Query(store, "up", 25_000))).V);
        // Range selectors skip the marker.
        Assert.Equal(2, Vector(e.Query(store, "count_over_time(up[1m])", 25_000))[0].V);
    }

    [Fact]
    public void Lookback_is_five_minutes_by_default_and_configurable()
    {
        var l = Labels.Of("__name__", "up");
        var store = Store((l, 0, 1));
        Assert.Single(Vector(new Engine().Query(store, "up", 299_999)));
        Assert.Empty(Vector(new Engine().Query(store, "up", 300_000)));
        var shortLookback = new Engine(new EngineOptions { LookbackDelta = TimeSpan.FromSeconds(30) });
        Assert.Empty(Vector(shortLookback.Query(store, "up", 30_000)));
    }

    [Fact]
    public void Range_queries_return_a_sorted_matrix_per_step()
    {
        var store = new MemorySeriesStore();
        for (var i = 0; i <= 10; i++)
        {
            store.Add(Labels.Of("__name__", "m", "i", "b"), i * 60_000L, i);
            store.Add(Labels.Of("__name__", "m", "i", "a"), i * 60_000L, 2 * i);
        }
        var r = Assert.IsType<MatrixResult>(new Engine().QueryRange(store, "m * 2", 0, 600_000, 120_000).Value);
        Assert.Equal(2, r.Series.Count);
        Assert.Equal("a", r.Series[0].Labels.Get("i"));
        Assert.Equal([0.0, 8, 16, 24, 32, 40], r.Series[0].Floats.Select(p => p.V));
        Assert.Equal([0L, 120_000, 240_000, 360_000, 480_000, 600_000], r.Series[1].Floats.Select(p => p.T));
    }

    [Fact]
    public void Max_samples_limit_fails_with_a_clear_error()
    {
        var store = new MemorySeriesStore();
        for (var i = 0; i < 100; i++) store.Add(Labels.Of("__name__", "m", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), 0, i);
        var e = new Engine(new EngineOptions { MaxSamples = 50 });
        var ex = Assert.Throws<QueryException>(() => e.Query(store, "m", 0));
        Assert.Equal(QueryErrorKind.TooManySamples, ex.Kind);
        Assert.Contains("too many samples", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancellation_and_timeouts_stop_evaluation()
    {
        var store = Store((Labels.Of("__name__", "m"), 0, 1));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ex = Assert.Throws<QueryException>(() => new Engine().Instant(store, "m", 0, cts.Token));
        Assert.Equal(QueryErrorKind.Canceled, ex.Kind);
        var tiny = new Engine(new EngineOptions { Timeout = TimeSpan.FromTicks(1) });
        var ex2 = Assert.Throws<QueryException>(() => tiny.QueryRange(store, "sum_over_time(m[1h:1s])", 0, 10_800_000, 1_000));
        Assert.Equal(QueryErrorKind.Timeout, ex2.Kind);
    }

    [Fact]
    public void Metric_names_are_dropped_by_functions_but_kept_by_comparisons()
    {
        var store = Store((Labels.Of("__name__", "m", "a", "1"), 0, 5));
        var e = new Engine();
        Assert.Null(Vector(e.Query(store, "abs(m)", 0))[0].Labels.Name);
        Assert.Equal("m", Vector(e.Query(store, "m > 1", 0))[0].Labels.Name);
        Assert.Null(Vector(e.Query(store, "m > bool 1", 0))[0].Labels.Name);
        Assert.Equal("m", Vector(e.Query(store, "last_over_time(m[1m])", 0))[0].Labels.Name);
    }

    [Fact]
    public void Rate_over_ten_thousand_series_is_fast()
    {
        var store = new MemorySeriesStore();
        for (var s = 0; s < 10_000; s++)
        {
            var l = Labels.Of("__name__", "req_total", "i", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
            for (var k = 0; k < 40; k++) store.Add(l, k * 15_000L, k * 3.0);
        }
        var e = new Engine();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = Assert.IsType<MatrixResult>(e.QueryRange(store, "sum(rate(req_total[1m]))", 60_000, 600_000, 15_000).Value);
        sw.Stop();
        Assert.Equal(0.2, r.Series[0].Floats[0].V / 10_000 * 1.0, 1e-9);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Theory]
    [InlineData("(?P<first>a)(b)", "${first}-$2", "a-b")]
    [InlineData("(a)(?P<second>b)", "$1-${second}", "a-b")]
    [InlineData("(a)(b)", "$1x", "")]
    [InlineData("(a)(b)", "${1}x$$", "ax$")]
    [InlineData("[(](a)", "$1", "a")]
    public void Label_replace_expands_templates_like_Go(string regex, string replacement, string expected)
    {
        var store = Store((Labels.Of("__name__", "m", "src", regex.StartsWith("[(]", StringComparison.Ordinal) ? "(a" : "ab"), 0, 1));
        var q = $"label_replace(m, \"dst\", \"{replacement.Replace("$", "$", StringComparison.Ordinal)}\", \"src\", \"{regex}\")";
        var v = Vector(new Engine().Query(store, q, 0));
        Assert.Equal(expected, Assert.Single(v).Labels.GetOrEmpty("dst"));
    }

    [Theory]
    [InlineData("max_over_time(rate(c_total[1m])[5m:30s])")]
    [InlineData("sum_over_time(deriv(c_total[2m])[3m:20s] offset 1m)")]
    [InlineData("avg_over_time(max_over_time(c_total[1m])[2m:15s])[10m:1m]")]
    public void Range_queries_with_subqueries_match_instant_queries_at_each_step(string query)
    {
        var store = new MemorySeriesStore();
        for (var s = 0; s < 3; s++)
        {
            var l = Labels.Of("__name__", "c_total", "s", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
            for (var k = 0; k < 200; k++) store.Add(l, k * 10_000L, k * (s + 1) % 37);
        }
        var e = new Engine();
        var expr = Parser.Parse(query);
        if (expr.Type == ValueKind.Matrix) expr = Parser.Parse("last_over_time((" + query + "))");
        var range = Assert.IsType<MatrixResult>(e.Range(store, expr, 600_000, 1_500_000, 45_000, TestContext.Current.CancellationToken).Value);
        for (var t = 600_000L; t <= 1_500_000; t += 45_000)
        {
            var inst = Vector(e.Instant(store, expr, t, TestContext.Current.CancellationToken));
            foreach (var smp in inst)
            {
                var series = Assert.Single(range.Series, x => x.Labels == smp.Labels);
                Assert.Equal(smp.V, Assert.Single(series.Floats, p => p.T == t).V, 1e-9);
            }
            Assert.Equal(inst.Count, range.Series.Count(x => x.Floats.Any(p => p.T == t)));
        }
    }

    [Fact]
    public void Query_timeouts_use_the_injected_clock()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var store = new SlowQuerier(clock, TimeSpan.FromSeconds(31), Store((Labels.Of("__name__", "m"), 0, 1)));
        var e = new Engine(new EngineOptions { Timeout = TimeSpan.FromSeconds(30) }, clock);
        var ex = Assert.Throws<QueryException>(() => e.Query(store, "m + m", 0));
        Assert.Equal(QueryErrorKind.Timeout, ex.Kind);
        Assert.Single(Vector(new Engine(new EngineOptions { Timeout = TimeSpan.FromMinutes(5) }, clock).Query(store, "m", 0)));
    }

    /// <summary>A querier whose reads advance a fake clock, standing in for slow storage.</summary>
    private sealed class SlowQuerier(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, TimeSpan perSelect, ISeriesQuerier inner) : ISeriesQuerier
    {
        public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
        {
            clock.Advance(perSelect);
            return inner.Select(minT, maxT, matchers);
        }

        public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelNames(minT, maxT, matchers);
        public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelValues(name, minT, maxT, matchers);
    }
}
