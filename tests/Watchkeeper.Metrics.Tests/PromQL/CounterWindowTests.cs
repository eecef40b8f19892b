using System.Globalization;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;
using Watchkeeper.Metrics.Tests.TsdbTests;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.PromQL;

/// <summary>
/// Instant rate/increase read counter windows from the TSDB (<see cref="ICounterWindowQuerier"/>): chunks wholly inside
/// the window that never decrease are summarized instead of decoded. The results must be the same, bit for bit, as the
/// engine's plain path over every sample, with resets inside chunks and on chunk boundaries, stale markers, NaN,
/// flat and negative counters, windows starting inside a chunk and evaluation times inside the open chunk.
/// </summary>
public sealed class CounterWindowTests : TsdbTestBase
{
    private static readonly string[] Queries =
    [
        "rate(c[1m])",
        "increase(c[2m])",
        "rate(c[5m] offset 1m)",
        "increase(c[3m] @ 1767226000)",
        "rate(c{kind=~\"reset|stale\"}[50s])",
        "sum by (kind) (rate(c[2m]))",
        "rate(c[1m]) > 0.5",
        "histogram_quantile(0.9, rate(h_bucket[2m]))",
        "histogram_quantile(0.5, rate(h_bucket[30s]))",
    ];

    private Tsdb.Tsdb OpenSmallChunks() => Tsdb.Tsdb.Open(new TsdbOptions
    {
        Directory = Dir,
        Retention = TimeSpan.Zero,
        TimeProvider = Time,
        SamplesPerChunk = 5,
        FutureGracePeriod = TimeSpan.FromDays(3650),
    });

    [Fact]
    public void Instant_rate_and_increase_over_summarized_chunks_match_the_plain_path()
    {
        using var db = OpenSmallChunks();
        var end = Populate(db);
        var engine = new Engine();
        var plain = new SelectOnlyQuerier(db);
        var summarized = db.Stats.CounterChunksSummarized;
        var evaluated = 0;
        foreach (var q in Queries)
        {
            // Every 7 s over the data and past its end: windows start anywhere in a chunk (5 samples, 50 s) and end
            // before, inside or after the open chunk.
            for (var t = T0 + 20_000; t <= end + 3 * Minute; t += 7_000)
            {
                AssertSame($"{q} at {t}", engine.Query(plain, q, t), engine.Query(db, q, t));
                evaluated++;
            }
        }
        Assert.True(evaluated > 1000);
        Assert.True(db.Stats.CounterChunksSummarized > summarized + 1000, "the summarized path was not taken");
    }

    [Fact]
    public void A_reset_at_a_chunk_boundary_is_counted_once()
    {
        using var db = OpenSmallChunks();
        var l = Labels.Of("__name__", "c", "kind", "boundary");
        var app = db.Appender();
        // Chunks of 5: 10..14, then a reset to 1 as the first sample of the next chunk, 1..5, then 6..10 in the open one.
        double[] values = [10, 11, 12, 13, 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        for (var i = 0; i < values.Length; i++) app.Append(l, T0 + i * 10_000L, values[i]);
        app.Commit();
        var engine = new Engine();
        var t = T0 + 14 * 10_000L;
        var v = Assert.IsType<VectorResult>(engine.Query(db, "increase(c[150s])", t).Value);
        var plain = Assert.IsType<VectorResult>(engine.Query(new SelectOnlyQuerier(db), "increase(c[150s])", t).Value);
        Assert.Equal(plain.Samples[0].V, v.Samples[0].V);
        // 10 -> 14 (+4), the reset to 1 (+1), 1 -> 10 (+9): 14 over 140 s, extrapolated to the 150 s window.
        Assert.Equal(14 * 150.0 / 140.0, v.Samples[0].V, 9);
        Assert.True(db.Stats.CounterChunksSummarized >= 3, "all three chunks lie in the window and ascend");
    }

    /// <summary>One hour at 10 s of counters of several shapes, and a classic histogram; returns the last timestamp.</summary>
    private static long Populate(Tsdb.Tsdb db)
    {
        var rnd = new Random(5);
        var series = new List<(Labels L, string Kind)>();
        foreach (var kind in new[] { "plain", "reset", "stale", "nan", "flat", "negative", "fraction" })
            for (var i = 0; i < 3; i++)
                series.Add((Labels.Of("__name__", "c", "kind", kind, "instance", "i" + i.ToString(CultureInfo.InvariantCulture)), kind));
        foreach (var le in new[] { "0.1", "0.5", "1", "+Inf" })
            for (var i = 0; i < 3; i++)
                series.Add((Labels.Of("__name__", "h_bucket", "instance", "i" + i.ToString(CultureInfo.InvariantCulture), "le", le), "bucket"));
        var values = new double[series.Count];
        var end = T0 + Hour - 10_000;
        var step = 0;
        for (var t = T0; t <= end; t += 10_000, step++)
        {
            var app = db.Appender();
            for (var k = 0; k < series.Count; k++)
            {
                var (l, kind) = series[k];
                switch (kind)
                {
                    case "plain": values[k] += rnd.Next(0, 30); break;
                    case "reset": values[k] = rnd.Next(12) == 0 ? rnd.Next(5) : values[k] + rnd.Next(1, 9); break;
                    case "stale":
                        if (step % 23 is 7 or 8)
                        {
                            if (step % 23 == 7) app.Append(l, t, StaleNaN.Value);
                            continue;
                        }
                        values[k] += rnd.Next(0, 4);
                        break;
                    case "nan":
                        if (step % 17 == 3)
                        {
                            app.Append(l, t, double.NaN);
                            continue;
                        }
                        values[k] += 2;
                        break;
                    case "flat": values[k] = 42; break;
                    case "negative": values[k] = -1000 + step * 3 + (step % 9 == 0 ? -50 : 0); break;
                    case "fraction": values[k] += rnd.NextDouble() / 3; break;
                    default:
                        var le = l.Get("le");
                        values[k] += (le is "+Inf" ? 10 : le is "1" ? 8 : le is "0.5" ? 5 : 2) * rnd.Next(1, 4) + k % 3;
                        break;
                }
                app.Append(l, t, values[k]);
            }
            app.Commit();
        }
        return end;
    }

    private static void AssertSame(string query, QueryResult expected, QueryResult actual)
    {
        Assert.Equal(expected.Warnings, actual.Warnings);
        Assert.Equal(expected.Infos.Order(StringComparer.Ordinal), actual.Infos.Order(StringComparer.Ordinal));
        var ev = Assert.IsType<VectorResult>(expected.Value);
        var av = Assert.IsType<VectorResult>(actual.Value);
        Assert.True(ev.Samples.Count == av.Samples.Count, $"{query}: {ev.Samples.Count} vs {av.Samples.Count} samples");
        var byLabels = av.Samples.ToDictionary(s => s.Labels);
        foreach (var e in ev.Samples)
        {
            Assert.True(byLabels.TryGetValue(e.Labels, out var a), $"{query}: {e.Labels} missing");
            Assert.True(BitConverter.DoubleToInt64Bits(e.V) == BitConverter.DoubleToInt64Bits(a.V), $"{query}: {e.Labels} {e.V} vs {a.V}");
        }
    }
}
