using System.Text;
using Watchkeeper.Server.Alerting;
using Watchkeeper.Server.Platform;

namespace Watchkeeper.Server.Tests;

/// <summary>The one-pass reader of POST /alertmanager/api/v2/alerts bodies: per-alert errors by index, whole-body refusals.</summary>
public sealed class AlertBatchReaderTests
{
    private static AlertBatchReader.Result Parse(string json, int max = 100) => AlertBatchReader.Parse(Encoding.UTF8.GetBytes(json), max);

    [Fact]
    public void Reads_alerts_and_names_each_bad_one_by_index_with_the_first_reason()
    {
        var r = Parse("""
            [{"labels":{"b":"2","a":"1","a":"3"},"annotations":{"summary":"s"},"startsAt":"2026-11-02T10:00:00.123Z","endsAt":null,
              "generatorURL":"http://prom/graph","extra":{"nested":[1,2,{"x":null}]}},
             {"labels":{"a":1,"b":{"deep":[1]}},"annotations":5},
             7,
             {"annotations":{}},
             {"labels":{"a":"x"},"startsAt":"yesterday"},
             {"labels":{"a":"x"},"generatorURL":"not a url"},
             {"labels":null,"generatorURL":null,"startsAt":"0001-01-01T00:00:00Z"}]
            """);
        Assert.Equal(7, r.Count);
        Assert.Equal([0, 6], r.IndexOf);
        var a = r.Batch[0];
        Assert.Equal(["a", "b"], a.Labels.Keys);
        Assert.Equal("3", a.Labels["a"]);  // a repeated name keeps the last value
        Assert.Equal("s", a.Annotations["summary"]);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), a.StartsAt!.Value.AddTicks(-a.StartsAt.Value.Ticks % TimeSpan.TicksPerSecond));
        Assert.Null(a.EndsAt);
        Assert.Equal("http://prom/graph", a.GeneratorUrl);
        Assert.Empty(r.Batch[1].Labels);  // null labels: empty, refused later by the store's validation
        Assert.Null(r.Batch[1].StartsAt);  // Go's zero time is "not set"
        Assert.Equal([(1, "labels.a: expected a string"), (2, "expected an object"), (3, "labels in body is required"),
            (4, "startsAt: expected an RFC 3339 time"), (5, "generatorURL: \"not a url\" is not an absolute URL")],
            r.Errors.Select(e => (e.Index, e.Reason)));
    }

    [Theory]
    [InlineData("", "invalid JSON")]
    [InlineData("[{\"labels\":{}", "invalid JSON")]
    [InlineData("[] []", "invalid JSON")]
    [InlineData("{\"labels\":{}}", "expected an array of alerts")]
    [InlineData("\"x\"", "expected an array of alerts")]
    [InlineData("[{},{},{}]", "more than 2 alerts")]
    public void Refuses_the_whole_body(string json, string reason)
    {
        var ex = Assert.ThrowsAny<Exception>(() => Parse(json, 2));
        var message = ex is ValidationException v ? v.Problem : "invalid JSON: " + ex.Message;
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }
}
