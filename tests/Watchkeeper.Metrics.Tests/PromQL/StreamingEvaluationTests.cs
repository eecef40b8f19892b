using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tests.TsdbTests;

namespace Watchkeeper.Metrics.Tests.PromQL;

/// <summary>
/// Range functions over a selector are computed by streaming series from the TSDB. The same queries through a
/// querier that only offers <see cref="ISeriesQuerier.Select"/> take the load-everything path; both must give the
/// same series, values, warnings and infos, with blocks and head, stale markers, counter resets, offsets and @.
/// </summary>
public sealed class StreamingEvaluationTests : TsdbTestBase
{
    private static readonly string[] Queries =
    [
        "rate(http_requests_total[5m])",
        "increase(http_requests_total[10m] offset 3m)",
        "irate(http_requests_total[2m])",
        "delta(temperature[15m])",
        "idelta(temperature[5m])",
        "deriv(temperature[30m])",
        "changes(temperature[20m])",
        "resets(http_requests_total[1h])",
        "avg_over_time(temperature[7m])",
        "sum_over_time(temperature[7m])",
        "count_over_time({job=\"app\"}[4m])",
        "present_over_time(temperature[1m])",
        "last_over_time(temperature[3m])",
        "first_over_time(temperature[3m])",
        "ts_of_last_over_time(temperature[3m])",
        "min_over_time(temperature[9m])",
        "max_over_time(temperature[9m])",
        "ts_of_max_over_time(temperature[9m])",
        "stddev_over_time(temperature[12m])",
        "stdvar_over_time(temperature[12m])",
        "mad_over_time(temperature[12m])",
        "rate(http_requests_total[5m] @ 1767232800)",
        "rate(temperature[5m])",
        "sum by (job) (rate(http_requests_total[5m])) > 0.2",
        "histogram_quantile(0.9, sum by (le) (rate(latency_bucket[10m])))",
        "max_over_time(rate(http_requests_total[5m])[20m:1m])",
        "rate(http_requests_total[5m]) / ignoring(code) group_left rate(http_requests_total{code=\"200\"}[5m])",
        // Aggregations fused with the streamed function (Evaluator.StreamAggregate.cs): groups, order, names, NaN.
        "sum(rate(http_requests_total[5m]))",
        "sum by (job) (rate(http_requests_total[5m]))",
        "sum without (instance) (increase(http_requests_total[10m] offset 3m))",
        "avg by (code) (irate(http_requests_total[2m]))",
        "count by (job) (changes(temperature[20m]))",
        "group by (instance) (resets(http_requests_total[1h]))",
        "min by (job) (deriv(temperature[30m]))",
        "max without (job) (stddev_over_time(temperature[12m]))",
        "sum without (instance) (last_over_time(temperature[3m]))",
        "max(rate(temperature[5m]))",
        "avg(delta(temperature[15m]))",
        "sum by (job, le) (rate(latency_bucket[10m]))",
        "histogram_quantile(0.95, sum by (job, le) (rate(latency_bucket[10m])))",
        "topk(3, sum by (instance) (rate(http_requests_total{code=\"500\"}[5m])))",
        "sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum((rate(http_requests_total[5m])))",
        "sum by (job) (rate(http_requests_total[5m] @ 1767232800))",
        "stddev by (job) (rate(http_requests_total[5m]))",
    ];

    [Fact]
    public void Streamed_and_loaded_evaluation_agree()
    {
        using var db = Open();
        Populate(db);
        db.RunMaintenance();
        Assert.NotEmpty(db.Blocks);
        var engine = new Engine();
        var plain = new SelectOnlyQuerier(db);
        var end = T0 + 4 * Hour;
        foreach (var q in Queries)
        {
            foreach (var t in new[] { T0 + 90 * Minute, T0 + 2 * Hour + 30_000, end - 1_000 })
                AssertSame(q, engine.Query(plain, q, t), engine.Query(db, q, t));
            AssertSame(q + " (range)", engine.QueryRange(plain, q, T0 + Hour, end, 60_000), engine.QueryRange(db, q, T0 + Hour, end, 60_000));
            AssertSame(q + " (range, odd step)", engine.QueryRange(plain, q, T0 - Hour, end + Hour, 7 * 60_000 + 13), engine.QueryRange(db, q, T0 - Hour, end + Hour, 7 * 60_000 + 13));
        }
    }

