using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

/// <summary>Samples too far from now (issue 9, defect 2): refused on every append, and head cuts stay anchored to now.</summary>
public sealed class TsdbTimeBoundsTests : TsdbTestBase
{
    private static readonly Labels Stray = Labels.Of("__name__", "stray", "job", "remote");

    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(10);

    private long Now => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Scrapes series 0..2 once a minute for <paramref name="minutes"/> minutes, cutting the head every 30; every sample must be accepted.</summary>
    private void ScrapeFor(Tsdb.Tsdb db, int minutes)
    {
        for (var m = 0; m < minutes; m++)
        {
            Time.Advance(TimeSpan.FromMinutes(1));
            var app = db.Appender();
            for (var i = 0; i < 3; i++) Assert.Equal(AppendResult.Ok, app.Append(Series(i), Now, m));
            app.Commit();
            if (m % 30 == 29) db.RunMaintenance();
        }
    }

    [Fact]
    public void A_sample_a_year_ahead_is_refused_and_scrapes_are_still_accepted_after_head_cuts()
    {
        using var db = Open(futureGrace: Grace);
        var app = db.Appender();
        Assert.Equal(AppendResult.TooFarInFuture, app.Append(Stray, Now + 365L * 24 * Hour, 1));
        app.Commit();
        Assert.Equal(1, db.Stats.TooFarInFutureRejected);

        ScrapeFor(db, 5 * 60);

        Assert.True(db.Stats.HeadCuts >= 1);
        Assert.Equal(0, db.Stats.TooOldRejected);
        Assert.True(db.Stats.HeadMinValidTime <= Now, "the head's lower bound must never pass now");
        Assert.Empty(db.Select(long.MinValue, long.MaxValue, [new LabelMatcher(MatchOp.Equal, "__name__", "stray")]));
        Assert.Contains(db.Stats.Export(), m => m.Name == "watchkeeper_tsdb_too_far_in_future_samples_total" && m.Value == 1);
    }

    [Fact]
    public void A_sample_at_int64_max_is_refused_and_the_head_is_still_cut()
    {
        using var db = Open(futureGrace: Grace);
        var app = db.Appender();
        Assert.Equal(AppendResult.TooFarInFuture, app.Append(Stray, long.MaxValue, 1));
        var handle = default(SeriesRef);
        Assert.Equal(AppendResult.TooFarInFuture, app.Append(ref handle, Stray, long.MaxValue - 1, 1));
        app.Commit();

        ScrapeFor(db, 5 * 60);

        Assert.True(db.Stats.HeadCuts >= 1);
        Assert.NotEmpty(db.Blocks);
        Assert.All(db.Blocks, b => Assert.True(b.MaxT <= Now));
        Assert.Equal(0, db.Stats.TooOldRejected);
    }

    [Fact]
    public void A_sample_within_the_grace_period_is_accepted_and_one_just_beyond_is_not()
    {
        using var db = Open(futureGrace: Grace);
        var app = db.Appender();
        Assert.Equal(AppendResult.Ok, app.Append(Series(0), Now + 10 * Minute, 1));
        Assert.Equal(AppendResult.TooFarInFuture, app.Append(Series(1), Now + 10 * Minute + 1, 1));
        app.Commit();
        Assert.Equal(1, CountSamples(db));
    }

    [Fact]
    public void The_future_bound_follows_the_injected_clock_per_batch()
    {
        using var db = Open(futureGrace: Grace);
        var app = db.Appender();
        var later = Now + Hour;
        Assert.Equal(AppendResult.TooFarInFuture, app.Append(Series(0), later, 1));
        app.Commit();
        Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(AppendResult.Ok, app.Append(Series(0), later, 1));
        app.Commit();
    }

    [Fact]
    public void Samples_older_than_the_past_grace_period_are_refused()
    {
        using var db = Tsdb.Tsdb.Open(new TsdbOptions { Directory = Dir, TimeProvider = Time, Retention = TimeSpan.FromDays(15) });
        var app = db.Appender();
        Assert.Equal(AppendResult.TooFarInPast, app.Append(Series(0), Now - 16 * 24 * Hour, 1));
        Assert.Equal(AppendResult.TooFarInPast, app.Append(Series(1), long.MinValue, 1));
        Assert.Equal(AppendResult.Ok, app.Append(Series(2), Now - 14 * 24 * Hour, 1));
        app.Commit();
        Assert.Equal(2, db.Stats.TooFarInPastRejected);
        Assert.Equal(1, CountSamples(db));
    }

    [Fact]
    public void Far_future_samples_already_in_the_wal_are_dropped_on_replay()
    {
        // A WAL written before the bound existed (simulated by a generous grace period) holds a sample a year ahead.
        using (var old = Tsdb.Tsdb.Open(new TsdbOptions { Directory = Dir, TimeProvider = Time, Retention = TimeSpan.Zero, FutureGracePeriod = TimeSpan.FromDays(400) }))
        {
            var app = old.Appender();
            Assert.Equal(AppendResult.Ok, app.Append(Stray, Now + 365L * 24 * Hour, 1));
            Assert.Equal(AppendResult.Ok, app.Append(Series(0), Now, 1));
            app.Commit();
        }
        using var db = Open(futureGrace: Grace);
        Assert.Equal(1, CountSamples(db));
        Assert.Contains(Warnings, w => w.Contains("future", StringComparison.Ordinal));
        ScrapeFor(db, 5 * 60);
        Assert.Equal(0, db.Stats.TooOldRejected);
    }

