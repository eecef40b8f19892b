using Watchkeeper.Metrics.Templates;
using Xunit;

namespace Watchkeeper.Metrics.Tests.Templates;

/// <summary>Prometheus's template functions and alert-template expansion; expected texts as Prometheus 3.x renders them.</summary>
public sealed class PrometheusTemplateTests
{
    private static readonly PrometheusTemplateEnvironment Env = new(
        DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), "http://prom.example:9090/prefix",
        (q, _, _) => q switch
        {
            "up" =>
            [
                new QuerySample(new Dictionary<string, string> { ["instance"] = "b:9100", ["job"] = "node" }, 1),
                new QuerySample(new Dictionary<string, string> { ["instance"] = "a:9100", ["job"] = "node" }, 0),
            ],
            "empty" => [],
            _ => throw new InvalidOperationException($"parse error: unknown query {q}"),
        });

    private static string Expand(string text, object? data = null)
    {
        Assert.True(PrometheusTemplates.TryExpand("test", text, data, Env, out var result, out var error), error);
        return result;
    }

    public static TheoryData<string, string> Cases => new()
    {
        { "{{ humanize 0 }}|{{ humanize 1 }}|{{ humanize 12 }}|{{ humanize 123 }}|{{ humanize 1234 }}|{{ humanize 12345 }}|{{ humanize 123456 }}|{{ humanize 1234567 }}", "0|1|12|123|1.234k|12.35k|123.5k|1.235M" },
        { "{{ humanize 0.1 }}|{{ humanize 0.0001 }}|{{ humanize 0.123456 }}|{{ humanize 1e-15 }}|{{ humanize -1234.5 }}|{{ humanize 1e30 }}", "100m|100u|123.5m|1f|-1.234k|1e+06Y" },
        { "{{ humanize \"1234567\" }}|{{ humanize \"NaN\" }}|{{ humanize \"+Inf\" }}|{{ humanize \"-Inf\" }}", "1.235M|NaN|+Inf|-Inf" },
        { "{{ humanize1024 0 }}|{{ humanize1024 1 }}|{{ humanize1024 1024 }}|{{ humanize1024 1025 }}|{{ humanize1024 1048576 }}|{{ humanize1024 1.5e9 }}", "0|1|1ki|1.001ki|1Mi|1.397Gi" },
        { "{{ humanizeDuration 0 }}|{{ humanizeDuration 1 }}|{{ humanizeDuration 1.5 }}|{{ humanizeDuration 60 }}|{{ humanizeDuration 90 }}|{{ humanizeDuration 3600 }}|{{ humanizeDuration 86400 }}|{{ humanizeDuration 123.456 }}", "0s|1s|1.5s|1m 0s|1m 30s|1h 0m 0s|1d 0h 0m 0s|2m 3s" },
        { "{{ humanizeDuration 0.1 }}|{{ humanizeDuration 0.0001 }}|{{ humanizeDuration 0.123456 }}|{{ humanizeDuration -90 }}|{{ humanizeDuration 93784 }}", "100ms|100us|123.5ms|-1m 30s|1d 2h 3m 4s" },
        { "{{ humanizePercentage 0.1234 }}|{{ humanizePercentage 1 }}|{{ humanizePercentage 0.001 }}|{{ humanizePercentage 0.123456 }}", "12.34%|100%|0.1%|12.35%" },
        { "{{ humanizeTimestamp 1435065584.128 }}|{{ humanizeTimestamp 0 }}|{{ toTime 1435065584.128 }}", "2015-06-23 13:19:44.128 +0000 UTC|1970-01-01 00:00:00 +0000 UTC|2015-06-23 13:19:44.128 +0000 UTC" },
        { "{{ (toTime 1435065584).Format \"2006-01-02T15:04:05Z07:00\" }}|{{ (toTime 1435065584).Unix }}", "2015-06-23T13:19:44Z|1435065584" },
        { "{{ toUpper \"aBc\" }}|{{ toLower \"aBc\" }}|{{ title \"aa bb-cc CC\" }}", "ABC|abc|Aa Bb-Cc CC" },
        { "{{ match \"a+\" \"baaa\" }}|{{ match \"^a$\" \"ba\" }}|{{ reReplaceAll \"(a)b\" \"x$1\" \"abab\" }}|{{ reReplaceAll \"(?P<host>[^:]+):.*\" \"${host}\" \"h:1\" }}", "true|false|xaxa|h" },
        { "{{ stripPort \"host:9090\" }}|{{ stripPort \"[::1]:9090\" }}|{{ stripPort \"host\" }}", "host|::1|host" },
        { "{{ stripDomain \"foo.example.com:9090\" }}|{{ stripDomain \"192.168.0.1:9090\" }}|{{ stripDomain \"foo.example.com\" }}", "foo:9090|192.168.0.1:9090|foo" },
        { "{{ graphLink \"up == 0\" }}|{{ tableLink \"rate(x[5m])\" }}", "/graph?g0.expr=up+%3D%3D+0&g0.tab=0|/graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1" },
        { "{{ with args 1 \"a\" }}{{ .arg0 }} {{ .arg1 }} {{ .arg2 }}{{ end }}", "1 a <no value>" },
        { "{{ parseDuration \"1h30m\" }}|{{ parseDuration \"250ms\" }}", "5400|0.25" },
        { "{{ safeHtml \"<b>\" }}|{{ pathPrefix }}|{{ externalURL }}", "<b>|/prefix|http://prom.example:9090/prefix" },
        { "{{ with query \"up\" }}{{ . | first | value }} {{ . | first | label \"instance\" }}{{ end }}", "1 b:9100" },
        { "{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}", "a:9100=0 b:9100=1 " },
        { "{{ with query \"empty\" }}some{{ else }}none{{ end }}", "none" },
        { "{{ now }}", "1.7e+09" },
        { "{{ define \"x\" }}<{{ . }}>{{ end }}{{ tmpl \"x\" 5 }}", "<5>" },
        { "{{ toDuration 90 }}", "1m30s" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Functions_render_as_prometheus(string template, string expected) => Assert.Equal(expected, Expand(template));

    [Fact]
    public void Alert_fields_get_the_prelude_variables()
    {
        var data = new AlertTemplateData(
            new Dictionary<string, string> { ["job"] = "api", ["instance"] = "web-1:8080", ["severity"] = "critical" },
            new Dictionary<string, string> { ["cluster"] = "eu1" }, "http://wk.example", 0.1234);
        var text = "{{ $labels.job }} on {{ $labels.instance | stripPort }} at {{ $value | humanizePercentage }} ({{ .Value }}) in {{ $externalLabels.cluster }}; {{ $externalURL }} {{ .Labels.nope }}.";
        var result = PrometheusTemplates.ExpandAlertField("HighErrorRate", text, data, Env, out var error);
        Assert.Null(error);
        Assert.Equal("api on web-1 at 12.34% (0.1234) in eu1; http://wk.example .", result);
    }

    [Fact]
    public void Alert_field_errors_become_the_annotation_text_with_go_positions()
    {
        var data = new AlertTemplateData(new Dictionary<string, string>(), new Dictionary<string, string>(), "", 1);
        var result = PrometheusTemplates.ExpandAlertField("HighErrorRate", "{{ humanize \"x\" }}", data, Env, out var error);
        Assert.Equal("error executing template __alert_HighErrorRate: template: __alert_HighErrorRate:1:115: executing \"__alert_HighErrorRate\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax", error);
        Assert.Equal("<error expanding template: " + error + ">", result);

        result = PrometheusTemplates.ExpandAlertField("R", "{{ query \"empty\" | first | value }}", data, Env, out error);
        Assert.Equal("<error expanding template: error executing template __alert_R: template: __alert_R:1:131: executing \"__alert_R\" at <first>: error calling first: first() called on vector with no elements>", result);

        result = PrometheusTemplates.ExpandAlertField("R", "{{ if }}", data, Env, out error);
        Assert.Equal("<error expanding template: error parsing template __alert_R: template: __alert_R:1: missing value for if>", result);

        result = PrometheusTemplates.ExpandAlertField("R", "{{ query \"bad(\" }}", data, Env, out error);
        Assert.Equal("<error expanding template: error executing template __alert_R: template: __alert_R:1:115: executing \"__alert_R\" at <query \"bad(\">: error calling query: parse error: unknown query bad(>", result);
    }

    [Fact]
    public void Parsed_templates_are_cached_by_text()
    {
        var a = TemplateCache.GetOrParse(PrometheusTemplates.Functions, TemplateOptions.Default, "c", "{{ 1 }}", out _);
        var b = TemplateCache.GetOrParse(PrometheusTemplates.Functions, TemplateOptions.Default, "c", "{{ 1 }}", out _);
        Assert.Same(a, b);
        Assert.NotSame(a, TemplateCache.GetOrParse(PrometheusTemplates.Functions, TemplateOptions.Default, "c", "{{ 2 }}", out _));
    }
}

/// <summary>The rules' template engine interface on this engine, with Prometheus's prelude and error wrapping.</summary>
public sealed class PrometheusRuleTemplateEngineTests
{
    [Fact]
    public void Expands_rule_templates_and_reports_errors_as_prometheus()
    {
        var engine = PrometheusRuleTemplateEngine.Instance;
        var data = new Watchkeeper.Metrics.Rules.RuleTemplateData(
            [new("instance", "web-1:8080"), new("job", "api")], [new("cluster", "eu1")], "http://wk", 0.5, 1_700_000_000_000,
            (q, _) => [new Watchkeeper.Metrics.PromQL.VectorSample(Watchkeeper.Metrics.Model.Labels.Of("__name__", "up", "job", "api"), 0, 1)]);
        Assert.Equal("api 50% eu1 1",
            Watchkeeper.Metrics.Rules.RuleTemplating.Expand(engine, "A", "{{ $labels.job }} {{ humanizePercentage $value }} {{ $externalLabels.cluster }} {{ query \"up\" | first | value }}", data, default));
        Assert.Equal("<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <.Nope>: can't evaluate field Nope in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }>",
            Watchkeeper.Metrics.Rules.RuleTemplating.Expand(engine, "A", "{{ .Nope }}", data, default));
        Assert.Equal("template: __alert_A:1: function \"nope\" not defined", Watchkeeper.Metrics.Rules.RuleTemplating.Check(engine, "A", "{{ nope }}"));
        Assert.Null(Watchkeeper.Metrics.Rules.RuleTemplating.Check(engine, "A", "{{ $value }}"));
    }
}
