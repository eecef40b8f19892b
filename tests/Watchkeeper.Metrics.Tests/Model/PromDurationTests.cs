using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.Model;

/// <summary>The one duration grammar (Prometheus's model.ParseDuration) and the one time parser, as a table.</summary>
public sealed class PromDurationTests
{
    /// <summary>Valid durations and their length in milliseconds.</summary>
    public static TheoryData<string, long> Valid => new()
    {
        { "0", 0 },
        { "0s", 0 },
        { "250ms", 250 },
        { "15s", 15_000 },
        { "90s", 90_000 },
        { "1m30s", 90_000 },
        { "5m", 300_000 },
        { "1h", 3_600_000 },
        { "1d2h30m", 95_400_000 },
        { "1d1h1m1s1ms", 90_061_001 },
        { "2w", 1_209_600_000 },
        { "1y", 31_536_000_000 },
        { "1y2w3d4h5m6s7ms", 31_536_000_000 + 1_209_600_000 + 259_200_000 + 14_400_000 + 300_000 + 6_000 + 7 },
        { "292y", 292L * 31_536_000_000 },
        { "9223372036854ms", 9_223_372_036_854 },
    };

    /// <summary>Invalid durations and the reason, in Prometheus's words.</summary>
    public static TheoryData<string, string> Invalid => new()
    {
        { "", "empty duration string" },
        { "5", "not a valid duration string: \"5\"" },
        { "m", "not a valid duration string: \"m\"" },
        { "-5m", "not a valid duration string: \"-5m\"" },
        { "1.5h", "unknown unit \".\" in duration \"1.5h\"" },
        { "5 m", "unknown unit \" m\" in duration \"5 m\"" },
        { " 5m", "not a valid duration string: \" 5m\"" },
        { "5m ", "unknown unit \"m \" in duration \"5m \"" },
        { "1m1h", "not a valid duration string: \"1m1h\"" },
        { "1s1s", "not a valid duration string: \"1s1s\"" },
        { "1ms1s", "not a valid duration string: \"1ms1s\"" },
        { "5x", "unknown unit \"x\" in duration \"5x\"" },
        { "5minutes", "unknown unit \"minutes\" in duration \"5minutes\"" },
        { "5M", "unknown unit \"M\" in duration \"5M\"" },
        { "293y", "duration out of range" },
        { "9223372036855ms", "duration out of range" },
        { "99999999999999999999s", "not a valid duration string: \"99999999999999999999s\"" },
        { "292y52w", "duration out of range" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Valid_durations_parse_to_their_length(string text, long ms)
    {
        Assert.True(PromDuration.TryParse(text, out var d, out var error), error);
        Assert.Equal(ms, (long)d.TotalMilliseconds);
        // Formatting gives a spelling the grammar reads back to the same length.
        Assert.Equal(d, PromDuration.Parse(PromDuration.Format(d)));
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_durations_are_rejected_with_the_reason(string text, string reason)
    {
        Assert.False(PromDuration.TryParse(text, out _, out var error));
        Assert.Equal(reason, error);
        Assert.Equal(reason, Assert.Throws<FormatException>(() => PromDuration.Parse(text)).Message);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(500, "500ms")]
    [InlineData(90_000, "1m30s")]
    [InlineData(7_776_000_000, "12w6d")]
    [InlineData(31_536_000_000, "1y")]
    [InlineData(-90_000, "-1m30s")]
    public void Durations_format_as_prometheus_writes_them(long ms, string text) =>
        Assert.Equal(text, PromDuration.Format(TimeSpan.FromMilliseconds(ms)));

    [Theory]
    [InlineData("15", 15_000)]
    [InlineData("0.5", 500)]
    [InlineData("1e3", 1_000_000)]
    [InlineData("15s", 15_000)]
    [InlineData("1e-300", 0)]
    [InlineData("0.0009", 0)]
    [InlineData("-2", -2_000)]
    public void The_query_api_also_takes_seconds(string text, long ms)
    {
        Assert.True(PromDuration.TryParseSecondsOrDuration(text, out var got, out var error), error);
        Assert.Equal(ms, got);
    }

    [Theory]
    [InlineData("1e15", "cannot parse \"1e15\" to a valid duration. It overflows int64")]
    [InlineData("Infinity", "cannot parse \"Infinity\" to a valid duration. It overflows int64")]
    [InlineData("NaN", "cannot parse \"NaN\" to a valid duration")]
    [InlineData("5x", "cannot parse \"5x\" to a valid duration")]
    [InlineData("", "cannot parse \"\" to a valid duration")]
    public void The_query_api_rejects_seconds_that_overflow(string text, string reason)
    {
        Assert.False(PromDuration.TryParseSecondsOrDuration(text, out _, out var error));
        Assert.Equal(reason, error);
    }

    [Theory]
    [InlineData("1h30m", 5_400_000L)]
    [InlineData("1.5", 1_500L)]
    public void Promql_duration_literals_and_the_parser_helper_use_the_grammar(string text, long ms)
    {
        Assert.Equal(ms, Parser.ParseDuration(text));
    }

    [Theory]
    [InlineData("x[1m1h]")]
    [InlineData("x[5minutes]")]
    [InlineData("x[293y]")]
    [InlineData("x offset 1s1s")]
    public void Promql_rejects_what_the_grammar_rejects(string query) => Assert.Throws<ParseException>(() => Parser.Parse(query));

    [Fact]
    public void Promql_reads_durations_with_the_grammar()
    {
        var ms = Assert.IsType<MatrixSelector>(Parser.Parse("x[1y2w3d4h5m6s7ms]"));
        Assert.Equal((long)PromDuration.Parse("1y2w3d4h5m6s7ms").TotalMilliseconds, ms.RangeMs);
    }
}

public sealed class PromTimeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1793610000", 1_793_610_000_000L)]
    [InlineData("1793610000.25", 1_793_610_000_250L)]
    [InlineData("1793610000.0004", 1_793_610_000_000L)]
    [InlineData("-1.5", -1_500L)]
    [InlineData("1e3", 1_000_000L)]
    [InlineData("2026-11-02T09:00:00Z", 1_793_610_000_000L)]
    [InlineData("2026-11-02t09:00:00z", 1_793_610_000_000L)]
    [InlineData("2026-11-02T11:00:00+02:00", 1_793_610_000_000L)]
    [InlineData("2026-11-02T09:00:00.123456789Z", 1_793_610_000_123L)]
    [InlineData("1970-01-01T00:00:00Z", 0L)]
    [InlineData("-292273086-05-16T16:47:06Z", PromTime.MinMs)]
    [InlineData("292277025-08-18T07:12:54.999999999Z", PromTime.MaxMs)]
    public void Times_parse_as_prometheus_reads_them(string text, long ms)
    {
        Assert.True(PromTime.TryParse(text, out var got, out var error), error);
        Assert.Equal(ms, got);
    }

    [Theory]
    [InlineData("1e16")]
    [InlineData("1e300")]
    [InlineData("-1e300")]
    public void Times_beyond_prometheus_range_clamp_to_its_ends(string text)
    {
        Assert.True(PromTime.TryParse(text, out var ms));
        Assert.Equal(text.StartsWith('-') ? PromTime.MinMs : PromTime.MaxMs, ms);
    }

    [Theory]
    [InlineData("")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("now")]
    [InlineData("2026-11-02")]
    [InlineData("2026-11-02T09:00:00")]
    [InlineData("2026-11-02T09:00Z")]
    [InlineData("2026-13-02T09:00:00Z")]
    [InlineData("2026-02-30T09:00:00Z")]
    [InlineData("2026-11-02T24:00:00Z")]
    [InlineData("2026-11-02T09:00:00.Z")]
    [InlineData(" 1793610000")]
    public void Other_strings_are_not_times(string text)
    {
        Assert.False(PromTime.TryParse(text, out _, out var error));
        Assert.Equal($"cannot parse \"{text}\" to a valid timestamp", error);
    }

    [Fact]
    public void Dates_and_durations_ago_are_the_cli_and_own_api_extensions()
    {
        var now = 1_793_610_000_000L; // 2026-11-02T09:00:00Z
        Assert.True(PromTime.TryParseDateOrTime("2026-11-02", out var d, out _));
        Assert.Equal(1_793_577_600_000L, d);
        Assert.True(PromTime.TryParseAgoOrTime("30d", now, out var ago, out _));
        Assert.Equal(now - 30L * 86_400_000, ago);
        Assert.True(PromTime.TryParseAgoOrTime("2026-11-02T09:00:00Z", now, out var abs, out _));
        Assert.Equal(now, abs);
        Assert.False(PromTime.TryParseAgoOrTime("yesterday", now, out _, out _));
    }
}