    [Fact]
    public void Time_arithmetic_saturates_instead_of_overflowing()
    {
        Assert.Equal(long.MaxValue, TimeMath.AddSaturating(long.MaxValue - 5, 7_200_000));
        Assert.Equal(long.MinValue, TimeMath.AddSaturating(long.MinValue + 5, -7_200_000));
        Assert.Equal(long.MinValue, TimeMath.AlignDown(long.MinValue, 7_200_000));
        Assert.Equal(long.MaxValue - long.MaxValue % 7_200_000, TimeMath.AlignDown(long.MaxValue, 7_200_000));
        Assert.Equal(-7_200_000, TimeMath.AlignDown(-1, 7_200_000));
    }

    [Fact]
    public void Remote_write_answers_400_naming_the_series_of_a_far_future_sample_and_keeps_the_rest()
    {
        using var db = Open(futureGrace: Grace);
        var body = Watchkeeper.Metrics.RemoteWrite.RemoteWriteCodec.Encode([
            new(Labels.Of("__name__", "ok", "job", "remote"), [new Sample(Now, 1)]),
            new(Labels.Of("__name__", "ahead", "job", "remote"), [new Sample(Now + 365L * 24 * Hour, 1)])]);
        var r = Watchkeeper.Metrics.RemoteWrite.RemoteWriteIngester.Ingest(body, "application/x-protobuf", "snappy", db);
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("ahead{job=\"remote\"}", r.Error);
        Assert.Contains("too far in the future", r.Error);
        Assert.Equal(1, r.RejectedByReason!["too_far_in_future"]);
        Assert.Equal(1, CountSamples(db));
    }
}

/// <summary>Per-series label limits and the head series limit (issue 9, defect 5), enforced by the store for every ingest path.</summary>
public sealed class TsdbLimitsTests : TsdbTestBase
{
    private Tsdb.Tsdb OpenWith(IngestLimits limits) => Tsdb.Tsdb.Open(new TsdbOptions
    {
        Directory = Dir, TimeProvider = Time, Retention = TimeSpan.Zero, Limits = limits,
    });

    [Fact]
    public void New_series_beyond_max_head_series_are_refused_while_existing_ones_still_append()
    {
        using var db = OpenWith(IngestLimits.Default with { MaxHeadSeries = 2 });
        var app = db.Appender();
        Assert.Equal(AppendResult.Ok, app.Append(Series(0), T0, 1));
        Assert.Equal(AppendResult.Ok, app.Append(Series(1), T0, 1));
        Assert.Equal(AppendResult.SeriesLimit, app.Append(Series(2), T0, 1));
        var handle = default(SeriesRef);
        Assert.Equal(AppendResult.SeriesLimit, app.Append(ref handle, Series(3), T0, 1));
        app.Commit();
        Assert.Equal(AppendResult.Ok, app.Append(Series(0), T0 + 1000, 2));
        app.Commit();
        Assert.Equal(2, db.Stats.HeadSeries);
        Assert.Equal(2, db.Stats.SeriesLimitRejected);
        Assert.Contains(db.Stats.Export(), m => m.Name == "watchkeeper_tsdb_head_series_limit_samples_total" && m.Value == 2);
    }

    [Fact]
    public void A_new_series_breaking_a_label_limit_is_refused_by_the_store()
    {
        using var db = OpenWith(IngestLimits.Default);
        var app = db.Appender();
        var pairs = new List<string> { "__name__", "wide" };
        for (var i = 0; i < 30; i++) pairs.AddRange(["l" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture), "v"]);
        Assert.Equal(AppendResult.LabelLimit, app.Append(Labels.Of([.. pairs]), T0, 1));
        Assert.Equal(AppendResult.LabelLimit, app.Append(Labels.Of("__name__", "m", "blob", new string('x', 2049)), T0, 1));
        Assert.Equal(AppendResult.Ok, app.Append(Labels.Of("__name__", "m", "blob", new string('x', 2048)), T0, 1));
        app.Commit();
        Assert.Equal(2, db.Stats.LabelLimitRejected);
        Assert.Equal(1, db.Stats.HeadSeries);
    }

    [Fact]
    public void Ingest_limits_describe_the_broken_limit_and_the_series()
    {
        var msg = IngestLimits.Default.CheckSeries(Labels.Of("__name__", "m", "k", new string('\u00e9', 1100)));
        Assert.NotNull(msg);
        Assert.Contains("max_label_value_length (2048 bytes)", msg);
        Assert.StartsWith("value of label \"k\" of series m{k=", msg);
        Assert.Null(IngestLimits.Default.CheckSeries(Labels.Of("__name__", "m", "k", new string('\u00e9', 1000))));
    }
}
