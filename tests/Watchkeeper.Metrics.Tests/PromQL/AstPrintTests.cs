using Watchkeeper.Metrics.PromQL;

namespace Watchkeeper.Metrics.Tests.PromQL;

public sealed class AstPrintTests
{
    [Theory]
    [InlineData("sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset -1h))")]
    [InlineData("a * on(job) group_left(team) b unless c")]
    [InlineData("max_over_time(deriv(x[5m])[30m:1m] @ start())")]
    [InlineData("-2 ^ 2")]
    [InlineData("(1 + 2) * 3")]
    [InlineData("topk without () (3, x)")]
    [InlineData("label_replace(up, \"d\", \"a\\nb\", \"s\", \"(.*)\")")]
    [InlineData("{\"metric.with.dots\", \"label.x\"=\"v\"}")]
    [InlineData("{__name__=\"offset\"} + nan")]
    [InlineData("x[1h30m] @ 1700000000.5")]
    [InlineData("2 > bool 1")]
    public void Printed_expressions_parse_back_to_the_same_text(string query)
    {
        var printed = Parser.Parse(query).ToString()!;
        Assert.Equal(printed, Parser.Parse(printed).ToString());
    }
}
