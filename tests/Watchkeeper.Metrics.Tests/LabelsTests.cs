using Watchkeeper.Metrics.Model;

namespace Watchkeeper.Metrics.Tests;

public sealed class LabelsTests
{
    [Fact]
    public void Labels_are_sorted_deduplicated_and_drop_empty_values()
    {
        var l = Labels.Of("job", "api", "__name__", "up", "empty", "", "job", "web");
        Assert.Equal(["__name__", "job"], l.Select(x => x.Name));
        Assert.Equal("web", l.Get("job"));
        Assert.Equal("up{job=\"web\"}", l.ToString());
    }

    [Fact]
    public void Equal_label_sets_hash_alike()
    {
        var a = Labels.Of("a", "1", "b", "2");
        var b = Labels.Of("b", "2", "a", "1");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Labels.Of("a", "1"));
    }

    [Theory]
    [InlineData(MatchOp.Regex, "5..", "503", true)]
    [InlineData(MatchOp.Regex, "5..", "1503", false)]
    [InlineData(MatchOp.NotRegex, "api|web", "web", false)]
    [InlineData(MatchOp.NotEqual, "x", "", true)]
    public void Matchers_are_anchored(MatchOp t, string pattern, string value, bool expected)
        => Assert.Equal(expected, new LabelMatcher(t, "l", pattern).Matches(value));
}
