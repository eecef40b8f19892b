using Watchkeeper.Alerting.Alerts;
using Watchkeeper.Alerting.Config;
using Watchkeeper.Alerting.Routing;
using Watchkeeper.Alerting.TimeIntervals;
using Watchkeeper.Metrics.Configuration;
using Watchkeeper.Metrics.Model;
using YamlDotNet.RepresentationModel;

namespace Watchkeeper.Alerting.Tests;

public sealed class MatcherTests
{
    [Theory]
    [InlineData("{a=\"b\", c=~\"d.*\"}", 2)]
    [InlineData("a=b", 1)]
    [InlineData("alertname!=Foo,severity!~\"info|debug\",", 2)]
    [InlineData("{\"utf8 name\"=\"x\"}", 1)]
    [InlineData("{}", 0)]
    public void Parses_new_style_matchers(string input, int count) => Assert.Equal(count, MatcherParser.ParseList(input).Count);

    [Theory]
    [InlineData("a")]
    [InlineData("a=~\"(\"")]
    [InlineData("{a=\"b\"")]
    [InlineData("a=\"b")]
    public void Rejects_malformed_matchers(string input) => Assert.Throws<FormatException>(() => MatcherParser.ParseList(input));

    [Fact]
    public void Regexes_are_fully_anchored_and_missing_labels_are_empty()
    {
        var m = MatcherParser.ParseSingle("job=~\"api|web\"");
        Assert.True(m.Matches(new Dictionary<string, string> { ["job"] = "api" }));
        Assert.False(m.Matches(new Dictionary<string, string> { ["job"] = "api-2" }));
        Assert.True(MatcherParser.ParseSingle("team!=ops").Matches(new Dictionary<string, string>()));
        Assert.True(MatcherParser.ParseSingle("team=\"\"").Matches(new Dictionary<string, string>()));
    }

    [Fact]
    public void Route_keys_print_sorted_matchers_as_Alertmanager_does()
    {
        var ms = new Matchers([MatcherParser.ParseSingle("b=~\"x\""), MatcherParser.ParseSingle("a=\"1\"")]);
        Assert.Equal("{a=\"1\",b=~\"x\"}", ms.ToString());
    }

    [Fact]
    public void Fingerprints_match_Alertmanager()
    {
        // model.LabelSet{"alertname": "Test"}.Fingerprint() in Go's prometheus/common.
        Assert.Equal(LabelSets.Fingerprint(new Dictionary<string, string> { ["alertname"] = "Test" }), LabelSets.Fingerprint(new SortedDictionary<string, string> { ["alertname"] = "Test" }));
        Assert.NotEqual(LabelSets.Fingerprint(new Dictionary<string, string> { ["a"] = "bc" }), LabelSets.Fingerprint(new Dictionary<string, string> { ["ab"] = "c" }));
        Assert.Equal(16, LabelSets.FormatFingerprint(1).Length);
    }
}

public sealed class ConfigTests
{
    private static AlertmanagerConfig Parse(string yaml) => AlertmanagerConfigLoader.Parse(yaml, "/etc/am/alertmanager.yml", "/etc/am");

    private static ConfigException Fails(string yaml) => Assert.Throws<ConfigException>(() => Parse(yaml));

    [Fact]
    public void Timers_and_grouping_are_inherited_down_the_tree()
    {
        var c = Parse("""
            route:
              receiver: a
              group_by: [alertname]
              group_wait: 10s
              routes:
                - match: {team: db}
                  group_interval: 1m
                  routes:
                    - match_re: {severity: 'crit.*'}
                      receiver: b
            receivers: [{name: a}, {name: b}]
            """);
        var leaf = c.Route!.Routes[0].Routes[0];
        Assert.Equal("b", leaf.Opts.Receiver);
        Assert.Equal(["alertname"], leaf.Opts.GroupBy);
        Assert.Equal(TimeSpan.FromSeconds(10), leaf.Opts.GroupWait);
        Assert.Equal(TimeSpan.FromMinutes(1), leaf.Opts.GroupInterval);
        Assert.Equal(TimeSpan.FromHours(4), leaf.Opts.RepeatInterval);
        Assert.Equal("{}/{team=\"db\"}/{severity=~\"crit.*\"}", leaf.Key);
        Assert.Equal("a", c.Route.Routes[0].Opts.Receiver);
    }

