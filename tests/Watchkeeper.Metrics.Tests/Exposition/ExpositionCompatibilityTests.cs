using System.Text;
using Watchkeeper.Metrics.Exposition;

namespace Watchkeeper.Metrics.Tests.Exposition;

/// <summary>Expositions Prometheus accepts must parse here too (issue 9, defect 13): a valid body never turns a target down.</summary>
public sealed class ExpositionCompatibilityTests
{
    private static ParseResult Text(string s) => new ExpositionParser().Parse(Encoding.UTF8.GetBytes(s), ExpositionFormat.PrometheusText);
    private static ParseResult Om(string s) => new ExpositionParser().Parse(Encoding.UTF8.GetBytes(s), ExpositionFormat.OpenMetrics);

    [Theory]
    [InlineData("000", 0L)]
    [InlineData("0.0", 0L)]
    [InlineData("1.5e3", 1_500_000L)]
    [InlineData("1.5E3", 1_500_000L)]
    [InlineData("-1.5", -1_500L)]
    [InlineData("1520879607.789", 1520879607789L)]
    [InlineData("1520879607.7890000000000000000000000000000000000000000000000000000000000000001", 1520879607789L)]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000001520879607", 1520879607000L)]
    [InlineData("1e300", long.MaxValue)]
    [InlineData("-1e300", long.MinValue)]
    public void OpenMetrics_timestamps_in_any_float_notation_are_accepted(string ts, long expectedMs)
    {
        var r = Om($"# TYPE m gauge\nm 1 {ts}\n# EOF\n");
        Assert.Equal(expectedMs, Assert.Single(r.Samples).TimestampMs);
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("+Inf")]
    [InlineData("0x10")]
    [InlineData("1_000")]
    public void OpenMetrics_timestamps_Prometheus_refuses_are_still_errors(string ts) =>
        Assert.Throws<ExpositionParseException>(() => Om($"m 1 {ts}\n# EOF\n"));

    [Theory]
    [InlineData("000", 0L)]
    [InlineData("-0", 0L)]
    [InlineData("00000000000000000000000000000000000000000001395066363000", 1395066363000L)]
    public void Text_format_integer_timestamps_with_leading_zeros_are_accepted(string ts, long expectedMs) =>
        Assert.Equal(expectedMs, Assert.Single(Text($"m 1 {ts}\n").Samples).TimestampMs);

    [Fact]
    public void OpenMetrics_values_with_many_digits_are_accepted()
    {
        var r = Om("m 0.1000000000000000000000000000000000000000000000000000000000000000000000000001\n# EOF\n");
        Assert.Equal(0.1, Assert.Single(r.Samples).Value);
    }

    [Fact]
    public void Unknown_escapes_in_label_values_keep_the_backslash_in_both_formats()
    {
        const string body = "m{a=\"x\\t\\q\\\\\\\"\\n\"} 1\n";
        const string expected = "x\\t\\q\\\"\n";
        Assert.Equal(expected, Assert.Single(Text(body).Samples).Labels.Get("a"));
        Assert.Equal(expected, Assert.Single(Om(body + "# EOF\n").Samples).Labels.Get("a"));
    }
}
