using Microsoft.Extensions.Time.Testing;
using Watchkeeper.Metrics.Conformance;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

/// <summary>Time arithmetic at the ends of time, the point limit and the concurrency limit of the engine.</summary>
public sealed class EngineLimitsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static MemorySeriesStore Store()
    {
        var s = new MemorySeriesStore();
        s.Add(Labels.Of("__name__", "x"), 0, 1);
        return s;
    }

    [Fact]
    public void A_range_query_over_all_of_time_ends_instead_of_wrapping_around()
    {
        // The last step lies within a step of the end of time: adding one more step used to wrap around to a negative
        // time and the loop never ended (the real timeout here only stops the old behaviour; the query takes milliseconds).
        var e = new Engine(new EngineOptions { Timeout = TimeSpan.FromSeconds(20) });
        const long step = 2_000_000_000_000_000;
        var r = e.Range(Store(), "1", PromTime.MinMs, PromTime.MaxMs, step, Ct);
        var points = Assert.Single(Assert.IsType<MatrixResult>(r.Value).Series).Floats;
        Assert.Equal((long)(unchecked((ulong)(PromTime.MaxMs - PromTime.MinMs)) / step) + 1, points.Count);
        Assert.Equal(PromTime.MinMs, points[0].T);
        Assert.True(points[^1].T <= PromTime.MaxMs && points[^1].T > PromTime.MaxMs - step);
    }

    [Fact]
    public void Times_beyond_prometheus_range_are_clamped_to_it()
    {
        var e = new Engine(new EngineOptions { Timeout = TimeSpan.FromSeconds(20) });
        var r = e.Range(Store(), "time()", long.MaxValue - 5_000, long.MaxValue, 2_000, Ct);
        var p = Assert.Single(Assert.Single(Assert.IsType<MatrixResult>(r.Value).Series).Floats);
        Assert.Equal(PromTime.MaxMs, p.T);
        Assert.Equal(PromTime.MaxMs, Assert.IsType<ScalarResult>(e.Instant(Store(), "time()", long.MaxValue, Ct).Value).T);
    }

    [Theory]
    [InlineData("x offset -292y @ 9.2e15")]
    [InlineData("x[292y] @ -9.2e15")]
    [InlineData("count_over_time(x[292y:146y] @ 9.2e15 offset -292y)")]
    [InlineData("count_over_time(x[292y:146y] @ -9.2e15 offset 292y)")]
    public void Offsets_ranges_and_at_at_the_ends_of_time_do_not_overflow(string query)
    {
        var e = new Engine(new EngineOptions { Timeout = TimeSpan.FromSeconds(20) });
        var r = e.Instant(Store(), query, 0, Ct);
        Assert.NotNull(r.Value);
    }

    [Fact]
    public void A_range_query_beyond_the_resolution_limit_is_refused()
    {
        var e = new Engine();
        var ex = Assert.Throws<QueryException>(() => e.Range(Store(), "1", 0, 11_001_000, 1_000, Ct));
        Assert.Equal("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", ex.Message);
        Assert.Single(Assert.IsType<MatrixResult>(e.Range(Store(), "1", 0, 11_000_000, 1_000, Ct).Value).Series);
        Assert.Equal("zero or negative query resolution step widths are not accepted. Try a positive integer",
            Assert.Throws<QueryException>(() => e.Range(Store(), "1", 0, 1_000, 0, Ct)).Message);
    }

    [Fact]
    public void Samples_loaded_for_the_whole_query_count_toward_max_samples()
    {
        var store = new MemorySeriesStore();
        var l = Labels.Of("__name__", "x");
        for (var i = 0; i < 120; i++) store.Add(l, i * 30_000L, i);
        // Two inner steps pick one sample each, but the subquery holds the hour's 120 samples decoded for the whole query.
        const string query = "max_over_time(x[1h:30m])";
        Assert.Single(Assert.IsType<VectorResult>(new Engine(new EngineOptions { MaxSamples = 120 }).Instant(store, query, 3_600_000, Ct).Value).Samples);
        var ex = Assert.Throws<QueryException>(() => new Engine(new EngineOptions { MaxSamples = 100 }).Instant(store, query, 3_600_000, Ct));
        Assert.Equal(QueryErrorKind.TooManySamples, ex.Kind);
    }

    /// <summary>Holds every query inside Select until released, so a test can keep the engine's slots busy.</summary>
    private sealed class BlockingQuerier(ISeriesQuerier inner) : ISeriesQuerier, IDisposable
    {
        public readonly SemaphoreSlim Entered = new(0);
        private readonly ManualResetEventSlim _release = new();

        public void Release() => _release.Set();

        public IEnumerable<SeriesSamples> Select(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers)
        {
            Entered.Release();
            Assert.True(_release.Wait(TimeSpan.FromSeconds(30)), "the test never released the query");
            return inner.Select(minT, maxT, matchers);
        }

        public IReadOnlyList<string> LabelNames(long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) => inner.LabelNames(minT, maxT, matchers);

        public IReadOnlyList<string> LabelValues(string name, long minT, long maxT, IReadOnlyList<LabelMatcher> matchers) =>
            inner.LabelValues(name, minT, maxT, matchers);

        public void Dispose()
        {
            Entered.Dispose();
            _release.Dispose();
        }
    }

    [Fact]
    public async Task Queries_beyond_the_concurrency_limit_wait_for_a_free_slot()
    {
        var store = Store();
        using var blocking = new BlockingQuerier(store);
        var e = new Engine(new EngineOptions { MaxConcurrency = 1 }, new FakeTimeProvider());
        var first = Task.Run(() => e.Instant(blocking, "x", 0, Ct), Ct);
        await blocking.Entered.WaitAsync(Ct);

        var second = e.InstantAsync(store, Parser.Parse("x"), 0, Ct);
        Assert.False(second.IsCompleted);
        Assert.Equal(2, e.Queries);
        Assert.Equal(1, e.QueuedQueries);

        blocking.Release();
        Assert.Single(Assert.IsType<VectorResult>((await first).Value).Samples);
        Assert.Single(Assert.IsType<VectorResult>((await second).Value).Samples);
        Assert.Equal(0, e.Queries);
        Assert.Equal(0, e.QueuedQueries);
    }

    [Fact]
    public async Task A_query_waiting_in_the_queue_times_out_there()
    {
        var store = Store();
        var clock = new FakeTimeProvider();
        using var blocking = new BlockingQuerier(store);
        var e = new Engine(new EngineOptions { MaxConcurrency = 1, Timeout = TimeSpan.FromMinutes(2) }, clock);
        var first = Task.Run(() => e.Instant(blocking, "x", 0, Ct), Ct);
        await blocking.Entered.WaitAsync(Ct);

        var queued = e.RangeAsync(store, Parser.Parse("x"), 0, 60_000, 15_000, Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var canceled = e.InstantAsync(store, Parser.Parse("x"), 0, cts.Token);
        Assert.Equal(3, e.Queries);
        Assert.Equal(2, e.QueuedQueries);

        await cts.CancelAsync();
        var c = await Assert.ThrowsAsync<QueryException>(() => canceled);
        Assert.Equal((QueryErrorKind.Canceled, "query was canceled in query queue"), (c.Kind, c.Message));

        clock.Advance(TimeSpan.FromMinutes(2));
        var t = await Assert.ThrowsAsync<QueryException>(() => queued);
        Assert.Equal((QueryErrorKind.Timeout, "query timed out in query queue"), (t.Kind, t.Message));
        Assert.Equal(1, e.Queries);
        Assert.Equal(0, e.QueuedQueries);

        // The first query's own timeout ran out while it was held; its slot is free again afterwards.
        blocking.Release();
        Assert.Equal(QueryErrorKind.Timeout, (await Assert.ThrowsAsync<QueryException>(() => first)).Kind);
        Assert.Single(Assert.IsType<VectorResult>((await e.InstantAsync(store, Parser.Parse("x"), 0, Ct)).Value).Samples);
        Assert.Equal(0, e.Queries);
    }
}
