using Watchkeeper.Metrics.Conformance;
using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

public sealed class EngineFuzzTests
{
    private static readonly string[] Corpus =
    [
        "sum by (job) (rate(y[1m]))", "histogram_quantile(0.9, x)", "x * on(i) group_left(job) y", "y and x or y unless x",
        "topk(2, y) + bottomk(1, x)", "count_values(\"v\", y)", "quantile(0.5, y)", "label_replace(y, \"a\", \"$1\", \"job\", \"(.*)\")",
        "max_over_time(deriv(y[2m])[5m:30s])", "absent(nope{a=\"b\"})", "predict_linear(y[5m], 60)", "sort_by_label(y, \"job\")",
        "y @ 100 offset -1m", "time() - timestamp(y)", "-y ^ 2 % 3 atan2 y", "rate(h[1m])", "sum(h)", "histogram_count(h)",
        "histogram_fraction(0, 1, x)", "changes(h[5m])", "irate(y[1m]) / idelta(y[1m])", "limitk(1, y) or limit_ratio(0.5, x)",
        "x + on(i) group_left fill(0) y", "info(y, {job=~\".+\"})", "increase(y[1m] smoothed)", "resets(x[2m] anchored)",
        "y smoothed", "rate(y[step() * 2 + 1m])", "y offset (1m - step())", "sum_over_time(y[5m:step()])",
    ];

    private const string Alphabet = "(){}[],:=!~<>+-*/%^@\" .0123456789xyhijobsumrate_";

    [Fact]
    public void Mutated_valid_queries_fail_only_with_parse_or_query_exceptions()
    {
        var store = new MemorySeriesStore();
        for (var s = 0; s < 4; s++)
        {
            var x = Labels.Of("__name__", "x", "i", s.ToString(System.Globalization.CultureInfo.InvariantCulture), "le", s == 3 ? "+Inf" : (s * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture));
            var y = Labels.Of("__name__", "y", "i", s.ToString(System.Globalization.CultureInfo.InvariantCulture), "job", "j" + (s % 2));
            for (var k = 0; k < 40; k++)
            {
                store.Add(x, k * 15_000L, k * s);
                store.Add(y, k * 15_000L, k % 7 == 0 ? StaleNaN.Value : k);
            }
        }
        store.AddHistogram(Labels.Of("__name__", "h"), 30_000, new FloatHistogram(FloatHistogram.CustomBucketsSchema, 3, 3, [1, 2], [1, 1, 1]));
        store.AddHistogram(Labels.Of("__name__", "h"), 60_000, new FloatHistogram(FloatHistogram.CustomBucketsSchema, 6, 6, [1, 2], [2, 2, 2]));

        var rng = new Random(42);
        var engine = new Engine(new EngineOptions { Timeout = TimeSpan.FromSeconds(10) });
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 3_000; i++)
        {
            var chars = Corpus[rng.Next(Corpus.Length)].ToList();
            for (var k = rng.Next(0, 3); k > 0; k--)
            {
                var pos = rng.Next(chars.Count);
                switch (rng.Next(3))
                {
                    case 0 when chars.Count > 1: chars.RemoveAt(pos); break;
                    case 1: chars.Insert(pos, Alphabet[rng.Next(Alphabet.Length)]); break;
                    default: chars[pos] = Alphabet[rng.Next(Alphabet.Length)]; break;
                }
            }
            var q = new string([.. chars]);
            Expr expr;
            try { expr = Parser.Parse(q); }
            catch (ParseException) { continue; }
            try
            {
                engine.Instant(store, expr, 300_000, ct);
                if (expr.Type is ValueKind.Scalar or ValueKind.Vector) engine.Range(store, expr, 0, 600_000, 60_000, ct);
            }
            catch (QueryException) { }
            catch (Exception ex)
            {
                Assert.Fail($"{ex.GetType().Name} for {q}: {ex}");
            }
        }
    }
}
