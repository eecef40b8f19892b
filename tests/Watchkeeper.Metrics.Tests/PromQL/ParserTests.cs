using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

public sealed class ParserTests
{
    [Theory]
    [InlineData("sum(foo", 8, "unexpected end of input")]
    [InlineData("foo{bar=\"baz\"", 14, "unexpected end of input")]
    [InlineData("rate(foo)", 6, "expected type range vector in call to function \"rate\", got instant vector")]
    [InlineData("1 +", 4, "unexpected end of input")]
    [InlineData("\"a\" + 1", 5, "binary expression must contain only scalar and instant vector types")]
    [InlineData("1 > 2", 3, "comparisons between scalars must use BOOL modifier")]
    [InlineData("foo and 1", 5, "set operator \"and\" not allowed in binary scalar expression")]
    [InlineData("{}", 1, "vector selector must contain at least one non-empty matcher")]
    [InlineData("nope(x)", 1, "unknown function with name \"nope\"")]
    [InlineData("foo + bar) ", 10, "unexpected \")\"")]
    [InlineData("sum by (a) (x) by (b)", 16, "aggregation grouping may only be given once")]
    [InlineData("foo[5m] offset 1m offset 2m", 19, "offset may not be set multiple times")]
    [InlineData("(foo)[5m]", 6, "ranges only allowed for vector selectors")]
    [InlineData("foo{a=~\"(\"}", 8, "invalid regular expression")]
    [InlineData("foo bar", 5, "unexpected identifier \"bar\"")]
    [InlineData("1 + on(a) 2", 3, "vector matching only allowed between instant vectors")]
    [InlineData("foo and bool bar", 9, "bool modifier can only be used on comparison operators")]
    [InlineData("foo or group_left bar", 8, "no grouping allowed for \"or\" operation")]
    [InlineData("\"abc", 1, "unterminated quoted string")]
    [InlineData("foo[5x]", 6, "bad number or duration syntax")]
    [InlineData("topk(foo)", 6, "wrong number of arguments for aggregate expression provided, expected 2, got 1")]
    [InlineData("label_replace(foo, \"a\")", 1, "expected 5 argument(s) in call to \"label_replace\", got 2")]
    public void Parse_errors_name_the_char_position(string query, int char1Based, string detail)
    {
        var ex = Assert.Throws<ParseException>(() => Parser.Parse(query));
        Assert.Equal(char1Based - 1, ex.Position);
        Assert.StartsWith($"parse error at char {char1Based}: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(detail, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2 ^ 3 ^ 2", 512)]
    [InlineData("-2 ^ 2", -4)]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("2 * 3 % 4", 2)]
    [InlineData("(1 + 2) * 3", 9)]
    [InlineData("0x1F", 31)]
    [InlineData("1e3", 1000)]
    [InlineData(".5", 0.5)]
    [InlineData("1 - -1", 2)]
    [InlineData("2 > bool 1", 1)]
    [InlineData("1 < bool 2 == bool 1", 1)]
    [InlineData("10 - 2 - 3", 5)]
    [InlineData("8 / 2 / 2", 2)]
    [InlineData("1h30m", 5400)]
    [InlineData("5 atan2 0", 1.5707963267948966)]
    public void Operators_follow_PromQL_precedence_and_associativity(string query, double expected)
    {
        var r = new Engine().Query(new Conformance.MemorySeriesStore(), query, 0);
        var s = Assert.IsType<ScalarResult>(r.Value);
        Assert.Equal(expected, s.V, 1e-12);
    }

    [Fact]
    public void Special_float_literals_parse_case_insensitively()
    {
        Assert.True(double.IsPositiveInfinity(((NumberLiteral)Parser.Parse("+Inf")).Value));
        Assert.True(double.IsNegativeInfinity(((NumberLiteral)Parser.Parse("-inf")).Value));
        Assert.True(double.IsNaN(((NumberLiteral)Parser.Parse("nAn")).Value));
    }

    [Fact]
    public void Selectors_carry_matchers_offset_and_at()
    {
        var m = Assert.IsType<MatrixSelector>(Parser.Parse("http_requests_total{job=~\"api|web\", code!=\"500\"}[5m] offset -1h @ 1700000000"));
        Assert.Equal(300_000, m.RangeMs);
        Assert.Equal(-3_600_000, m.Selector.OffsetMs);
        Assert.Equal(new AtModifier(AtKind.Timestamp, 1_700_000_000_000), m.Selector.At);
        Assert.Equal("http_requests_total", m.Selector.Name);
        Assert.Contains(m.Selector.Matchers, x => x.Name == "job" && x.Type == MatchOp.Regex);
        Assert.Contains(m.Selector.Matchers, x => x.Name == "code" && x.Type == MatchOp.NotEqual);

        var vs = Assert.IsType<VectorSelector>(Parser.Parse("{__name__=~\"up|down\"} @ end()"));
        Assert.Null(vs.Name);
        Assert.Equal(AtKind.End, vs.At.Kind);
    }

    [Fact]
    public void Subqueries_default_the_step_and_accept_modifiers()
    {
        var sq = Assert.IsType<SubqueryExpr>(Parser.Parse("rate(x[1m])[1h:] offset 5m @ start()"));
        Assert.Equal(3_600_000, sq.RangeMs);
        Assert.Equal(0, sq.StepMs);
        Assert.Equal(300_000, sq.OffsetMs);
        Assert.Equal(AtKind.Start, sq.At.Kind);
        var sq2 = Assert.IsType<SubqueryExpr>(Parser.Parse("max_over_time(deriv(x[5m])[30m:1m])") is Call c ? c.Args[0] : null);
        Assert.Equal(60_000, sq2.StepMs);
    }

    [Fact]
    public void Aggregations_take_grouping_before_or_after_and_parameters()
    {
        var a = Assert.IsType<AggregateExpr>(Parser.Parse("sum by (job, instance) (x)"));
        var b = Assert.IsType<AggregateExpr>(Parser.Parse("sum(x) by (job, instance,)"));
        Assert.Equal(a.Grouping, b.Grouping);
        var t = Assert.IsType<AggregateExpr>(Parser.Parse("topk without (instance) (3, x)"));
        Assert.True(t.Without);
        Assert.IsType<NumberLiteral>(t.Param);
        var cv = Assert.IsType<AggregateExpr>(Parser.Parse("count_values(\"v\", x)"));
        Assert.IsType<StringLiteral>(cv.Param);
        Assert.Throws<ParseException>(() => Parser.Parse("count_values(1, x)"));
        Assert.Throws<ParseException>(() => Parser.Parse("quantile(\"a\", x)"));
    }

    [Fact]
    public void Vector_matching_modifiers_are_parsed()
    {
        var b = Assert.IsType<BinaryExpr>(Parser.Parse("a * on(job) group_left(team, owner) b"));
        Assert.NotNull(b.Matching);
        Assert.True(b.Matching!.On);
        Assert.Equal(["job"], b.Matching.MatchingLabels);
        Assert.Equal(MatchCardinality.ManyToOne, b.Matching.Card);
        Assert.Equal(["team", "owner"], b.Matching.Include);
        var err = Assert.Throws<ParseException>(() => Parser.Parse("a * on(job) group_left(job) b"));
        Assert.Contains("must not occur in ON and GROUP clause at once", err.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Strings_support_escapes_and_raw_backticks()
    {
        Assert.Equal("a\nb\"c\u00e9", ((StringLiteral)Parser.Parse("\"a\\nb\\\"c\\u00e9\"")).Value);
        Assert.Equal("a\\nb", ((StringLiteral)Parser.Parse("`a\\nb`")).Value);
        Assert.Equal("it's", ((StringLiteral)Parser.Parse("'it\\'s'")).Value);
    }

    [Fact]
    public void Deeply_nested_or_long_expressions_fail_cleanly()
    {
        var deep = new string('(', 5000) + "1" + new string(')', 5000);
        Assert.Throws<ParseException>(() => Parser.Parse(deep));
        var chain = string.Join(" + ", Enumerable.Repeat("x", 5000));
        Assert.Throws<ParseException>(() => Parser.Parse(chain));
    }

    [Fact]
    public void Durations_parse_compound_units()
    {
        Assert.Equal(5_400_000, Parser.ParseDuration("1h30m"));
        Assert.Equal(90_061_001, Parser.ParseDuration("1d1h1m1s1ms"));
        Assert.Equal(1_500, Parser.ParseDuration("1.5"));
        Assert.Throws<ParseException>(() => Parser.ParseDuration("1m1h"));
    }
}
