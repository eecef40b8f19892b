using Watchkeeper.Metrics.Templates;
using Xunit;

namespace Watchkeeper.Metrics.Tests.Templates;

/// <summary>Go's strconv.FormatFloat, fmt and time formatting, value for value.</summary>
public sealed class GoFormatTests
{
    [Theory]
    [InlineData(1e6, 'g', -1, "1e+06")]
    [InlineData(123456.0, 'g', -1, "123456")]
    [InlineData(0.1, 'g', -1, "0.1")]
    [InlineData(3.14, 'g', -1, "3.14")]
    [InlineData(1e21, 'g', -1, "1e+21")]
    [InlineData(1e-7, 'g', -1, "1e-07")]
    [InlineData(-0.0, 'g', -1, "-0")]
    [InlineData(100.0, 'g', 4, "100")]
    [InlineData(1234.5, 'g', 4, "1234")]
    [InlineData(1235.5, 'g', 4, "1236")]
    [InlineData(0.0, 'g', 4, "0")]
    [InlineData(1.5, 'g', 4, "1.5")]
    [InlineData(12345678.0, 'g', 4, "1.235e+07")]
    [InlineData(2.675, 'f', 2, "2.67")]
    [InlineData(0.125, 'f', 2, "0.12")]
    [InlineData(0.375, 'f', 2, "0.38")]
    [InlineData(1234.5678, 'e', 3, "1.235e+03")]
    [InlineData(0.0, 'e', -1, "0e+00")]
    [InlineData(1e100, 'e', -1, "1e+100")]
    [InlineData(123.0, 'f', -1, "123")]
    [InlineData(double.NaN, 'g', 4, "NaN")]
    [InlineData(double.PositiveInfinity, 'f', 2, "+Inf")]
    public void FormatFloat_matches_strconv(double v, char fmt, int prec, string expected) =>
        Assert.Equal(expected, GoFloat.Format(v, fmt, prec));

    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(1_500_000L, "1.5ms")]
    [InlineData(500_000L, "500µs")]
    [InlineData(90_000_000_000L, "1m30s")]
    [InlineData(3_600_000_000_000L, "1h0m0s")]
    [InlineData(3_723_500_000_000L, "1h2m3.5s")]
    [InlineData(-2_000_000_000L, "-2s")]
    public void Duration_prints_as_go(long ns, string expected) =>
        Assert.Equal(expected, GoTime.DurationString(TimeSpan.FromTicks(ns / 100)));

    [Theory]
    [InlineData("2006-01-02 15:04:05", "2024-03-05 07:08:09")]
    [InlineData("Mon Jan _2 3:04PM", "Tue Mar  5 7:08AM")]
    [InlineData("Monday, January 2, 2006", "Tuesday, March 5, 2024")]
    [InlineData("02/01/06 15h04 -07:00 MST", "05/03/24 07h08 +00:00 UTC")]
    [InlineData("15:04:05.000", "07:08:09.120")]
    [InlineData("15:04:05.999", "07:08:09.12")]
    [InlineData(GoLayouts.RFC3339, "2024-03-05T07:08:09Z")]
    public void Time_formats_with_go_layouts(string layout, string expected)
    {
        var t = new DateTimeOffset(2024, 3, 5, 7, 8, 9, 120, TimeSpan.Zero);
        Assert.Equal(expected, GoTime.Format(t, layout));
    }

    [Fact]
    public void Time_string_with_offset()
    {
        var t = new DateTimeOffset(2024, 3, 5, 7, 8, 9, TimeSpan.FromHours(-5));
        Assert.Equal("2024-03-05 07:08:09 -0500 -0500", GoTime.ToGoString(t, null));
    }

    private static class GoLayouts
    {
        public const string RFC3339 = "2006-01-02T15:04:05Z07:00";
    }
}
