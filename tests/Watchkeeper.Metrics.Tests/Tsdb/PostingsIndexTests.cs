using Watchkeeper.Metrics.Model;
using Watchkeeper.Metrics.Tsdb;

namespace Watchkeeper.Metrics.Tests.TsdbTests;

public sealed class PostingsIndexTests
{
    /// <summary>
    /// Few series of one name next to many of a regex-matched label (the shape of <c>up{job=~"a|b"}</c>) take the
    /// probe path; matchers of similar sizes take the merge path. Both must agree with matching every series.
    /// </summary>
    [Fact]
    public void Select_agrees_with_brute_force_on_small_and_large_candidate_sets()
    {
        var rnd = new Random(42);
        var index = new PostingsIndex();
        var series = new List<(ulong Id, Labels Labels)>();
        string[] jobs = ["api-service", "web-interface", "batch"];
        for (var i = 0; i < 4000; i++)
        {
            var name = i % 500 == 0 ? "up" : "m" + rnd.Next(20);
            var pairs = new List<string> { "__name__", name, "job", jobs[rnd.Next(jobs.Length)], "instance", "i" + rnd.Next(40) };
            if (rnd.Next(3) == 0) pairs.AddRange(["code", (200 + rnd.Next(4) * 100).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var id = (ulong)(i * 3 + 1);
            var l = Labels.Of([.. pairs]);
            series.Add((id, l));
            index.Add(id, l);
        }
        // Remove some, as head garbage collection does, so posting lists have gaps.
        index.Remove(series.Where((_, i) => i % 11 == 0).ToList());
        series = series.Where((_, i) => i % 11 != 0).ToList();

        LabelMatcher[][] cases =
        [
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Regex, "job", "api-service|web-interface")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.NotRegex, "job", "api-service|web-interface")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.NotEqual, "job", "batch")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Regex, "code", "2..|")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Regex, "code", "[345]..")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Equal, "code", "")],
            [new(MatchOp.Regex, "job", "api-service|web-interface"), new(MatchOp.Regex, "instance", "i1.*")],
            [new(MatchOp.Regex, "job", "api-service|web-interface"), new(MatchOp.NotRegex, "instance", "i1.*")],
            [new(MatchOp.Regex, "job", ".+"), new(MatchOp.Equal, "instance", "i7"), new(MatchOp.NotEqual, "__name__", "m3")],
            [new(MatchOp.Regex, "__name__", "m1.*"), new(MatchOp.Equal, "job", "batch"), new(MatchOp.Regex, "code", ".*")],
            [new(MatchOp.NotEqual, "job", "batch")],
            [new(MatchOp.Regex, "instance", "i3|i4|i5|i6")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Regex, "job", "nope|none")],
            [new(MatchOp.Equal, "__name__", "up"), new(MatchOp.Regex, "missing", ".*")],
        ];
        foreach (var ms in cases)
        {
            var expected = series.Where(s => ms.All(m => m.Matches(s.Labels.GetOrEmpty(m.Name)))).Select(s => s.Id).Order().ToArray();
            var got = index.Select(ms);
            Assert.True(expected.SequenceEqual(got), $"{string.Join(",", ms.Select(m => m.ToString()))}: expected {expected.Length}, got {got.Length}");
        }
    }

    [Fact]
    public void Select_returns_a_copy_that_later_adds_do_not_change()
    {
        var index = new PostingsIndex();
        index.Add(1, Labels.Of("__name__", "up", "job", "a"));
        var got = index.Select([new LabelMatcher(MatchOp.Equal, "__name__", "up")]);
        index.Add(2, Labels.Of("__name__", "up", "job", "a"));
        Assert.Equal([1UL], got);
    }
}