    [Fact]
    public void Receivers_bind_integrations_with_global_defaults()
    {
        var c = Parse("""
            global:
              smtp_from: wk@example.org
              smtp_smarthost: 'smtp.example.org:587'
              slack_api_url: 'https://hooks.slack.com/services/X'
            route: {receiver: all}
            receivers:
              - name: all
                slack_configs: [{channel: '#ops'}]
                email_configs: [{to: oncall@example.org, send_resolved: true}]
                pagerduty_configs: [{routing_key: abc}]
                webhook_configs: [{url: 'http://127.0.0.1:9/x', max_alerts: 5, http_config: {authorization: {credentials: t}}}]
                msteamsv2_configs: [{webhook_url: 'https://example.org/wf'}]
            """);
        var r = c.Receiver("all")!;
        Assert.Equal("https://hooks.slack.com/services/X", r.SlackConfigs[0].ApiUrl);
        Assert.False(r.SlackConfigs[0].SendResolved);
        Assert.Equal("smtp.example.org:587", r.EmailConfigs[0].Smarthost);
        Assert.True(r.EmailConfigs[0].SendResolved);
        Assert.Equal("https://events.pagerduty.com/v2/enqueue", r.PagerDutyConfigs[0].Url);
        Assert.True(r.PagerDutyConfigs[0].SendResolved);
        Assert.Equal("t", r.WebhookConfigs[0].HttpConfig.Authorization!.Credentials);
        Assert.Equal(["slack_configs[0]", "email_configs[0]", "pagerduty_configs[0]", "webhook_configs[0]", "msteamsv2_configs[0]"], r.Integrations().Select(x => x.Name));
    }

    [Theory]
    [InlineData("route: {receiver: nope}\nreceivers: [{name: a}]", 1, "route.receiver", "undefined receiver")]
    [InlineData("route: {receiver: a}\nreceivers:\n  - name: a\n    opsgenie_configs: [{api_key: x}]", 4, "receivers[0].opsgenie_configs", "does not implement")]
    [InlineData("route: {receiver: a, group_by: ['...', x]}\nreceivers: [{name: a}]", 1, "route.group_by", "wildcard")]
    [InlineData("route:\n  receiver: a\n  routes:\n    - matchers: ['a=~\"(\"']\nreceivers: [{name: a}]", 4, "route.routes[0].matchers[0]", "invalid regular expression")]
    [InlineData("route: {receiver: a, group_wait: 5x}\nreceivers: [{name: a}]", 1, "route.group_wait", "")]
    [InlineData("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]", 2, "receivers[1].name", "not unique")]
    [InlineData("route: {receiver: a, routes: [{mute_time_intervals: [x]}]}\nreceivers: [{name: a}]", 1, "route.routes[0].mute_time_intervals", "undefined time interval")]
    [InlineData("route: {receiver: a}\nreceivers: [{name: a}]\nbogus: 1", 3, "bogus", "")]
    public void Errors_name_file_line_and_key(string yaml, int line, string key, string problem)
    {
        var ex = Fails(yaml);
        Assert.Equal("/etc/am/alertmanager.yml", ex.File);
        Assert.Equal(line, ex.Line);
        Assert.Equal(key, ex.Key);
        Assert.Contains(problem, ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Watchkeeper_file_takes_the_sections_at_top_level_and_globals_under_alertmanager()
    {
        var yaml = """
            global: {scrape_interval: 15s}
            alertmanager:
              global: {resolve_timeout: 1m}
            route: {receiver: a}
            receivers: [{name: a}]
            """;
        var root = (YamlMappingNode)Load(yaml);
        var c = AlertmanagerConfigLoader.BindWatchkeeper(root, "/etc/wk/watchkeeper.yml", "/etc/wk")!;
        Assert.Equal(TimeSpan.FromMinutes(1), c.Global.ResolveTimeout);
        Assert.Contains("route:", c.Original, StringComparison.Ordinal);
        Assert.Contains("resolve_timeout: 1m", c.Original, StringComparison.Ordinal);
        Assert.Null(AlertmanagerConfigLoader.BindWatchkeeper((YamlMappingNode)Load("global: {}"), "w.yml", "/"));
    }

    [Fact]
    public void Alertmanager_config_file_cannot_be_mixed_with_inline_sections()
    {
        var root = (YamlMappingNode)Load("alertmanager_config_file: am.yml\nroute: {receiver: a}");
        var ex = Assert.Throws<ConfigException>(() => AlertmanagerConfigLoader.BindWatchkeeper(root, "w.yml", "/"));
        Assert.Equal("route", ex.Key);
    }

    private static YamlNode Load(string yaml)
    {
        var s = new YamlStream();
        s.Load(new StringReader(yaml));
        return s.Documents[0].RootNode;
    }

    [Fact]
    public void Time_intervals_follow_their_location_and_negative_days_count_from_month_end()
    {
        var c = Parse("""
            route: {receiver: a}
            receivers: [{name: a}]
            time_intervals:
              - name: eve
                time_intervals:
                  - times: [{start_time: '17:00', end_time: '24:00'}]
                    location: America/Toronto
              - name: last
                time_intervals: [{days_of_month: ['-1'], months: ['december']}]
            """);
        var eve = c.TimeIntervals["eve"];
        Assert.True(eve.ContainsTime(new DateTimeOffset(2026, 12, 7, 23, 0, 0, TimeSpan.Zero)));   // 18:00 in Toronto
        Assert.False(eve.ContainsTime(new DateTimeOffset(2026, 12, 7, 17, 0, 0, TimeSpan.Zero)));  // 12:00 in Toronto
        Assert.True(c.TimeIntervals["last"].ContainsTime(new DateTimeOffset(2026, 12, 31, 12, 0, 0, TimeSpan.Zero)));
        Assert.False(c.TimeIntervals["last"].ContainsTime(new DateTimeOffset(2026, 12, 30, 12, 0, 0, TimeSpan.Zero)));
    }
}
