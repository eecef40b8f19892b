using System.Text;
using Watchkeeper.Metrics.Exposition;
using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tests.Exposition;

public sealed class ExpositionParserTests
{
    private static ParseResult Text(string s) => new ExpositionParser().Parse(Encoding.UTF8.GetBytes(s), ExpositionFormat.PrometheusText);
    private static ParseResult Om(string s) => new ExpositionParser().Parse(Encoding.UTF8.GetBytes(s), ExpositionFormat.OpenMetrics);

    [Fact]
    public void Text_format_parses_samples_labels_timestamps_and_metadata()
    {
        var r = Text("""
            # HELP http_requests_total The total number of HTTP requests.
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{method="post",code="400"}    3 1395066363000

            # A comment
            msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
            metric_without_timestamp_and_labels 12.47
            something_weird{problem="division by zero"} +Inf -3982045
            """);
        Assert.Equal(5, r.Samples.Count);
        Assert.Equal(Labels.Of("__name__", "http_requests_total", "method", "post", "code", "200"), r.Samples[0].Labels);
        Assert.Equal(1027, r.Samples[0].Value);
        Assert.Equal(1395066363000, r.Samples[0].TimestampMs);
        Assert.Equal("C:\\DIR\\FILE.TXT", r.Samples[2].Labels.Get("path"));
        Assert.Equal("Cannot find file:\n\"FILE.TXT\"", r.Samples[2].Labels.Get("error"));
        Assert.Null(r.Samples[3].TimestampMs);
        Assert.Equal(double.PositiveInfinity, r.Samples[4].Value);
        Assert.Equal(-3982045, r.Samples[4].TimestampMs);
        var md = Assert.Single(r.Metadata);
        Assert.Equal(new MetricMetadata("http_requests_total", MetricType.Counter, "The total number of HTTP requests.", ""), md);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("nan")]
    [InlineData("+Inf")]
    [InlineData("-Inf")]
    [InlineData("1e-3")]
    [InlineData("-0.5")]
    public void Special_and_exponent_values_parse(string v)
    {
        var r = Text("m " + v + "\n");
        var s = Assert.Single(r.Samples);
        var expected = double.Parse(v.Replace("Inf", "Infinity").Replace("nan", "NaN"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(expected, s.Value);
    }

    [Fact]
    public void Help_escapes_are_unescaped()
    {
        var r = Text("# HELP m a \\\\ b\\nc\n# TYPE m gauge\nm 1\n");
        Assert.Equal("a \\ b\nc", r.Metadata[0].Help);
    }

    [Fact]
    public void Histogram_and_summary_families_keep_all_sample_series()
    {
        var r = Text("""
            # TYPE rpc histogram
            rpc_bucket{le="0.05"} 24054
            rpc_bucket{le="+Inf"} 144320
            rpc_sum 53423
            rpc_count 144320
            # TYPE lat summary
            lat{quantile="0.5"} 4773
            lat_sum 1.7560473e+07
            lat_count 2693
            """);
        Assert.Equal(7, r.Samples.Count);
        Assert.Equal("+Inf", r.Samples[1].Labels.Get("le"));
        Assert.Contains(r.Metadata, m => m.Family == "rpc" && m.Type == MetricType.Histogram);
        Assert.Contains(r.Metadata, m => m.Family == "lat" && m.Type == MetricType.Summary);
    }

    [Fact]
    public void Empty_label_value_means_absent_and_trailing_comma_is_allowed_in_text()
    {
        var r = Text("m{a=\"\",b=\"x\",} 1\n");
        Assert.Equal(Labels.Of("__name__", "m", "b", "x"), r.Samples[0].Labels);
    }

    [Theory]
    [InlineData("m{a=\"1\" 1\n", 1, 9)]
    [InlineData("m 1\nm{a=\"1\",a=\"2\"} 1\n", 2, 9)]
    [InlineData("m abc\n", 1, 3)]
    [InlineData("m 1 notatime\n", 1, 5)]
    [InlineData("# TYPE m foo\n", 1, 10)]
    [InlineData("m{1a=\"x\"} 1\n", 1, 3)]
    [InlineData("m\n", 1, 2)]
    [InlineData("# TYPE m gauge\n# TYPE m gauge\n", 2, 8)]
    public void Malformed_text_reports_line_and_column(string body, int line, int col)
    {
        var e = Assert.Throws<ExpositionParseException>(() => Text(body));
        Assert.Equal(line, e.Line);
        Assert.Equal(col, e.Column);
        Assert.Contains($"line {line}, column {col}", e.Message);
    }

    [Fact]
    public void OpenMetrics_parses_float_second_timestamps_units_and_drops_created_and_exemplars()
    {
        var r = Om("""
            # TYPE foo_seconds counter
            # UNIT foo_seconds seconds
            # HELP foo_seconds Time \"spent\".
            foo_seconds_total{a="b"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
            foo_seconds_created{a="b"} 1520430000.123
            # TYPE hist histogram
            hist_bucket{le="0.5"} 1 # {trace_id="x"} 0.3 1520879607.7
            hist_bucket{le="+Inf"} 2
            hist_count 2
            hist_sum 1.5
            hist_created 1520430000
            # TYPE g gauge
            g NaN
            # EOF

            """.Replace("\n\n", "\n"));
        Assert.Equal(6, r.Samples.Count);
        Assert.Equal(1520879607789, r.Samples[0].TimestampMs);
        Assert.Equal("foo_seconds_total", r.Samples[0].Labels.Name);
        Assert.DoesNotContain(r.Samples, s => s.Labels.Name!.EndsWith("_created", StringComparison.Ordinal));
        Assert.True(double.IsNaN(r.Samples[5].Value));
        var foo = Assert.Single(r.Metadata, m => m.Family == "foo_seconds");
        Assert.Equal(MetricType.Counter, foo.Type);
        Assert.Equal("seconds", foo.Unit);
        Assert.Equal("Time \"spent\".", foo.Help);
    }

    [Theory]
    [InlineData("m 1\n", 2, "missing # EOF")]
    [InlineData("m 1\n# EOF\nm 2\n", 3, "after # EOF")]
    [InlineData("m  1\n# EOF\n", 1, "expected value")]
    [InlineData("\n# EOF\n", 1, "empty line")]
    [InlineData("# random comment\n# EOF\n", 1, "expected TYPE")]
    [InlineData("m 1 # {a=\"b\"}\n# EOF\n", 1, "exemplar")]
    public void Malformed_openmetrics_is_rejected(string body, int line, string reason)
    {
        var e = Assert.Throws<ExpositionParseException>(() => Om(body));
        Assert.Equal(line, e.Line);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Content_type_chooses_the_format()
    {
        Assert.Equal(ExpositionFormat.OpenMetrics, ExpositionContentTypes.FromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"));
        Assert.Equal(ExpositionFormat.PrometheusText, ExpositionContentTypes.FromContentType("text/plain; version=0.0.4"));
        Assert.Equal(ExpositionFormat.PrometheusText, ExpositionContentTypes.FromContentType(null));
    }

    [Fact]
    public void Repeated_parses_reuse_interned_strings()
    {
        var p = new ExpositionParser();
        var body = Encoding.UTF8.GetBytes("m{job=\"a\"} 1\n");
        var a = p.Parse(body, ExpositionFormat.PrometheusText).Samples[0].Labels.Get("job");
        var b = p.Parse(body, ExpositionFormat.PrometheusText).Samples[0].Labels.Get("job");
        Assert.Same(a, b);
    }

    [Fact]
    public void Repeated_series_reuse_labels_from_the_series_cache()
    {
        var p = new ExpositionParser();
        var a = p.Parse(Encoding.UTF8.GetBytes("m{a=\"1\"} 1\n"), ExpositionFormat.PrometheusText).Samples[0];
        var b = p.Parse(Encoding.UTF8.GetBytes("m{a=\"1\"} 2 5\n"), ExpositionFormat.PrometheusText).Samples[0];
        Assert.Same(a.Labels, b.Labels);
        Assert.Equal(2, b.Value);
        Assert.Equal(5, b.TimestampMs);
    }

    [Fact]
    public void Cached_series_with_braces_in_values_match_and_content_after_them_is_still_an_error()
    {
        var p = new ExpositionParser();
        for (var i = 0; i < 2; i++)
        {
            var s = Assert.Single(p.Parse(Encoding.UTF8.GetBytes("m{a=\"}{\",b=\"x}\"} 1 5\n"), ExpositionFormat.PrometheusText).Samples);
            Assert.Equal("}{", s.Labels.Get("a"));
            Assert.Equal("x}", s.Labels.Get("b"));
            Assert.NotNull(s.Series); // the second round is a cache hit on the same slot
            Assert.Equal(5, s.TimestampMs);
            var e = Assert.Throws<ExpositionParseException>(() => p.Parse(Encoding.UTF8.GetBytes("m{a=\"}{\",b=\"x}\"} 1 5 }\n"), ExpositionFormat.PrometheusText));
            Assert.Equal(1, e.Line);
        }
    }

    [Fact]
    public void Series_slots_are_stable_across_parses_and_keep_their_owners_state()
    {
        var p = new ExpositionParser();
        var a = p.Parse(Encoding.UTF8.GetBytes("# TYPE m counter\nm{a=\"1\"} 1\n"), ExpositionFormat.PrometheusText).Samples[0];
        a.Series!.State = "mine";
        var b = p.Parse(Encoding.UTF8.GetBytes("# TYPE m gauge\nm{a=\"1\"} 2\n"), ExpositionFormat.PrometheusText);
        Assert.Same(a.Series, b.Samples[0].Series);
        Assert.Equal("mine", b.Samples[0].Series!.State);
        Assert.Equal(MetricType.Gauge, Assert.Single(b.Metadata).Type);
    }

    [Fact]
    public void A_series_family_is_resolved_again_in_each_parse()
    {
        // m_created belongs to counter m (a creation time, not a sample) in the first body, is a gauge of its own in
        // the second: the family remembered on the series slot must not carry over.
        var p = new ExpositionParser();
        Assert.DoesNotContain(p.Parse(Encoding.UTF8.GetBytes("# TYPE m counter\nm_total 1\nm_created 5\n# EOF\n"), ExpositionFormat.OpenMetrics).Samples,
            s => s.Labels.Name == "m_created");
        var second = p.Parse(Encoding.UTF8.GetBytes("# TYPE m_created gauge\nm_created 5\n# EOF\n"), ExpositionFormat.OpenMetrics);
        Assert.Equal(5, Assert.Single(second.Samples).Value);
        Assert.DoesNotContain(p.Parse(Encoding.UTF8.GetBytes("# TYPE m counter\nm_total 1\nm_created 5\n# EOF\n"), ExpositionFormat.OpenMetrics).Samples,
            s => s.Labels.Name == "m_created");
    }

    [Fact]
    public void Series_cached_from_text_are_revalidated_for_openmetrics()
    {
        var p = new ExpositionParser();
        var body = Encoding.UTF8.GetBytes("m{a=\"1\",} 1\n# EOF\n");
        Assert.Single(p.Parse(body.AsSpan(0, body.Length - 6), ExpositionFormat.PrometheusText).Samples);
        Assert.Throws<ExpositionParseException>(() => p.Parse(body, ExpositionFormat.OpenMetrics));
    }

    [Fact]
    public void Fuzzed_bodies_only_ever_fail_with_parse_errors()
    {
        var seeds = new[]
        {
            "# HELP a b\\n\n# TYPE a counter\na{x=\"y\\\\\",z=\"\\\"q\"} 1 123\nb +Inf\nc{le=\"0.1\"} NaN\n",
            "# TYPE f counter\n# UNIT f_s s\nf_total{a=\"b\"} 1 1.5 # {t=\"1\"} 2 3\nf_created 4\n# EOF\n",
        };
        var rng = new Random(1234);
        var parser = new ExpositionParser();
        var alphabet = Encoding.UTF8.GetBytes("{}\"\\=, #\n\t_aZ09.+-eInfNa\u00e9");
        for (var i = 0; i < 3000; i++)
        {
            var seed = Encoding.UTF8.GetBytes(seeds[i % seeds.Length]);
            var buf = new List<byte>(seed);
            var mutations = 1 + rng.Next(6);
            for (var m = 0; m < mutations; m++)
            {
                var pos = buf.Count == 0 ? 0 : rng.Next(buf.Count);
                switch (rng.Next(4))
                {
                    case 0 when buf.Count > 0: buf.RemoveAt(pos); break;
                    case 1: buf.Insert(pos, alphabet[rng.Next(alphabet.Length)]); break;
                    case 2 when buf.Count > 0: buf[pos] = (byte)rng.Next(256); break;
                    default:
                        var len = Math.Min(buf.Count - pos, rng.Next(10));
                        buf.InsertRange(pos, buf.GetRange(pos, len));
                        break;
                }
            }
            var bytes = buf.ToArray();
            foreach (var fmt in new[] { ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetrics })
            {
                try
                {
                    parser.Parse(bytes, fmt);
                }
                catch (ExpositionParseException)
                {
                }
            }
        }
    }
}

public sealed class FloatParsingTests
{
    [Fact]
    public void Fast_path_agrees_with_the_general_parser()
    {
        var rng = new Random(42);
        for (var i = 0; i < 20000; i++)
        {
            var digits = rng.Next(1, 16);
            var sb = new System.Text.StringBuilder();
            if (rng.Next(3) == 0) sb.Append('-');
            for (var d = 0; d < digits; d++) sb.Append((char)('0' + rng.Next(10)));
            if (rng.Next(2) == 0) sb.Insert(rng.Next(sb[0] == '-' ? 1 : 0, sb.Length + 1), '.');
            var str = sb.ToString();
            if (str is "." or "-." ) continue;
            Assert.True(ExpositionParser.TryParseFloat(System.Text.Encoding.ASCII.GetBytes(str), out var got), str);
            var expected = double.Parse(str, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(got));
        }
    }

    [Theory]
    [InlineData("1e3", 1000)]
    [InlineData("1.5E-3", 0.0015)]
    [InlineData("12345678901234567890", 12345678901234567890d)]
    [InlineData("-0", -0.0)]
    public void General_forms_parse(string s, double expected)
    {
        Assert.True(ExpositionParser.TryParseFloat(System.Text.Encoding.ASCII.GetBytes(s), out var v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData(".")]
    [InlineData("1..2")]
    [InlineData("0x10")]
    [InlineData("1,5")]
    public void Garbage_does_not_parse(string s) => Assert.False(ExpositionParser.TryParseFloat(System.Text.Encoding.ASCII.GetBytes(s), out _));
}