    [Fact]
    public void Streamed_evaluation_respects_the_sample_limit()
    {
        using var db = Open();
        Populate(db);
        var engine = new Engine(new EngineOptions { MaxSamples = 100 });
        var e = Assert.Throws<QueryException>(() => engine.QueryRange(db, "rate(http_requests_total[5m])", T0 + Hour, T0 + 4 * Hour, 60_000));
        Assert.Equal(QueryErrorKind.TooManySamples, e.Kind);
        // A fused aggregation holds one value per group and step, but counts the samples it read as the vector would.
        e = Assert.Throws<QueryException>(() => engine.QueryRange(db, "sum(rate(http_requests_total[5m]))", T0 + Hour, T0 + 4 * Hour, 60_000));
        Assert.Equal(QueryErrorKind.TooManySamples, e.Kind);
    }

    /// <summary>Four hours at 30 s: counters with resets, a gauge with stale gaps, a classic histogram.</summary>
    private static void Populate(Tsdb.Tsdb db)
    {
        var rnd = new Random(11);
        var series = new List<(Labels L, int Kind)>();
        foreach (var job in new[] { "app", "db" })
            for (var i = 0; i < 4; i++)
            {
                var inst = "host-" + i.ToString(CultureInfo.InvariantCulture);
                foreach (var code in new[] { "200", "500" })
                    series.Add((Labels.Of("__name__", "http_requests_total", "code", code, "instance", inst, "job", job), 0));
                series.Add((Labels.Of("__name__", "temperature", "instance", inst, "job", job), 1));
                foreach (var le in new[] { "0.1", "0.5", "1", "+Inf" })
                    series.Add((Labels.Of("__name__", "latency_bucket", "instance", inst, "job", job, "le", le), 2));
            }
        var values = new double[series.Count];
        for (var t = T0; t < T0 + 4 * Hour; t += 30_000)
        {
            var app = db.Appender();
            for (var k = 0; k < series.Count; k++)
            {
                var (l, kind) = series[k];
                switch (kind)
                {
                    case 0:
                        values[k] = rnd.Next(50) == 0 ? rnd.Next(10) : values[k] + rnd.Next(0, 20);
                        break;
                    case 1:
                        // Gone for a while now and then, with a stale marker when it goes.
                        if ((t - T0) / (20 * Minute) % 5 == 3 && k % 3 == 0)
                        {
                            if ((t - T0) % (20 * Minute) == 0) app.Append(l, t, StaleNaN.Value);
                            continue;
                        }
                        values[k] = 20 + 5 * Math.Sin(t / 600_000.0 + k) + rnd.NextDouble();
                        break;
                    default:
                        values[k] += (l.Get("le") is "+Inf" ? 10 : l.Get("le") is "1" ? 8 : 3) * rnd.Next(1, 4);
                        break;
                }
                app.Append(l, t, values[k]);
            }
            app.Commit();
        }
    }

    private static void AssertSame(string query, QueryResult expected, QueryResult actual)
    {
        Assert.Equal(expected.Warnings, actual.Warnings);
        Assert.Equal(expected.Infos.Order(StringComparer.Ordinal), actual.Infos.Order(StringComparer.Ordinal));
        switch (expected.Value)
        {
            case VectorResult ev:
                {
                    var av = Assert.IsType<VectorResult>(actual.Value);
                    Assert.True(ev.Samples.Count == av.Samples.Count, $"{query}: {ev.Samples.Count} vs {av.Samples.Count} samples");
                    for (var i = 0; i < ev.Samples.Count; i++)
                    {
                        Assert.Equal(ev.Samples[i].Labels, av.Samples[i].Labels);
                        Assert.True(ev.Samples[i].V.Equals(av.Samples[i].V), $"{query}: {ev.Samples[i].Labels} {ev.Samples[i].V} vs {av.Samples[i].V}");
                    }
                    break;
                }
            case MatrixResult em:
                {
                    var am = Assert.IsType<MatrixResult>(actual.Value);
                    Assert.True(em.Series.Count == am.Series.Count, $"{query}: {em.Series.Count} vs {am.Series.Count} series");
                    for (var i = 0; i < em.Series.Count; i++)
                    {
                        Assert.Equal(em.Series[i].Labels, am.Series[i].Labels);
                        Assert.True(em.Series[i].Floats.SequenceEqual(am.Series[i].Floats), $"{query}: {em.Series[i].Labels} differs");
                    }
                    break;
                }
            default:
                Assert.Equal(expected.Value, actual.Value);
                break;
        }
    }
}
