using Watchkeeper.Metrics.Rules;

namespace Watchkeeper.Metrics.Tests.Rules;

public sealed class RuleFileParserTests
{
    [Fact]
    public void A_valid_file_gives_groups_and_rules_with_sorted_labels()
    {
        var f = RuleFileParser.Parse("""
            groups:
              - name: g1
                interval: 30s
                limit: 5
                query_offset: 1m
                labels: {team: ops}
                rules:
                  - alert: A
                    expr: up == 0
                    for: 1m
                    keep_firing_for: 2m
                    labels: {severity: critical, b: x}
                    annotations: {summary: "down"}
                  - record: job:up:sum
                    expr: sum by (job) (up)
            """, "r.yml");
        var g = Assert.Single(f.Groups);
        Assert.Equal(("g1", TimeSpan.FromSeconds(30), 5, TimeSpan.FromMinutes(1)), (g.Name, g.Interval!.Value, g.Limit, g.QueryOffset!.Value));
        Assert.Equal(2, g.Rules.Count);
        Assert.Equal(["b", "severity"], g.Rules[0].Labels.Select(l => l.Key));
        Assert.Equal((TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2)), (g.Rules[0].For, g.Rules[0].KeepFiringFor));
        Assert.Equal("job:up:sum", g.Rules[1].Record);
    }

    [Fact]
    public void Validation_lists_every_problem_with_file_line_group_and_rule_as_promtool()
    {
        var ex = Assert.Throws<RuleFileException>(() => RuleFileParser.Parse("""
            groups:
              - name: g1
                rules:
                  - alert: A
                    expr: up ==
                    for: 1m
                  - record: bad-name
                    expr: up
                    labels:
                      "0x": y
              - name: g1
                rules:
                  - record: x
                    expr: up
                    for: 5m
              - name: ""
                rules:
                  - alert: A
                    record: b
                    expr: up
                  - expr: up
                  - alert: C
                    expr: up
                    labels: {__name__: x}
                    annotations: {"a-b": x}
            """, "bad.yml"));
        var lines = ex.Errors.Select(e => e.ToString()).ToList();
        Assert.StartsWith("bad.yml: 5:15: group \"g1\", rule 1, \"A\": could not parse expression: 1:", lines[0]);
        Assert.Equal([
            "bad.yml: 7:17: group \"g1\", rule 2, \"bad-name\": invalid recording rule name: bad-name",
            "bad.yml: group \"g1\", rule 2, \"bad-name\": invalid label name: 0x",
            "bad.yml: 11:5: groupname: \"g1\" is repeated in the same file",
            "bad.yml: 13:17: group \"g1\", rule 1, \"x\": invalid field 'for' in recording rule",
            "bad.yml: 16:5: Groupname must not be empty",
            "bad.yml: 19:17: 18:16: group \"\", rule 1, \"A\": only one of 'record' and 'alert' must be set",
            "bad.yml: 0:0: group \"\", rule 2, \"\": one of 'record' or 'alert' must be set",
            "bad.yml: group \"\", rule 3, \"C\": invalid label name: __name__",
            "bad.yml: group \"\", rule 3, \"C\": invalid annotation name: a-b",
        ], lines[1..]);
    }

    [Fact]
    public void Unknown_fields_and_bad_durations_fail_before_validation()
    {
        var unknown = Assert.Throws<RuleFileException>(() => RuleFileParser.Parse("groups:\n- name: x\n  rules:\n  - alert: A\n    expr: up\n    foo: 1\n", "u.yml"));
        Assert.Equal("u.yml: yaml: unmarshal errors:\n  line 6: field foo not found in type rulefmt.RuleNode", Assert.Single(unknown.Errors).ToString());
        var duration = Assert.Throws<RuleFileException>(() => RuleFileParser.Parse("groups:\n- name: x\n  interval: 5x\n  rules: []\n", "d.yml"));
        Assert.Equal("d.yml: not a valid duration string: \"5x\"", Assert.Single(duration.Errors).ToString());
    }

    [Fact]
    public void An_empty_file_has_no_groups_and_an_oversized_file_is_refused()
    {
        Assert.Empty(RuleFileParser.Parse("", "e.yml").Groups);
        var ex = Assert.Throws<RuleFileException>(() => RuleFileParser.Parse(new string('#', 200), "big.yml", null, new RuleFileLimits { MaxFileBytes = 100 }));
        Assert.Contains("larger than the limit", ex.Message, StringComparison.Ordinal);
    }
}
