using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tests.TsdbTests;

namespace Watchkeeper.Metrics.Tests.PromQL;

/// <summary>
/// The engine keeps histogram_quantile's bucket grouping between instant queries of the same parsed expression (as a
/// rule evaluates it every interval). Each result must still be what a fresh engine computes, with the warnings, as
/// buckets, histograms and malformed series come and go.
/// </summary>
public sealed class HistogramGroupingTests : TsdbTestBase
{
    private static readonly string[] Le = ["0.1", "0.5", "1", "+Inf"];

    [Fact]
    public void A_kept_grouping_gives_what_a_fresh_engine_gives_as_series_come_and_go()
    {
        using var db = Open();
        var engine = new Engine();
        var expr = Parser.Parse("histogram_quantile(0.9, rate(lat_bucket[2m])) > 0");
        var t = T0;
        var values = new Dictionary<Labels, double>();
        void Scrape(int histograms, bool malformed, bool extraBucket)
        {
            var app = db.Appender();
            for (var i = 0; i < 20; i++, t += 10_000)
            {
                for (var h = 0; h < histograms; h++)
                {
                    var les = extraBucket && h == 0 ? [.. Le, "0.25"] : Le;
                    foreach (var le in les)
                    {
                        var l = Labels.Of("__name__", "lat_bucket", "instance", "i" + h.ToString(CultureInfo.InvariantCulture), "le", le);
                        values[l] = values.GetValueOrDefault(l) + (le == "+Inf" ? 10 : le == "1" ? 8 : 1 + h % 3);
                        app.Append(l, t, values[l]);
                    }
                }
                if (malformed) app.Append(Labels.Of("__name__", "lat_bucket", "instance", "bad", "le", "fast"), t, i);
            }
            app.Commit();
        }

        Scrape(3, false, false);
        AssertLikeFresh(engine, db, expr, t - 10_000, 3);
        AssertLikeFresh(engine, db, expr, t - 10_000, 3);
        // New histograms sort before and after the known ones; a malformed bucket and an extra bucket appear.
        Scrape(6, true, true);
        var warned = AssertLikeFresh(engine, db, expr, t - 10_000, 6);
        Assert.Contains(warned.Warnings, w => w.Contains("malformed value of \"fast\"", StringComparison.Ordinal));
        // The next evaluation finds every series where it was, and must still warn.
        warned = AssertLikeFresh(engine, db, expr, t - 10_000, 6);
        Assert.Contains(warned.Warnings, w => w.Contains("malformed value of \"fast\"", StringComparison.Ordinal));
        // Most histograms stop: outside the window they drop out.
        Scrape(2, false, false);
        AssertLikeFresh(engine, db, expr, t - 10_000, 2);
        // Two queries of the same expression at once: one uses the kept grouping, the other its own.
        var results = new QueryResult[8];
        Parallel.For(0, results.Length, k => results[k] = engine.Instant(db, expr, t - 10_000));
        var fresh = new Engine().Instant(db, expr, t - 10_000);
        foreach (var r in results) AssertSame(fresh, r);
    }

    private static QueryResult AssertLikeFresh(Engine engine, Tsdb.Tsdb db, Expr expr, long t, int histograms)
    {
        var kept = engine.Instant(db, expr, t);
        var fresh = new Engine().Instant(db, expr, t);
        AssertSame(fresh, kept);
        Assert.Equal(histograms, Assert.IsType<VectorResult>(kept.Value).Samples.Count);
        return kept;
    }

    private static void AssertSame(QueryResult expected, QueryResult actual)
    {
        Assert.Equal(expected.Warnings, actual.Warnings);
        Assert.Equal(expected.Infos, actual.Infos);
        var e = Assert.IsType<VectorResult>(expected.Value).Samples;
        var a = Assert.IsType<VectorResult>(actual.Value).Samples;
        Assert.Equal(e.Count, a.Count);
        for (var i = 0; i < e.Count; i++)
        {
            Assert.Equal(e[i].Labels, a[i].Labels);
            Assert.Equal(BitConverter.DoubleToInt64Bits(e[i].V), BitConverter.DoubleToInt64Bits(a[i].V));
        }
    }
}
