using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.RemoteWrite;

namespace Watchkeeper.Interop.Tests;

/// <summary>
/// The JSON bodies of /query and /query_range are byte for byte what Prometheus 2.42 sends for the same data: envelope,
/// key order, label order, escaping, timestamps, and sample values as strings (fixed notation; for vector and matrix
/// points exponent notation below 1e-6 and from 1e21 on; NaN, +Inf, -Inf). One known difference: Go writes &lt;, &gt;
/// and &amp; in strings as \u003c, \u003e and \u0026, Watchkeeper as is; both decode to the same labels.
/// </summary>
public sealed class ApiFormatTests
{
    private static readonly double[] Values =
        [0, -0.0, 1, -1.5, 0.1, 1.0 / 3, 123456.789, 1e15, 1.8446744073709552e19, 1e20, 1e21, 1.5e300, 0.00001, 1e-6, 1e-7, 2.5e-300,
         double.NaN, double.PositiveInfinity, double.NegativeInfinity, 5e-324, double.MaxValue];

    [Fact]
    public async Task Query_bodies_are_the_same_bytes_as_prometheus()
    {
        var promBin = Peers.Require(Peers.Prometheus, "prometheus (Debian package prometheus)");
        var b = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 - 600;
        var data = Values.Select((v, i) => new TimeSeriesData(
            Labels.Of("__name__", "interop_format", "job", "format", "case", i.ToString("00", System.Globalization.CultureInfo.InvariantCulture), "z_label", i % 2 == 0 ? "é \"quoted\" \\ \t" : "<b>&amp;</b>"),
            [new Sample(b * 1000, v), new Sample((b + 15) * 1000 + 250, v * 2), new Sample((b + 30) * 1000 + 1, -v)])).ToList();
        var (wk, prom, w, p) = await PromtoolTests.StartPairAsync(promBin, data);
        await using (wk)
        await using (prom)
        using (w)
        using (p)
        {
            var diffs = new List<string>();
            async Task Same(string what, Func<PromClient, Task<QueryResult>> run)
            {
                var e = await run(p);
                var a = await run(w);
                diffs.AddRange(ResultComparer.Diff(e, a, 0).Take(3).Select(d => $"{what}: {d}"));
                var expected = HtmlSafe(e.Raw);
                var actual = HtmlSafe(a.Raw);
                if (expected != actual) diffs.Add($"{what}:\n  prometheus:  {Excerpt(expected, actual)}\n  watchkeeper: {Excerpt(actual, expected)}");
            }
            await Same("instant vector", c => c.InstantAsync("interop_format", b + 20));
            await Same("instant matrix", c => c.InstantAsync("interop_format[1m]", b + 40));
            await Same("range", c => c.RangeAsync("interop_format", b, b + 45, 7.5));
            await Same("scalar", c => c.InstantAsync("1e21", b));
            await Same("scalar fraction", c => c.InstantAsync("scalar(interop_format{case=\"05\"}) / 7", b + 31.123));
            await Same("aggregation", c => c.RangeAsync("sum by (job) (interop_format{case=~\"0[2-6]\"})", b, b + 30, 15));
            await Same("empty", c => c.InstantAsync("nothing_here", b));
            Assert.True(diffs.Count == 0, string.Join("\n", diffs));
        }
    }

    /// <summary>Go's HTML-safe escaping of &lt;, &gt; and &amp;, applied to compare the rest byte for byte.</summary>
    private static string HtmlSafe(string json) =>
        json.Replace("<", "\\u003c", StringComparison.Ordinal).Replace(">", "\\u003e", StringComparison.Ordinal).Replace("&", "\\u0026", StringComparison.Ordinal);

    /// <summary>The first difference and some context around it.</summary>
    private static string Excerpt(string s, string other)
    {
        var i = 0;
        while (i < s.Length && i < other.Length && s[i] == other[i]) i++;
        var from = Math.Max(0, i - 60);
        return (from > 0 ? "..." : "") + s[from..Math.Min(s.Length, i + 60)] + (i + 60 < s.Length ? "..." : "");
    }
}
