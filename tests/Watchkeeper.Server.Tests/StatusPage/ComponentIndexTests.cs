using Watchkeeper.Alerting.Routing;
using Watchkeeper.Server.StatusPage;

namespace Watchkeeper.Server.Tests.StatusPage;

/// <summary>
/// The status page's index of component matchers (StatusSnapshotBuilder.ComponentIndex): for any alert it finds exactly
/// the components a plain scan of every matcher set finds, whatever mix of equality, empty, negative and regex matchers
/// the sets have.
/// </summary>
public sealed class ComponentIndexTests
{
    private static Matchers Set(string text) => new(MatcherParser.ParseList(text));

    [Fact]
    public void Finds_the_same_components_as_trying_every_matcher_set()
    {
        List<List<Matchers>> components =
        [
            [Set("job=\"api\""), Set("service=\"api-service\"")],
            [Set("job=\"db\", severity=~\"crit.*\"")],
            [Set("team!=\"core\"")],                       // no equality matcher: tried for every alert
            [Set("zone=\"\", job=\"web\"")],               // the empty equality cannot be the key; job can
            [Set("zone=\"\"")],                            // only an empty equality: matches alerts without zone
            [Set("job=~\"api|web\", instance=\"a:1\""), Set("job=\"api\"")],
        ];
        var index = new StatusSnapshotBuilder.ComponentIndex(components);
        var values = new Dictionary<string, string[]>
        {
            ["job"] = ["api", "db", "web", "other"],
            ["service"] = ["api-service", "x"],
            ["severity"] = ["critical", "warning"],
            ["team"] = ["core", "edge"],
            ["zone"] = ["", "eu"],
            ["instance"] = ["a:1", "b:2"],
        };
        var random = new Random(10);
        var matched = new bool[components.Count];
        for (var n = 0; n < 2000; n++)
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, vs) in values)
                if (random.Next(3) > 0 && vs[random.Next(vs.Length)] is { Length: > 0 } v) labels[name] = v;
            var any = index.Match(labels, matched);
            var expected = components.Select(sets => sets.Any(set => set.Matches(labels))).ToArray();
            Assert.Equal(expected, matched);
            Assert.Equal(expected.Any(x => x), any);
        }
    }
}
